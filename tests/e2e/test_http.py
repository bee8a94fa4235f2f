"""End to end over HTTP: the real `gridsteward serve` process on a free port."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from server.auth import issue_token
from tests.e2e.serving import post, running_api
from tests.factories import X0, Y0, load
from tests.people_factory import GOOD_PASSWORD, load_places, make_account

SECRET = "e2e-secret-used-only-by-this-test-0123456789-abcdefghij"
BODY_LIMIT = 20_000


@pytest.fixture(scope="module")
def server(database_url: str) -> Iterator[str]:
    with running_api(database_url, SECRET, MAX_BODY_BYTES=str(BODY_LIMIT)) as base:
        yield base


async def test_coverage_over_http(server: str, sessions: Any) -> None:
    await load(sessions)
    query = ("query ($p: PointInput) { coverage(point: $p) { buildingGroup { name } "
             "grid { code } contacts { phone } } }")
    response = post(server, query, {"p": {"lon": X0 + 0.0051, "lat": Y0 + 0.0051}})
    assert response.status_code == 200
    assert response.json() == {"data": {"coverage": {
        "buildingGroup": {"name": "船山路63号党小组"}, "grid": {"code": "G1"}, "contacts": []}}}


async def test_tokens_over_http(server: str, sessions: Any) -> None:
    await load(sessions)
    query = "{ grids { totalCount } }"
    missing = post(server, query).json()
    assert missing["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
    good = post(server, query, token=issue_token(SECRET, admin=True)).json()
    assert good == {"data": {"grids": {"totalCount": 2}}}
    expired = post(server, query, token=issue_token(SECRET, admin=True, ttl_seconds=1,
                                                      now=time.time() - 60))
    assert expired.status_code == 401 and "expired" in expired.json()["errors"][0]["message"]
    forged = post(server, query, token=issue_token("x" * 48, admin=True))
    assert forged.status_code == 401


def test_bad_input_is_never_a_500(server: str) -> None:
    response = post(server, "query { coverage(point: {lon: 1, lat: 100}) { grid { code } } }")
    assert response.status_code == 200
    error = response.json()["errors"][0]
    assert error["extensions"]["field"] == "point.lat"
    assert "Traceback" not in response.text
    garbage = httpx.post(f"{server}/graphql", content=b"{not json",
                         headers={"content-type": "application/json"})
    assert garbage.status_code == 400


def test_oversized_body_is_refused(server: str) -> None:
    response = post(server, "{ __typename }", {"pad": "x" * (BODY_LIMIT + 1)})
    assert response.status_code == 413
    assert response.json()["errors"][0]["extensions"]["code"] == "PAYLOAD_TOO_LARGE"


def test_graphiql_on_get(server: str) -> None:
    response = httpx.get(f"{server}/graphql", headers={"accept": "text/html"})
    assert response.status_code == 200 and "graphiql" in response.text.lower()


async def test_a_session_over_http_ends_at_sign_out(server: str, sessions: Any) -> None:
    ids = await load_places(sessions)
    await make_account(sessions, ids, "chenjing", "S1")
    signed = post(server, """mutation($l: String!, $p: String!) { signInWithPassword(
        login: $l, password: $p) { session { accessToken refreshToken } } }""",
                  {"l": "chenjing", "p": GOOD_PASSWORD}).json()
    session = signed["data"]["signInWithPassword"]["session"]
    viewer = "{ viewer { account { login } territories { level subdistrict { code } } } }"
    assert post(server, viewer, token=session["accessToken"]).json() == {"data": {"viewer": {
        "account": {"login": "chenjing"},
        "territories": [{"level": "SUBDISTRICT", "subdistrict": {"code": "S1"}}]}}}
    out = post(server, "mutation($t: String!) { signOut(refreshToken: $t) { signedOut } }",
               {"t": session["refreshToken"]}).json()
    assert out == {"data": {"signOut": {"signedOut": True}}}
    after = post(server, viewer, token=session["accessToken"])  # not expired, but ended
    assert (after.status_code, after.json()) == (200, {"data": {"viewer": None}})


def test_introspection_needs_a_token_in_production(server: str) -> None:
    query = "{ __schema { queryType { name } } }"
    anonymous = post(server, query).json()
    assert anonymous["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
    signed_in = post(server, query, token=issue_token(SECRET, admin=True)).json()
    assert signed_in == {"data": {"__schema": {"queryType": {"name": "Query"}}}}
