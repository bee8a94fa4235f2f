"""Photos end to end over HTTP, with real multipart requests to the real `gridsteward serve`:
submit with photos, see them under /media with the caller's rights, complete with photos;
PostgreSQL and S3 (s3rver) back ends; hostile multipart bodies never a server error."""

from __future__ import annotations

import io
import json
import os
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import Image

from domain.infra.db import transaction
from schema.common.ids import decode_id
from server.auth import issue_token
from tests.e2e.serving import PREFLIGHT, multipart, running_api
from tests.factories import X0, Y0
from tests.media_factory import photo
from tests.requests_factory import community_with_stewards, dispatch_request
from tests.s3_server import running_s3rver

SECRET = "e2e-photos-secret-used-only-by-this-test-0123456789-abcdefgh"
IN_B1 = {"lon": X0 + 0.0051, "lat": Y0 + 0.0051}
SUBMIT = """mutation ($input: SubmitRequestInput!) { submitServiceRequest(input: $input) {
  request { id photos { stage url thumbnailUrl width height } }
  photoLocation errors { code field message } } }"""
COMPLETE = """mutation ($id: ID!, $photos: [Upload!]) { completeServiceRequest(id: $id,
  resolution: "换了灯泡", photos: $photos) { request { status photos { stage url } }
  errors { code field } } }"""
UPLOAD_LIMIT = 12_000_000


@pytest.fixture(scope="module")
def server(database_url: str) -> Iterator[str]:
    with running_api(database_url, SECRET, MAX_BODY_BYTES="20000") as base:
        yield base


