"""The media store interface, on both back ends: PostgreSQL (in the caller's transaction)
and S3 against a real S3-compatible server (s3rver); photos attached to requests."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy import text

from domain.errors import InvalidInput
from domain.infra.db import transaction
from domain.media.images import prepare_photo
from domain.media.models import PhotoStage
from domain.media.photos import attach_photos, object_key, photos_of
from domain.media.postgres_store import PostgresStore
from domain.media.s3_store import S3Location, S3Store
from domain.media.store import Blob, MediaStore
from domain.media.stores import make_media_store
from domain.requests.submit import NewRequest, submit_request
from tests.factories import load
from tests.media_factory import photo
from tests.requests_factory import B1_POINT, TUNING
from tests.s3_server import running_s3rver

NOW = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)


async def submit_one(sessions: Any) -> int:
    """A request in the test community; its id."""
    await load(sessions)
    async with transaction(sessions) as session:
        made = await submit_request(session, NewRequest(
            category="MAINTENANCE", description="楼道灯不亮", point=B1_POINT), now=NOW,
            tuning=TUNING)
    return made.request_id


@pytest.fixture(scope="module")
def s3(tmp_path_factory: pytest.TempPathFactory) -> Iterator[S3Location]:
    with running_s3rver(tmp_path_factory.mktemp("s3rver")) as where:
        yield where


@pytest.fixture(params=["postgres", "s3"])
async def store(request: pytest.FixtureRequest) -> AsyncIterator[MediaStore]:
    if request.param == "postgres":
        yield PostgresStore()
    else:
        yield S3Store(request.getfixturevalue("s3"))


async def test_put_then_get(store: MediaStore, sessions: Any) -> None:
    async with sessions() as session, session.begin():
        await store.put(session, [Blob("a/full.jpg", b"\xff\xd8one", "image/jpeg"),
                                  Blob("a/thumb.jpg", b"\xff\xd8two", "image/jpeg")])
    async with sessions() as session:
        assert await store.get(session, "a/full.jpg") == Blob("a/full.jpg", b"\xff\xd8one",
                                                              "image/jpeg")
        assert (await store.get(session, "a/thumb.jpg")) is not None
        assert await store.get(session, "nothing/here.jpg") is None


async def test_a_failed_transaction_leaves_nothing(store: MediaStore, sessions: Any) -> None:
    keys = ["b/full.jpg"]
    with pytest.raises(RuntimeError):
        try:
            async with sessions() as session, session.begin():
                await store.put(session, [Blob(keys[0], b"bytes", "image/jpeg")])
                raise RuntimeError("the transaction fails after the put")
        except RuntimeError:
            await store.discard(keys)
            raise
    async with sessions() as session:
        assert await store.get(session, keys[0]) is None


async def test_photos_attach_in_order_up_to_three(store: MediaStore, sessions: Any) -> None:
    request_id = await submit_one(sessions)
    prepared = [prepare_photo(photo("JPEG", (900, 600))), prepare_photo(photo("PNG", (60, 90)))]
    async with sessions() as session, session.begin():
        keys = await attach_photos(session, store, request_id=request_id,
                                   stage=PhotoStage.PROBLEM, photos=prepared, now=NOW,
                                   field="input.photos")
    assert len(keys) == 4
    async with sessions() as session:
        (rows,) = await photos_of(session, [request_id])
        assert [(r.stage, r.position, r.width, r.height, r.store) for r in rows] == [
            ("PROBLEM", 0, 900, 600, store.name), ("PROBLEM", 1, 60, 90, store.name)]
        blob = await store.get(session, object_key(rows[1].key, "thumb"))
        assert blob is not None and blob.data == prepared[1].thumb.data
    with pytest.raises(InvalidInput) as many:
        async with sessions() as session, session.begin():
            await attach_photos(session, store, request_id=request_id,
                                stage=PhotoStage.PROBLEM, photos=prepared, now=NOW,
                                field="input.photos")
    assert many.value.errors[0].code == "TOO_MANY_FILES"


async def test_the_s3_objects_are_in_the_bucket_under_the_prefix(s3: S3Location,
                                                                 sessions: Any) -> None:
    store = make_media_store("s3", s3)
    assert isinstance(store, S3Store)
    async with sessions() as session:
        await store.put(session, [Blob("c/full.jpg", b"jpeg", "image/jpeg")])
    listed = store.client.list_objects_v2(Bucket=s3.bucket, Prefix="media/c/")
    assert [item["Key"] for item in listed["Contents"]] == ["media/c/full.jpg"]
    await store.discard(["c/full.jpg"])
    assert store.client.list_objects_v2(Bucket=s3.bucket, Prefix="media/c/")["KeyCount"] == 0


async def test_unknown_s3_credentials_fail_loudly(s3: S3Location, sessions: Any) -> None:
    """The server refuses an access key it does not know (s3rver checks the key, not the
    SigV4 signature itself)."""
    wrong = S3Store(S3Location(**{**s3.__dict__, "access_key_id": "NOT-A-KEY"}))
    async with sessions() as session:
        with pytest.raises(Exception, match="InvalidAccessKeyId"):
            await wrong.put(session, [Blob("d/full.jpg", b"x", "image/jpeg")])


async def test_the_postgres_rows_hold_the_bytes(sessions: Any) -> None:
    async with sessions() as session, session.begin():
        await PostgresStore().put(session, [Blob("e/full.jpg", b"\x00\x01", "image/jpeg")])
    async with sessions() as session:
        found = (await session.execute(text("SELECT data FROM media_blob"))).scalar_one()
    assert bytes(found) == b"\x00\x01"
