"""Rate limits of the anonymous mutations, against the real stores (Redis and PostgreSQL):
a burst past a limit is RATE_LIMITED with retryAfter (and the field of a per-phone or
per-login limit), other addresses are not, a phone's limit holds across addresses, buckets
refill with (a fake) time, and a store that is down lets everything through."""

from __future__ import annotations

import logging
import os
import time
from collections.abc import AsyncIterator, Callable
from typing import Any
from uuid import uuid4

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine
from starlette.requests import Request
from strawberry.permission import PermissionExtension

from domain.access import ANONYMOUS
from domain.infra.db import make_async_engine
from domain.infra.rate_limit import Limiter
from domain.infra.rate_limit_stores import PostgresStore, RedisStore, make_limiter
from schema.common.context import Context
from schema.common.rate_limits import RateLimited, RateLimits
from tests.conftest import TOKENS
from tests.settings import make_settings

REDIS_URL = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379") + "/14"
CLOSED = "redis://127.0.0.1:1/0"  # nobody listens there

REFRESH = """mutation { refreshSession(refreshToken: "nonsense") { errors { code } } }"""
CODE = """mutation($p: String!) { requestSignInCode(phone: $p) { errors { code } } }"""
SUBMIT = """mutation($phone: String) { submitServiceRequest(input: {category: MAINTENANCE,
    description: "路灯坏了", address: "nowhere 1", contactPhone: $phone}) { errors { code } } }"""
SURVEY = """mutation { submitSurveyResponse(token: "nonsense", score: 5) { errors { code } } }"""
#: Small limits, so that a test reaches them in a few calls.
SETTINGS = make_settings(RATE_LIMIT_SUBMIT_PER_ADDRESS="4/1m", RATE_LIMIT_SUBMIT_PER_PHONE="2/1h",
                         RATE_LIMIT_SIGN_IN_PER_ADDRESS="3/1m", RATE_LIMIT_CODE_PER_PHONE="2/15m",
                         TRUSTED_PROXIES="10.0.0.0/8, fd00::1")


class Clock:
    """A clock the test moves."""

    def __init__(self) -> None:
        self.now = time.time()

    def __call__(self) -> float:
        return self.now


@pytest.fixture(params=["redis", "postgres"])
async def limiter(request: pytest.FixtureRequest, engine: AsyncEngine) -> AsyncIterator[Limiter]:
    """A limiter on each real store, its keys under a prefix of this test, on a fake clock."""
    store = RedisStore(REDIS_URL) if request.param == "redis" else PostgresStore(engine)
    limiter = Limiter(store, prefix=f"test:{uuid4().hex}:", clock=Clock())
    yield limiter
    await limiter.close()


def _http(peer: str, forwarded_for: str | None = None) -> Request:
    headers = [(b"x-forwarded-for", forwarded_for.encode())] if forwarded_for else []
    return Request({"type": "http", "method": "POST", "path": "/graphql",
                    "client": (peer, 40000), "headers": headers})


Run = Callable[..., Any]


@pytest.fixture
def run(gql_schema: Any, sessions: Any, limiter: Limiter) -> Run:
    """Runs an operation as an anonymous caller at `peer` (with `forwardedFor`)."""
    limits = RateLimits.of(SETTINGS, limiter)

    async def go(query: str, variables: dict[str, Any] | None = None, *, peer: str = "1.2.3.4",
                 forwarded_for: str | None = None, with_limits: RateLimits | None = None) -> Any:
        context = Context(sessions=sessions, settings=SETTINGS, viewer=ANONYMOUS, tokens=TOKENS,
                          rate_limits=with_limits or limits, request=_http(peer, forwarded_for))
        return await gql_schema.execute(query, variable_values=variables, context_value=context)
    return go


def _limited(result: Any) -> dict[str, Any] | None:
    """The RATE_LIMITED error's extensions, or None when the call went through."""
    if result.errors is None:
        return None
    assert len(result.errors) == 1 and result.data is None, result.errors
    extensions: dict[str, Any] = result.errors[0].extensions
    assert extensions["code"] == "RATE_LIMITED"
    return extensions


async def test_a_burst_past_the_address_limit_is_refused(run: Run) -> None:
    assert [_limited(await run(REFRESH)) for _ in range(3)] == [None] * 3
    refused = await run(REFRESH)
    assert _limited(refused) == {"code": "RATE_LIMITED", "retryAfter": 20}  # 3/min: 1 per 20 s
    assert "try again in 20 s" in refused.errors[0].message
    assert _limited(await run(REFRESH, peer="5.6.7.8")) is None  # another address
    # requestSignInCode shares the address's sign-in bucket: refused for the address.
    assert _limited(await run(CODE, {"p": "13800138000"})) == {"code": "RATE_LIMITED",
                                                              "retryAfter": 20}


async def test_the_bucket_refills_with_time(run: Run, limiter: Limiter) -> None:
    clock: Any = limiter.clock
    for _ in range(3):
        await run(REFRESH)
    assert _limited(await run(REFRESH)) is not None
    clock.now += 19
    assert _limited(await run(REFRESH))["retryAfter"] == 1  # type: ignore[index]
    clock.now += 1
    assert _limited(await run(REFRESH)) is None  # one token back
    assert _limited(await run(REFRESH)) is not None
    clock.now += 600  # far longer than the window: full again, and no fuller
    assert [_limited(await run(REFRESH)) for _ in range(4)] == [
        None, None, None, {"code": "RATE_LIMITED", "retryAfter": 20}]


