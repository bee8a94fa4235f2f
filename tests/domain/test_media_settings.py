"""The media settings: postgres by default, S3 only with a bucket and a web endpoint."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import ValidationError

from domain.media.postgres_store import PostgresStore
from domain.media.s3_store import S3Location, S3Store
from domain.media.stores import make_media_store
from domain.settings import Settings


def _settings(**env: str) -> Settings:
    values: dict[str, Any] = {"SECRET_KEY": "k" * 40, "GRIDSTEWARD_ENV": "production", **env}
    return Settings(_env_file=None, **values)


def test_photos_go_to_postgres_by_default() -> None:
    settings = _settings()
    assert settings.media_store == "postgres"
    assert isinstance(make_media_store(settings.media_store, settings.media_s3), PostgresStore)
    assert settings.max_upload_body_bytes > 6 * 10_000_000 > settings.max_body_bytes


def test_s3_settings_make_an_s3_store() -> None:
    settings = _settings(MEDIA_STORE="s3", MEDIA_S3_BUCKET="photos",
                         MEDIA_S3_ENDPOINT_URL="http://127.0.0.1:9000", MEDIA_S3_PREFIX="gs/",
                         MEDIA_S3_REGION="cn-north-1", MEDIA_S3_PATH_STYLE="true")
    assert settings.media_s3 == S3Location(
        bucket="photos", prefix="gs/", endpoint_url="http://127.0.0.1:9000",
        region="cn-north-1", path_style=True)
    store = make_media_store(settings.media_store, settings.media_s3)
    assert isinstance(store, S3Store) and store.name == "s3"


@pytest.mark.parametrize("env", [
    {"MEDIA_STORE": "s3"},
    {"MEDIA_STORE": "disk"},
    {"MEDIA_STORE": "s3", "MEDIA_S3_BUCKET": "b", "MEDIA_S3_ENDPOINT_URL": "127.0.0.1:9000"},
    {"MEDIA_LINK_TTL_SECONDS": "0"},
    {"MAX_UPLOAD_BODY_BYTES": "-1"},
])
def test_bad_media_settings_are_refused(env: dict[str, str]) -> None:
    with pytest.raises(ValidationError):
        _settings(**env)
