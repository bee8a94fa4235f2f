"""Member sign-in by code, end to end: requestSignInCode writes a SIGN_IN_CODE message, the
worker's log channel delivers it, and the code read from that log line signs the member in.
The code is never in the database, in outboundMessages or anywhere but the delivered line."""

from __future__ import annotations

import json
import logging
import re
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import text

from domain.access import ANONYMOUS
from domain.infra.db import transaction
from domain.people.signin import MAX_ATTEMPTS, sign_in_with_code
from schema.common.ids import decode_id
from tests.conftest import TOKENS
from tests.people_factory import make_member
from tests.settings import make_settings
from workers.channels import make_sender
from workers.jobs import deliver_job

PHONE = "13800001111"
REQUEST = """mutation($phone: String!) { requestSignInCode(phone: $phone) {
    sentTo expiresAt errors { code field message } } }"""
SIGN_IN = """mutation($phone: String!, $code: String!) {
  signInWithCode(phone: $phone, code: $code) {
    session { accessToken refreshToken } errors { code field message } } }"""
OUTBOX = """{ outboundMessages(kind: "SIGN_IN_CODE") { id kind recipient body surveyToken } }"""


async def _request(api: Any, phone: str = PHONE) -> dict[str, Any]:
    data = await api.data(REQUEST, {"phone": phone}, viewer=ANONYMOUS)
    return dict(data["requestSignInCode"])


async def _sign_in(api: Any, code: str, phone: str = PHONE) -> dict[str, Any]:
    data = await api.data(SIGN_IN, {"phone": phone, "code": code}, viewer=ANONYMOUS)
    return dict(data["signInWithCode"])


async def _delivered_code(api: Any, sessions: Any, caplog: pytest.LogCaptureFixture) -> str:
    """Deliver the newest SIGN_IN_CODE message through the log channel; the code in its line."""
    messages = (await api.data(OUTBOX))["outboundMessages"]
    message_id = decode_id(messages[-1]["id"], "OutboundMessage", "id")
    settings = make_settings(database_url="", broker_url="", secret_key=TOKENS.secret)
    caplog.clear()
    with caplog.at_level(logging.INFO, logger="gridsteward.outbound"):
        await deliver_job(sessions, [message_id], make_sender(settings),
                          secret_key=settings.secret_key)
    (line,) = [r.getMessage() for r in caplog.records if r.name == "gridsteward.outbound"]
    delivered = json.loads(line)
    assert (delivered["kind"], delivered["recipient"]) == ("SIGN_IN_CODE", PHONE)
    (code,) = re.findall(r"\d{6}", delivered["body"])
    return code


async def test_a_member_signs_in_with_the_delivered_code_once(
        api: Any, sessions: Any, caplog: pytest.LogCaptureFixture) -> None:
    await make_member(sessions, PHONE)
    sent = await _request(api, "+86 138-0000-1111")
    assert (sent["sentTo"], sent["errors"]) == ("138****1111", [])
    code = await _delivered_code(api, sessions, caplog)
    signed_in = await _sign_in(api, code)
    assert signed_in["errors"] == [] and signed_in["session"]["refreshToken"]
    again = await _sign_in(api, code)
    assert (again["session"], [e["code"] for e in again["errors"]]) == (None, ["SIGN_IN_FAILED"])


async def test_the_code_is_never_stored_nor_shown(
        api: Any, sessions: Any, caplog: pytest.LogCaptureFixture) -> None:
    await make_member(sessions, PHONE)
    await _request(api)
    code = await _delivered_code(api, sessions, caplog)
    (shown,) = (await api.data(OUTBOX))["outboundMessages"]
    assert "{code}" in shown["body"] and code not in json.dumps(shown)
    async with sessions() as session:
        stored = (await session.execute(text("""
            SELECT (SELECT json_agg(c)::text FROM sign_in_code c)
                || (SELECT json_agg(m)::text FROM outbound_message m)"""))).scalar_one()
    assert code not in stored


async def test_five_wrong_tries_void_the_code(
        api: Any, sessions: Any, caplog: pytest.LogCaptureFixture) -> None:
    await make_member(sessions, PHONE)
    await _request(api)
    code = await _delivered_code(api, sessions, caplog)
    wrong = f"{(int(code) + 1) % 10 ** 6:06d}"
    for _ in range(MAX_ATTEMPTS):
        assert (await _sign_in(api, wrong))["errors"][0]["code"] == "SIGN_IN_FAILED"
    assert (await _sign_in(api, code))["errors"][0]["code"] == "SIGN_IN_FAILED"


async def test_a_code_expires_after_five_minutes(
        api: Any, sessions: Any, caplog: pytest.LogCaptureFixture) -> None:
    await make_member(sessions, PHONE)
    await _request(api)
    code = await _delivered_code(api, sessions, caplog)
    later = datetime.now(UTC) + timedelta(minutes=5, seconds=1)
    async with transaction(sessions) as session:
        outcome = await sign_in_with_code(session, phone=PHONE, code=code, now=later,
                                          key=TOKENS.code_key)
    assert getattr(outcome, "code", None) == "SIGN_IN_FAILED"


async def test_an_unknown_phone_answers_as_a_known_one(api: Any, sessions: Any) -> None:
    await make_member(sessions, PHONE)
    known, unknown = await _request(api), await _request(api, "13900002222")
    assert (known.keys(), known["errors"]) == (unknown.keys(), unknown["errors"])
    assert unknown["sentTo"] == "139****2222"
    assert len((await api.data(OUTBOX))["outboundMessages"]) == 1  # nothing sent to nobody
    failed = await _sign_in(api, "123456", "13900002222")
    wrong = await _sign_in(api, "123456")
    assert failed == wrong


async def test_a_member_who_left_gets_no_code(api: Any, sessions: Any) -> None:
    await make_member(sessions, PHONE, status="EXITED")
    assert (await _request(api))["errors"] == []
    assert (await api.data(OUTBOX))["outboundMessages"] == []


@pytest.mark.parametrize(("phone", "code", "error"), [
    ("12345", "123456", ("INVALID_PHONE", "phone")),
    ("0734-8123456", "123456", ("INVALID_PHONE", "phone")),  # a landline gets no text message
    (PHONE, "12345", ("INVALID_VALUE", "code")),
    (PHONE, "12345a", ("INVALID_VALUE", "code")),
])
async def test_malformed_input_names_the_field(api: Any, sessions: Any, phone: str, code: str,
                                               error: tuple[str, str]) -> None:
    signed = await _sign_in(api, code, phone)
    assert [(e["code"], e["field"]) for e in signed["errors"]] == [error]
    if error[1] == "phone":
        sent = await _request(api, phone)
        assert [(e["code"], e["field"]) for e in sent["errors"]] == [error]
    async with sessions() as session:
        assert (await session.execute(text("SELECT count(*) FROM sign_in_code"))).scalar() == 0