async def test_a_phone_limit_holds_across_addresses(run: Run) -> None:
    phone = {"p": "13800138000"}
    assert _limited(await run(CODE, phone, peer="1.1.1.1")) is None
    assert _limited(await run(CODE, {"p": "+86 138 0013 8000"}, peer="2.2.2.2")) is None
    assert _limited(await run(CODE, phone, peer="3.3.3.3")) == {
        "code": "RATE_LIMITED", "field": "phone", "retryAfter": 450}  # 2 per 15 min
    assert _limited(await run(CODE, {"p": "13900139000"}, peer="3.3.3.3")) is None


async def test_submissions_are_limited_per_contact_phone_and_address(run: Run) -> None:
    phone = {"phone": "13800138000"}
    assert _limited(await run(SUBMIT, phone, peer="1.1.1.1")) is None  # OUT_OF_AREA, counted
    assert _limited(await run(SUBMIT, phone, peer="2.2.2.2")) is None
    assert _limited(await run(SUBMIT, phone, peer="3.3.3.3")) == {
        "code": "RATE_LIMITED", "field": "input.contactPhone", "retryAfter": 1800}
    # The phone's refusal took nothing from the address: 3.3.3.3 has its 4 left.
    answers = [_limited(await run(SUBMIT, {"phone": None}, peer="3.3.3.3")) for _ in range(3)]
    answers.append(_limited(await run(SURVEY, peer="3.3.3.3")))  # the same submission bucket
    assert answers == [None] * 4
    assert _limited(await run(SURVEY, peer="3.3.3.3")) == {"code": "RATE_LIMITED",
                                                           "retryAfter": 15}


async def test_forwarded_for_is_believed_from_trusted_proxies_only(run: Run) -> None:
    for n in range(3):  # an untrusted peer cannot pose as others
        assert _limited(await run(REFRESH, forwarded_for=f"9.9.9.{n}")) is None
    assert _limited(await run(REFRESH, forwarded_for="9.9.9.9")) is not None
    for _ in range(3):  # behind the proxies: the right-most address that is not one of them
        assert _limited(await run(REFRESH, peer="10.0.0.2",
                                  forwarded_for="6.6.6.6, 7.7.7.7, 10.1.1.1")) is None
    refused = await run(REFRESH, peer="fd00::1", forwarded_for="1.1.1.1, 7.7.7.7")
    assert _limited(refused) is not None  # 7.7.7.7 again, through another proxy
    assert _limited(await run(REFRESH, peer="10.0.0.2", forwarded_for="7.7.7.8")) is None


async def test_an_unreachable_store_lets_everything_through(
        run: Run, engine: AsyncEngine, caplog: pytest.LogCaptureFixture) -> None:
    nowhere = make_async_engine("postgresql+psycopg://root@127.0.0.1:1/none", pool_size=1)
    caplog.set_level(logging.WARNING, "gridsteward.rate_limit")
    for store in (RedisStore(CLOSED), PostgresStore(nowhere)):
        caplog.clear()
        limits = RateLimits.of(SETTINGS, Limiter(store, prefix="test:down:"))
        answers = [await run(REFRESH, with_limits=limits) for _ in range(5)]
        assert [a.errors for a in answers] == [None] * 5
        assert [a.data["refreshSession"]["errors"][0]["code"] for a in answers] == [
            "INVALID_TOKEN"] * 5
        warnings = [r.getMessage() for r in caplog.records]
        assert len(warnings) == 1 and warnings[0].startswith("rate limits off for 5 s: the store "
                                                             "failed: ")
        await store.close()
    await nowhere.dispose()


def test_off_means_no_limiter() -> None:
    assert make_limiter("off", None, prefix="x") is None
    assert isinstance(make_limiter(CLOSED, None, prefix="x"), Limiter)  # connects when used


#: Anonymous mutations that need no limit: signing out only ends the session of a token.
UNLIMITED = {"sign_out"}


def test_every_anonymous_mutation_is_rate_limited(gql_schema: Any) -> None:
    mutation = gql_schema.get_type_by_name("Mutation")
    anonymous = {field.python_name: field for field in mutation.fields
                 if not any(isinstance(e, PermissionExtension) for e in field.extensions)}
    limited = {name for name, field in anonymous.items()
               if any(isinstance(e, RateLimited) for e in field.extensions)}
    assert set(anonymous) - limited == UNLIMITED
    assert limited >= {"submit_service_request", "submit_survey_response",
                       "sign_in_with_password", "request_sign_in_code", "sign_in_with_code",
                       "refresh_session"}


OBJECT = """mutation($p: String) { objectToCandidate(id: "TWVtYmVyOjE", reason: "不住本楼",
    contactPhone: $p) { received errors { code } } }"""


async def test_objections_are_limited_per_phone_like_submissions(run: Run) -> None:
    """objectToCandidate (issue 11) takes the submission buckets: per address and per phone."""
    answers = [await run(OBJECT, {"p": "13912345678"}, peer=f"1.2.3.{n}") for n in range(3)]
    assert [a.errors is None for a in answers] == [True, True, False]
    error = answers[2].errors[0]
    assert error.extensions["code"] == "RATE_LIMITED"
    assert error.extensions["field"] == "contactPhone"
