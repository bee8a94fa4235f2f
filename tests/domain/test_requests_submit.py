"""Submission rules at the domain level: every field checked before anything is written, time
limits from the configured hours, retries answered like the first submission."""

from __future__ import annotations

import math
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import text

from domain.errors import InvalidInput
from domain.infra.db import transaction
from domain.requests.policy import due_at, due_limits
from domain.requests.submit import NewRequest, Submitted, Tuning, submit_request
from domain.workdays import WorkCalendar
from tests.factories import X0, Y0, load

NOW = datetime(2026, 11, 23, 8, tzinfo=UTC)
IN_B1 = (X0 + 0.0051, Y0 + 0.0051)
HOURS = {"EMERGENCY": 4, "ASSISTANCE": 24, "CONSULTATION": 48, "MEDIATION": 72,
         "MAINTENANCE": 72, "CULTURE": 168}


async def _submit(sessions: Any, hours: dict[str, int] | None = None,
                  **fields: Any) -> Submitted:
    new = NewRequest(**{"category": "MAINTENANCE", "description": "路灯不亮", "point": IN_B1,
                        **fields})
    async with transaction(sessions) as session:
        return await submit_request(session, new, now=NOW,
                                    tuning=Tuning(due_hours=hours or HOURS))


async def _rows(sessions: Any) -> int:
    async with sessions() as session:
        return int((await session.execute(text(
            "SELECT (SELECT count(*) FROM service_request) + "
            "(SELECT count(*) FROM request_event)"))).scalar_one())


@pytest.mark.parametrize(("fields", "code", "field"), [
    ({"category": "PLUMBING"}, "INVALID_VALUE", "input.category"),
    ({"description": ""}, "REQUIRED", "input.description"),
    ({"description": "x" * 4001}, "TOO_LONG", "input.description"),
    ({"contact_phone": "138-1234"}, "INVALID_PHONE", "input.contactPhone"),
    ({"contact_name": "名" * 101}, "TOO_LONG", "input.contactName"),
    ({"idempotency_key": "k" * 201}, "TOO_LONG", "input.idempotencyKey"),
    ({"point": None, "address": "路" * 301}, "TOO_LONG", "input.address"),
    ({"point": None}, "INVALID_ARGUMENTS", "input.address"),
])
async def test_bad_input_names_the_field_and_writes_nothing(
        sessions: Any, fields: dict[str, Any], code: str, field: str) -> None:
    await load(sessions)
    with pytest.raises(InvalidInput) as raised:
        await _submit(sessions, **fields)
    assert [(e.code, e.field) for e in raised.value.errors] == [(code, field)]
    assert await _rows(sessions) == 0


async def test_a_description_of_exactly_4000_characters_is_accepted(sessions: Any) -> None:
    await load(sessions)
    assert (await _submit(sessions, description="灯" * 4000)).created


async def test_every_problem_is_reported_at_once(sessions: Any) -> None:
    with pytest.raises(InvalidInput) as raised:
        await _submit(sessions, category="PLUMBING", description=" ", contact_phone="1")
    assert [e.field for e in raised.value.errors] == [
        "input.category", "input.description", "input.contactPhone"]


async def test_time_limits_follow_the_configured_hours(sessions: Any) -> None:
    await load(sessions)
    done = await _submit(sessions, {**HOURS, "MAINTENANCE": 5})
    async with sessions() as session:
        due = (await session.execute(text("SELECT due_at FROM service_request WHERE id = :id"),
                                     {"id": done.request_id})).scalar_one()
    assert due == NOW + timedelta(hours=5)


async def test_a_retry_is_answered_like_the_first_submission(sessions: Any) -> None:
    await load(sessions)
    older = await _submit(sessions)
    first = await _submit(sessions, idempotency_key="abc")
    again = await _submit(sessions, idempotency_key="abc", description="再说一遍")
    assert (first.created, again.created) == (True, False)
    assert again.request_id == first.request_id
    assert first.possible_duplicates == again.possible_duplicates == [older.request_id]


@pytest.mark.parametrize(("east", "north", "duplicate"), [
    (45, 0, True), (0, 45, True), (32, 32, True), (0, -48, True),
    (56, 0, False), (0, 56, False), (40, 40, False)])
async def test_duplicates_are_open_requests_within_50_metres(
        sessions: Any, east: float, north: float, duplicate: bool) -> None:
    """East-west and north-south alike: the index prefilter keeps every candidate the exact
    distance on the spheroid accepts."""
    await load(sessions)
    first = await _submit(sessions)
    lon = IN_B1[0] + east / (111_320 * math.cos(math.radians(IN_B1[1])))
    lat = IN_B1[1] + north / 110_790
    again = await _submit(sessions, point=(lon, lat))
    assert again.possible_duplicates == ([first.request_id] if duplicate else [])


@pytest.mark.parametrize(("category", "override"), [
    ("MAINTENANCE", None), ("MAINTENANCE", (date(2026, 11, 24), False)),
    ("MAINTENANCE", (date(2026, 11, 26), False)), ("MAINTENANCE", (date(2026, 11, 27), False)),
    ("MAINTENANCE", (date(2026, 11, 21), False)), ("MAINTENANCE", (date(2026, 11, 23), False)),
    ("MAINTENANCE", (date(2026, 11, 29), True)), ("ASSISTANCE", (date(2026, 11, 24), False)),
    ("ASSISTANCE", (date(2026, 11, 25), False)), ("EMERGENCY", (date(2026, 11, 23), False))])
async def test_time_limits_count_with_the_communitys_overrides_wherever_they_fall(
        sessions: Any, category: str, override: tuple[date, bool] | None) -> None:
    """The limit is counted on the national calendar and stored in one statement unless the
    community has an override on a day that count looked at; either way it is what the
    community's calendar says (submitted Monday 23 Nov 2026 at 16:00 in China)."""
    await load(sessions)
    overrides = dict([override]) if override else {}
    async with transaction(sessions) as session:
        for day, working in overrides.items():
            await session.execute(text(
                "INSERT INTO calendar_override (community_id, day, working) "
                "SELECT id, :day, :working FROM community"), {"day": day, "working": working})
    new = NewRequest(category=category, description="路灯不亮", point=IN_B1)
    async with transaction(sessions) as session:  # the default limits: working days
        done = await submit_request(session, new, now=NOW, tuning=Tuning(due_hours={}))
    assert done.row is not None
    expected = due_at(category, NOW, due_limits(), WorkCalendar(overrides)).at
    assert done.row.due_at == expected
    async with sessions() as session:
        stored = (await session.execute(text("SELECT due_at FROM service_request"))).scalar_one()
    assert stored == expected
