"""Rate limits in the real `gridsteward serve`: the peer is the socket's (uvicorn does not
rewrite it from X-Forwarded-For), and the header counts only from TRUSTED_PROXIES."""

from __future__ import annotations

from uuid import uuid4

import httpx

from tests.e2e.serving import running_api

SECRET = "e2e-rate-limit-secret-used-only-by-this-test-0123456789"
REFRESH = {"query": 'mutation { refreshSession(refreshToken: "x") { errors { code } } }'}


def _code(base: str, forwarded_for: str) -> object:
    body = httpx.post(f"{base}/graphql", json=REFRESH, timeout=10,
                      headers={"X-Forwarded-For": forwarded_for}).json()
    if "errors" in body:
        return body["errors"][0]["extensions"]["code"]
    return body["data"]["refreshSession"]["errors"][0]["code"]


def test_forwarded_for_from_an_untrusted_peer_is_ignored(database_url: str) -> None:
    with running_api(database_url, SECRET, RATE_LIMIT_STORE="postgres",
                     RATE_LIMIT_PREFIX=f"e2e:{uuid4().hex}:",
                     RATE_LIMIT_SIGN_IN_PER_ADDRESS="2/1m") as base:
        codes = [_code(base, f"9.9.9.{n}") for n in range(3)]
    assert codes == ["INVALID_TOKEN", "INVALID_TOKEN", "RATE_LIMITED"]


def test_forwarded_for_from_a_trusted_proxy_names_the_client(database_url: str) -> None:
    with running_api(database_url, SECRET, RATE_LIMIT_STORE="postgres",
                     RATE_LIMIT_PREFIX=f"e2e:{uuid4().hex}:",
                     RATE_LIMIT_SIGN_IN_PER_ADDRESS="2/1m", TRUSTED_PROXIES="127.0.0.1") as base:
        codes = [_code(base, f"9.9.9.{n}") for n in range(3)]
        codes += [_code(base, "9.9.9.9") for _ in range(3)]
    assert codes == ["INVALID_TOKEN"] * 5 + ["RATE_LIMITED"]
