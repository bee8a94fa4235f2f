"""Photos over GraphQL (schema.execute, files as strawberry hands them over from a multipart
request): up to 3 at submission and 3 at completion, `photos { url thumbnailUrl }` for those
who may see the request, the GPS position offered (never used) without a point, and every
bad photo a payload error naming it, with nothing stored."""

from __future__ import annotations

import io
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from sqlalchemy import text
from starlette.datastructures import UploadFile

from domain.access import ANONYMOUS, Viewer
from domain.media.access import link_key, valid_signature
from tests.media_factory import GPS_LAT, GPS_LON, photo, png_bomb
from tests.schema.test_n_plus_one import counting
from tests.schema.test_requests_api import IN_B1, World, build_world

SUBMIT = """mutation ($input: SubmitRequestInput!) { submitServiceRequest(input: $input) {
  request { id photos { stage position url thumbnailUrl width height } }
  photoLocation photoLocationGcj: photoLocation(crs: GCJ02)
  errors { code field message } } }"""
COMPLETE = """mutation ($id: ID!, $photos: [Upload!]) { completeServiceRequest(id: $id,
  resolution: "换了灯泡", photos: $photos) { request { status
  photos { stage position url } } errors { code field message } } }"""
PHOTOS = """query ($id: ID!) { node(id: $id) { ... on ServiceRequest {
  photos { stage url } problem: photos(stage: PROBLEM) { position }
  service: photos(stage: SERVICE) { position } } } }"""


def upload(data: bytes, name: str = "IMG_0001.HEIC") -> UploadFile:
    """A file as strawberry passes it to the resolver (the name says nothing of its type)."""
    return UploadFile(io.BytesIO(data), filename=name)


@pytest.fixture
async def world(api: Any, sessions: Any) -> World:
    return await build_world(api, sessions)


async def _submit(world: World, photos: list[Any], viewer: Viewer = ANONYMOUS,
                  **fields: Any) -> dict[str, Any]:
    data = {"category": "MAINTENANCE", "description": "路灯坏了", "point": IN_B1,
            "photos": photos, **fields}
    result = await world.api.run(SUBMIT, {"input": data}, viewer=viewer)
    assert result.errors is None, result.errors
    return dict(result.data["submitServiceRequest"])


async def _stored(world: World) -> tuple[int, int, int]:
    async with world.api.sessions() as session:
        row = (await session.execute(text(
            "SELECT (SELECT count(*) FROM service_request), (SELECT count(*) FROM "
            "request_photo), (SELECT count(*) FROM media_blob)"))).one()
    return tuple(row)


async def test_a_submission_keeps_its_photos_for_those_who_may_see_it(world: World) -> None:
    payload = await _submit(world, [upload(photo("JPEG", (2400, 1800))),
                                    upload(photo("PNG", (300, 600)), "a.png")])
    assert payload["errors"] == []
    request = payload["request"]
    assert [(p["stage"], p["position"], p["width"], p["height"])
            for p in request["photos"]] == [("PROBLEM", 0, 1600, 1200),
                                            ("PROBLEM", 1, 300, 600)]
    first = request["photos"][0]
    url = urlsplit(first["url"])
    assert url.path.startswith("/media/photos/") and url.path.endswith("/full.jpg")
    assert urlsplit(first["thumbnailUrl"]).path.endswith("/thumb.jpg")
    query = {k: v[0] for k, v in parse_qs(url.query).items()}
    photo_id = int(url.path.split("/")[3])
    assert valid_signature(link_key(world.api.settings.secret_key), photo_id, "full",
                           int(query["expires"]), query["signature"], datetime.now(UTC))
    assert await _stored(world) == (1, 2, 4)

    admin = await world.api.data(PHOTOS, {"id": request["id"]})
    assert [p["stage"] for p in admin["node"]["photos"]] == ["PROBLEM", "PROBLEM"]
    assert admin["node"]["problem"] == [{"position": 0}, {"position": 1}]
    assert admin["node"]["service"] == []
    stranger = await world.api.data(PHOTOS, {"id": request["id"]},
                                    viewer=world.viewer("丁"))
    assert stranger["node"] is None or stranger["node"]["photos"] == []


async def test_the_completion_adds_the_service_photos(world: World) -> None:
    request_id = (await _submit(world, [upload(photo("WEBP", (400, 300)))]))["request"]["id"]
    await world.dispatch(request_id)
    me = world.viewer("甲")
    for step in ("acceptServiceRequest", "startServiceRequest"):
        await world.act(step, request_id, me)
    bad = await world.api.run(COMPLETE, {"id": request_id, "photos": [
        upload(photo("HEIF", (200, 200))), upload(b"not a picture")]}, viewer=me)
    assert bad.data["completeServiceRequest"]["errors"] == [{
        "code": "NOT_AN_IMAGE", "field": "photos[1]", "message": bad.data[
            "completeServiceRequest"]["errors"][0]["message"]}]
    assert await _stored(world) == (1, 1, 2)
    other = await world.api.run(COMPLETE, {"id": request_id, "photos": [
        upload(photo("HEIF", (200, 200)))]}, viewer=world.viewer("乙"))
    assert other.data["completeServiceRequest"]["errors"][0]["field"] == "id"
    assert await _stored(world) == (1, 1, 2)

    done = await world.api.run(COMPLETE, {"id": request_id, "photos": [
        upload(photo("HEIF", (200, 200))), upload(photo("JPEG", (100, 50)))]}, viewer=me)
    result = done.data["completeServiceRequest"]
    assert result["errors"] == [] and result["request"]["status"] == "COMPLETED"
    assert [(p["stage"], p["position"]) for p in result["request"]["photos"]] == [
        ("PROBLEM", 0), ("SERVICE", 0), ("SERVICE", 1)]


