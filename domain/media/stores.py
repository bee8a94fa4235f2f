"""The media store MEDIA_STORE names, made once per process by the server."""

from __future__ import annotations

from domain.media.postgres_store import PostgresStore
from domain.media.s3_store import S3Location, S3Store
from domain.media.store import MediaStore

#: MEDIA_STORE's values.
STORES = ("postgres", "s3")
DEFAULT_STORE = "postgres"


def make_media_store(kind: str, s3: S3Location | None = None) -> MediaStore:
    """"postgres" (the database the API uses) or "s3" (at `s3`)."""
    if kind == "postgres":
        return PostgresStore()
    if kind == "s3":
        if s3 is None or not s3.bucket:
            raise ValueError("MEDIA_STORE=s3 needs MEDIA_S3_BUCKET")
        return S3Store(s3)
    raise ValueError(f"MEDIA_STORE must be one of {', '.join(STORES)}, not {kind!r}")
