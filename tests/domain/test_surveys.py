"""Surveys with a controllable clock: schedule, send, remind, expire, answer once."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import text

from domain.errors import InvalidInput
from domain.infra.db import transaction
from domain.surveys.batch import SurveyTimes, run_survey_batch
from domain.surveys.respond import Answer, answer_survey
from tests.requests_factory import TIMEOUT, community_with_stewards, completed_request

T0 = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)
TIMES = SurveyTimes(delay=timedelta(hours=1), reminder=timedelta(days=2),
                    expiry=timedelta(days=7))


async def _scalar(sessions: Any, sql: str, **params: Any) -> Any:
    async with sessions() as session:
        return (await session.execute(text(sql), params)).scalar_one()


async def _token(sessions: Any, request_id: int) -> str:
    return str(await _scalar(sessions, "SELECT survey_token FROM outbound_message WHERE "
                             "kind = 'SURVEY' AND request_id = :id", id=request_id))


async def _answer(sessions: Any, token: str, score: object = 5, resolved: bool | None = True,
                  comment: str | None = None, now: datetime = T0) -> Any:
    async with transaction(sessions) as session:
        return await answer_survey(session, Answer(token, score, resolved, comment), now=now,
                                   accept_timeout=TIMEOUT)


@pytest.fixture
async def request_id(sessions: Any) -> int:
    await community_with_stewards(sessions)
    made, _ = await completed_request(sessions, at=T0)
    return made


async def test_schedule_send_remind_expire(sessions: Any, request_id: int) -> None:
    early = await run_survey_batch(sessions, now=T0 + timedelta(minutes=30), times=TIMES)
    assert (early.scheduled, early.sent) == (1, 0)
    sent = await run_survey_batch(sessions, now=T0 + timedelta(hours=1), times=TIMES)
    assert (sent.scheduled, sent.sent) == (0, 1)
    body = await _scalar(sessions, "SELECT body FROM outbound_message WHERE kind = 'SURVEY'")
    number = await _scalar(sessions, "SELECT number FROM service_request")
    assert number in body and "维修维护" in body and "2026-11-02" in body
    again = await run_survey_batch(sessions, now=T0 + timedelta(hours=2), times=TIMES)
    assert (again.sent, again.reminded) == (0, 0)
    reminded = await run_survey_batch(sessions, now=T0 + timedelta(days=2, hours=1),
                                      times=TIMES)
    assert reminded.reminded == 1
    once = await run_survey_batch(sessions, now=T0 + timedelta(days=3), times=TIMES)
    assert once.reminded == 0
    expired = await run_survey_batch(sessions, now=T0 + timedelta(days=7, hours=1),
                                     times=TIMES)
    assert expired.expired == 1
    token = await _token(sessions, request_id)
    with pytest.raises(InvalidInput) as caught:
        await _answer(sessions, token, now=T0 + timedelta(days=8))
    assert caught.value.errors[0].code == "EXPIRED"


async def test_token_is_hashed_random_and_single_use(sessions: Any, request_id: int) -> None:
    await run_survey_batch(sessions, now=T0 + timedelta(hours=1), times=TIMES)
    token = await _token(sessions, request_id)
    assert len(token) == 64 and int(token, 16) >= 0
    stored = await _scalar(sessions, "SELECT token_hash FROM survey")
    assert stored != token
    await _answer(sessions, token, score=4)
    assert await _scalar(sessions, "SELECT status FROM service_request") == "CLOSED"
    with pytest.raises(InvalidInput) as caught:
        await _answer(sessions, token)
    assert caught.value.errors[0].code == "ALREADY_ANSWERED"


async def test_not_resolved_reopens_one_level_higher(sessions: Any, request_id: int) -> None:
    await run_survey_batch(sessions, now=T0 + timedelta(hours=1), times=TIMES)
    await _answer(sessions, await _token(sessions, request_id), score=2, resolved=False)
    async with sessions() as session:
        row = (await session.execute(text(
            "SELECT status, escalation_level, assignee_id FROM service_request"))).one()
        kinds = [k for (k,) in await session.execute(text(
            "SELECT kind FROM request_event ORDER BY id DESC LIMIT 3"))]
    assert tuple(row) == ("SUBMITTED", 2, None)  # no grid worker in G1: on to the community
    assert kinds == ["ESCALATED", "REOPENED", "SURVEY_ANSWERED"]


async def test_no_phone_no_survey_and_recorded(sessions: Any) -> None:
    await community_with_stewards(sessions)
    await completed_request(sessions, at=T0, phone=None)
    counts = await run_survey_batch(sessions, now=T0 + timedelta(hours=2), times=TIMES)
    assert (counts.scheduled, counts.skipped_no_phone, counts.sent) == (0, 1, 0)
    assert await _scalar(sessions, "SELECT count(*) FROM request_event WHERE kind = "
                         "'SURVEY_SKIPPED'") == 1
    again = await run_survey_batch(sessions, now=T0 + timedelta(hours=3), times=TIMES)
    assert again.skipped_no_phone == 0


@pytest.mark.parametrize(("token", "score", "comment", "code", "field"), [
    ("", 5, None, "REQUIRED", "token"),
    ("not-a-token", 5, None, "MALFORMED_TOKEN", "token"),
    ("a" * 64, 0, None, "OUT_OF_RANGE", "score"),
    ("a" * 64, 6, None, "OUT_OF_RANGE", "score"),
    ("a" * 64, 4.5, None, "INVALID_VALUE", "score"),
    ("a" * 64, 5, "长" * 1001, "TOO_LONG", "comment"),
    ("a" * 64, 5, None, "NOT_FOUND", "token"),
])
async def test_bad_answers(sessions: Any, request_id: int, token: str, score: object,
                           comment: str | None, code: str, field: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        await _answer(sessions, token, score=score, comment=comment)
    assert (caught.value.errors[0].code, caught.value.errors[0].field) == (code, field)
    assert await _scalar(sessions, "SELECT status FROM service_request") == "COMPLETED"


async def test_ten_thousand_surveys_in_one_batch(sessions: Any) -> None:
    await community_with_stewards(sessions)
    made, _ = await completed_request(sessions, at=T0)
    async with transaction(sessions) as session:
        await session.execute(text("""
            INSERT INTO service_request (number, category, description, status, location,
                group_id, grid_id, community_id, submitted_at, updated_at, due_at,
                completed_at, contact_phone, assignee_id)
            SELECT 'BULK' || n, r.category, r.description, 'COMPLETED', r.location, r.group_id,
                   r.grid_id, r.community_id, r.submitted_at, r.updated_at, r.due_at,
                   r.completed_at, '139' || lpad(n::text, 8, '0'), r.assignee_id
            FROM service_request r, generate_series(1, 9999) n WHERE r.id = :id"""),
            {"id": made})
    counts = await run_survey_batch(sessions, now=T0 + timedelta(hours=1), times=TIMES,
                                    chunk=3000)
    assert (counts.scheduled, counts.sent) == (10_000, 10_000)
    assert await _scalar(sessions, "SELECT count(DISTINCT survey_token) FROM outbound_message "
                         "WHERE kind = 'SURVEY'") == 10_000