@pytest.fixture(scope="module")
def s3_server(database_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    with running_s3rver(tmp_path_factory.mktemp("s3rver")) as s3, running_api(
            database_url, SECRET, MEDIA_STORE="s3", MEDIA_S3_BUCKET=s3.bucket,
            MEDIA_S3_PREFIX=s3.prefix, MEDIA_S3_ENDPOINT_URL=s3.endpoint_url or "",
            MEDIA_S3_REGION=s3.region or "", MEDIA_S3_ACCESS_KEY_ID=s3.access_key_id or "",
            MEDIA_S3_SECRET_ACCESS_KEY=s3.secret_access_key or "", MEDIA_S3_PATH_STYLE="true",
            MAX_UPLOAD_BODY_BYTES=str(UPLOAD_LIMIT)) as base:
        yield base


def _submit(base: str, files: dict[str, bytes], **fields: Any) -> dict[str, Any]:
    data = {"category": "MAINTENANCE", "description": "路灯坏了", "point": IN_B1,
            "photos": [None] * len(files), **fields}
    response = multipart(base, SUBMIT, {"input": data}, files)
    assert response.status_code == 200, response.text
    return dict(response.json()["data"]["submitServiceRequest"])


def _jpeg(response: httpx.Response) -> Image.Image:
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "image/jpeg"
    assert response.headers["x-content-type-options"] == "nosniff"
    image = Image.open(io.BytesIO(response.content))
    assert image.format == "JPEG" and dict(image.getexif()) == {}
    return image


@pytest.mark.parametrize("backend", ["postgres", "s3"])
async def test_submit_see_and_complete_with_photos(backend: str, request: Any,
                                                   sessions: Any) -> None:
    base = request.getfixturevalue("server" if backend == "postgres" else "s3_server")
    stewards = await community_with_stewards(sessions)
    submitted = _submit(base, {"input.photos.0": photo("HEIF", (3000, 2000)),
                               "input.photos.1": photo("PNG", (100, 100))})
    assert submitted["errors"] == []
    photos = submitted["request"]["photos"]
    assert [(p["width"], p["height"]) for p in photos] == [(1600, 1067), (100, 100)]
    assert _jpeg(httpx.get(base + photos[0]["url"])).size == (1600, 1067)
    assert _jpeg(httpx.get(base + photos[0]["thumbnailUrl"])).size == (320, 213)

    request_id = submitted["request"]["id"]
    async with transaction(sessions) as session:
        outcome = await dispatch_request(session, request_id=decode_id(
            request_id, "ServiceRequest", "id"), now=datetime.now(UTC))
    member = issue_token(SECRET, member_id=outcome.member_id or stewards[0])
    for step in ("acceptServiceRequest", "startServiceRequest"):
        answer = httpx.post(f"{base}/graphql", headers={"Authorization": f"Bearer {member}"},
                            json={"query": f'mutation {{ {step}(id: "{request_id}") '
                                           "{ errors { code } } }"}).json()
        assert answer["data"][step]["errors"] == [], answer
    done = multipart(base, COMPLETE, {"id": request_id, "photos": [None]},
                     {"photos.0": photo("WEBP", (640, 480))}, token=member).json()
    result = done["data"]["completeServiceRequest"]
    assert result["errors"] == [] and result["request"]["status"] == "COMPLETED"
    service = [p for p in result["request"]["photos"] if p["stage"] == "SERVICE"]
    assert _jpeg(httpx.get(base + service[0]["url"])).size == (640, 480)


async def test_media_answers_with_the_callers_rights(server: str, sessions: Any) -> None:
    stewards = await community_with_stewards(sessions)
    url = _submit(server, {"input.photos.0": photo("JPEG", (200, 100))})["request"][
        "photos"][0]["url"]
    path, _, query = url.partition("?")
    admin = issue_token(SECRET, admin=True)
    stranger = issue_token(SECRET, member_id=stewards[0])  # not (yet) its assignee
    assert httpx.get(server + path).status_code == 401
    _jpeg(httpx.get(server + path, headers={"Authorization": f"Bearer {admin}"}))
    assert httpx.get(server + path, headers={"Authorization": f"Bearer {stranger}"}
                     ).json()["code"] == "FORBIDDEN"
    forged = query[:-4] + ("0000" if not query.endswith("0000") else "1111")
    assert httpx.get(f"{server}{path}?{forged}").status_code == 403
    other_variant = path.replace("full.jpg", "thumb.jpg")
    assert httpx.get(f"{server}{other_variant}?{query}").status_code == 403
    expired = httpx.get(f"{server}{path}?expires={int(time.time()) - 1}&signature=00")
    assert (expired.status_code, expired.json()["code"]) == (403, "LINK_EXPIRED")
    for nowhere in ("/media/photos/999999/full.jpg", "/media/photos/0/full.jpg",
                    "/media/photos/1/original.jpg", "/media/photos/x/full.jpg",
                    "/media/photos/99999999999999999999/full.jpg",
                    "/media/photos/1/full.png"):
        answer = httpx.get(server + nowhere, headers={"Authorization": f"Bearer {admin}"})
        assert answer.status_code == 404, nowhere


async def test_bad_photos_over_http_name_the_field(server: str, sessions: Any) -> None:
    await community_with_stewards(sessions)
    payload = _submit(server, {"input.photos.0": photo("JPEG", (64, 64)),
                               "input.photos.1": b"<html>not an image</html>",
                               "input.photos.2": b"\x00" * 10_000_001})
    assert [(e["code"], e["field"]) for e in payload["errors"]] == [
        ("NOT_AN_IMAGE", "input.photos[1]"), ("FILE_TOO_LARGE", "input.photos[2]")]
    many = _submit(server, {f"input.photos.{i}": photo("JPEG", (32, 32)) for i in range(4)})
    assert [(e["code"], e["field"]) for e in many["errors"]] == [("TOO_MANY_FILES",
                                                                  "input.photos")]
    gps = _submit(server, {"input.photos.0": photo("JPEG", (64, 64))}, point=None,
                  address="船山路63号")
    assert gps["errors"] == [] and gps["photoLocation"]["type"] == "Point"


def test_a_multipart_request_without_the_preflight_header_is_refused(server: str) -> None:
    response = multipart(server, SUBMIT, {"input": {"category": "MAINTENANCE",
                                                    "description": "x", "photos": [None]}},
                         {"input.photos.0": photo("JPEG", (8, 8))}, headers={})
    assert response.status_code == 400
    assert "GraphQL-Require-Preflight" in response.json()["errors"][0]["message"]


def test_a_multipart_body_over_its_limit_is_refused(s3_server: str) -> None:
    response = multipart(s3_server, SUBMIT, {"input": {"photos": [None]}},
                         {"input.photos.0": b"\x00" * (UPLOAD_LIMIT + 1)})
    assert response.status_code == 413
    assert response.json()["errors"][0]["extensions"]["code"] == "PAYLOAD_TOO_LARGE"


BOUNDARY = "gsboundary"


def _body(parts: list[tuple[str, bytes]]) -> bytes:
    out = b""
    for name, value in parts:
        out += (f"--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"{name}\"; "
                f"filename=\"{name}.bin\"\r\n\r\n").encode() + value + b"\r\n"
    return out + f"--{BOUNDARY}--\r\n".encode()


OPERATION = json.dumps({"query": SUBMIT, "variables": {"input": {
    "category": "MAINTENANCE", "description": "x", "point": IN_B1, "photos": [None]}}})
HOSTILE: list[bytes | tuple[str, bytes]] = [
    b"", b"garbage", b"--gsboundary\r\n", b"--gsboundary--\r\n", b"--other\r\n\r\n--other--",
    _body([("operations", b"{}")]), _body([("map", b"{}")]),
    _body([("operations", b"not json"), ("map", b"{}")]),
    _body([("operations", OPERATION.encode()), ("map", b"[]")]),
    _body([("operations", OPERATION.encode()), ("map", b'{"0": "variables.input"}')]),
    _body([("operations", OPERATION.encode()), ("map", b'{"0": [5]}')]),
    _body([("operations", OPERATION.encode()), ("map", b'{"0": ["variables.input.photos.0"]}')]),
    _body([("operations", OPERATION.encode()), ("map", b'{"0": ["variables.nope.x.y"]}'),
           ("0", b"x")]),
    _body([("operations", OPERATION.encode()), ("map", b'{"0": ["variables.input.photos.x"]}'),
           ("0", b"x")]),
    _body([("operations", OPERATION.encode()),
           ("map", b'{"0": ["variables.input.photos.99"]}'), ("0", b"x")]),
    _body([("operations", OPERATION.encode()), ("map", b'{"0": ["query"]}'), ("0", b"x")]),
    _body([("operations", OPERATION.encode()), ("map", b'{"0": ["variables"]}'), ("0", b"x")]),
    _body([("operations", b"[" + OPERATION.encode() + b"]"),
           ("map", b'{"0": ["0.variables.input.photos.0"]}'), ("0", b"x")]),
    _body([("operations", OPERATION.encode()), ("map", b'{"0": ["variables.input.photos.0"]}'),
           ("0", b"\xff\xd8\xff\xe0garbage")]),
    ("text/plain", b"hello"), ("multipart/form-data", b"x"),
    ("multipart/form-data; boundary=", b"--\r\n"), ("multipart/mixed; boundary=gs", b"x"),
]


@pytest.mark.parametrize("body", HOSTILE, ids=[str(i) for i in range(len(HOSTILE))])
def test_hostile_multipart_bodies_are_never_a_server_error(server: str,
                                                           body: bytes | tuple[str, bytes]
                                                           ) -> None:
    content_type, data = body if isinstance(body, tuple) else (
        f"multipart/form-data; boundary={BOUNDARY}", body)
    response = httpx.post(f"{server}/graphql", content=data,
                          headers={"content-type": content_type, **PREFLIGHT}, timeout=30)
    assert response.status_code in (200, 400), response.text
    assert "Traceback" not in response.text
    payload = response.json()
    assert "Unexpected error" not in json.dumps(payload)


@settings(max_examples=int(os.environ.get("FUZZ_EXAMPLES", "40")), deadline=None,
          derandomize="FUZZ_EXAMPLES" not in os.environ,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(parts=st.lists(st.tuples(
    st.sampled_from(["operations", "map", "0", "1", "x"]),
    st.one_of(st.binary(max_size=300), st.sampled_from([
        OPERATION.encode(), b'{"0": ["variables.input.photos.0"]}', b"{}", b"null",
        b'{"0": ["variables.input.photos.0", "variables.input.photos.0"]}']))),
    max_size=5))
def test_generated_multipart_bodies_are_never_a_server_error(
        server: str, parts: list[tuple[str, bytes]]) -> None:
    response = httpx.post(f"{server}/graphql", content=_body(parts), headers={
        "content-type": f"multipart/form-data; boundary={BOUNDARY}", **PREFLIGHT}, timeout=30)
    assert response.status_code in (200, 400), response.text
    assert "Unexpected error" not in response.text