async def test_the_gps_position_is_offered_without_a_point_never_used(world: World) -> None:
    with_point = await _submit(world, [upload(photo("JPEG", (300, 200)))])
    assert with_point["photoLocation"] is None
    no_place = await _submit(world, [upload(photo("JPEG", (300, 200)))], point=None)
    assert no_place["request"] is None
    assert [e["field"] for e in no_place["errors"]] == ["input.address"]
    assert no_place["photoLocation"] == {"type": "Point", "coordinates": pytest.approx(
        [GPS_LON, GPS_LAT])}
    gcj = no_place["photoLocationGcj"]["coordinates"]
    assert gcj != pytest.approx([GPS_LON, GPS_LAT], abs=1e-4)  # shifted into GCJ-02
    assert await _stored(world) == (1, 1, 2)  # the first one only
    by_address = await _submit(world, [upload(photo("PNG", (30, 20), gps=False)),
                                       upload(photo("HEIF", (30, 20)))],
                               point=None, address="船山路63号")
    assert by_address["errors"] == []
    assert by_address["photoLocation"]["coordinates"] == pytest.approx([GPS_LON, GPS_LAT])


@pytest.mark.parametrize(("photos", "errors"), [
    ([b"GIF89a\x01\x00"], [("NOT_AN_IMAGE", "input.photos[0]")]),
    ([photo("JPEG", (64, 64)), png_bomb()], [("DECOMPRESSION_BOMB", "input.photos[1]")]),
    ([photo("JPEG", (64, 64))] * 4, [("TOO_MANY_FILES", "input.photos")]),
    ([photo("JPEG", (64, 64)), photo("PNG", (64, 64)) + b"\x00" * 10_000_001],
     [("FILE_TOO_LARGE", "input.photos[1]")]),
], ids=["not-an-image", "bomb", "too-many", "too-large"])
async def test_bad_photos_are_named_and_nothing_is_stored(
        world: World, photos: list[bytes], errors: list[tuple[str, str]]) -> None:
    payload = await _submit(world, [upload(data) for data in photos])
    assert [(e["code"], e["field"]) for e in payload["errors"]] == errors
    assert payload["request"] is None and all(e["message"] for e in payload["errors"])
    assert await _stored(world) == (0, 0, 0)


@pytest.mark.parametrize("value", ["a string", 12, {"name": "x.jpg"}, [1, 2], True])
async def test_a_value_where_a_file_goes_is_not_a_file(world: World, value: Any) -> None:
    payload = await _submit(world, [value])
    assert [(e["code"], e["field"]) for e in payload["errors"]] == [("NOT_A_FILE",
                                                                     "input.photos[0]")]
    assert await _stored(world) == (0, 0, 0)


async def test_a_replayed_key_keeps_the_first_photos(world: World) -> None:
    first = await _submit(world, [upload(photo("JPEG", (64, 64)))], idempotencyKey="k-1")
    again = await _submit(world, [upload(photo("JPEG", (64, 64)))] * 2,
                          idempotencyKey="k-1")
    assert again["errors"] == [] and again["request"]["id"] == first["request"]["id"]
    assert await _stored(world) == (1, 1, 2)


async def test_photos_of_a_page_of_requests_cost_one_statement(world: World,
                                                               engine: Any) -> None:
    for _ in range(3):
        await _submit(world, [upload(photo("JPEG", (32, 32)))] * 1)
    query = "{ serviceRequests { edges { node { photos { url } } } } }"
    with counting(engine) as statements:
        data = await world.api.data(query)
    assert [len(e["node"]["photos"]) for e in data["serviceRequests"]["edges"]] == [1, 1, 1]
    assert sum("request_photo" in s for s in statements) == 1


TRACK_PHOTOS = """query ($n: String!, $c: String!) { trackServiceRequest(number: $n, code: $c) {
  photos { stage position url thumbnailUrl } } }"""


async def test_the_tracking_view_shows_the_photos_to_the_holder_of_the_code(world: World) -> None:
    result = await world.api.run(
        """mutation ($input: SubmitRequestInput!) { submitServiceRequest(input: $input) {
          request { number } trackingCode errors { code } } }""",
        {"input": {"category": "MAINTENANCE", "description": "路灯坏了", "point": IN_B1,
                   "photos": [upload(photo("JPEG", (800, 600)))]}}, viewer=ANONYMOUS)
    assert result.errors is None, result.errors
    done = result.data["submitServiceRequest"]
    tracked = await world.api.run(TRACK_PHOTOS, {"n": done["request"]["number"],
                                                 "c": done["trackingCode"]}, viewer=ANONYMOUS)
    assert tracked.errors is None, tracked.errors
    photos = tracked.data["trackServiceRequest"]["photos"]
    assert [(p["stage"], p["position"]) for p in photos] == [("PROBLEM", 0)]
    url = urlsplit(photos[0]["url"])
    query = {k: v[0] for k, v in parse_qs(url.query).items()}
    assert valid_signature(link_key(world.api.settings.secret_key), int(url.path.split("/")[3]),
                           "full", int(query["expires"]), query["signature"], datetime.now(UTC))
    wrong = await world.api.run(TRACK_PHOTOS, {"n": done["request"]["number"],
                                               "c": "A" * 32}, viewer=ANONYMOUS)
    assert wrong.errors is None and wrong.data["trackServiceRequest"] is None
