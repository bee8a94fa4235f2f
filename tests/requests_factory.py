"""Factories for service requests: members who can serve, and requests driven through the
real state machine (submit → dispatch → accept → start → complete) at chosen times."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from domain.access import Viewer
from domain.infra.db import transaction
from domain.requests.actions import accept_request, complete_request, start_request
from domain.requests.dispatch import Outcome, dispatch_batch
from domain.requests.policy import DEFAULT_DUE_HOURS
from domain.requests.submit import NewRequest, Tuning, submit_request
from tests.factories import X0, Y0, load

TUNING = Tuning(due_hours=dict(DEFAULT_DUE_HOURS))
TIMEOUT = timedelta(minutes=30)
B1_POINT = (X0 + 0.0051, Y0 + 0.0051)  # inside building B1 (group L1, grid G1)


async def dispatch_request(session: AsyncSession, *, request_id: int, now: datetime,
                           accept_timeout: timedelta = TIMEOUT) -> Outcome:
    """Dispatch or escalate one request alone, as a worker's batch of one would."""
    outcomes = await dispatch_batch(session, request_ids=[request_id], now=now,
                                    accept_timeout=accept_timeout, extra=0)
    return outcomes.get(request_id, Outcome("NOOP"))


async def community_with_stewards(sessions: Any, stewards: int = 2) -> list[int]:
    """The two-grid community and `stewards` ACTIVE maintenance stewards in group L1;
    returns their member ids."""
    await load(sessions)
    async with transaction(sessions) as session:
        rows = await session.execute(text("""
            INSERT INTO member (name, phone, party_member, roles, skills, status, group_id,
                                building_id)
            SELECT '管家' || n, '1380000000' || n, true, ARRAY['STEWARD'],
                   ARRAY['MAINTENANCE', 'ASSISTANCE'], 'ACTIVE',
                   (SELECT id FROM building_group WHERE code = 'L1'),
                   (SELECT id FROM building WHERE code = 'B1')
            FROM generate_series(1, :n) n RETURNING id"""), {"n": stewards})
        return [int(r.id) for r in rows]


async def completed_request(sessions: Any, *, at: datetime, phone: str | None = "13912345678",
                            on_time: bool = True) -> tuple[int, int]:
    """A MAINTENANCE request completed at `at` (late when not `on_time`); returns
    (request id, the member who completed it)."""
    submitted = at - (timedelta(hours=1) if on_time else timedelta(days=5))
    async with transaction(sessions) as session:
        made = await submit_request(session, NewRequest(
            category="MAINTENANCE", description="楼道灯不亮", point=B1_POINT,
            contact_phone=phone), now=submitted, tuning=TUNING)
    async with transaction(sessions) as session:
        outcome = await dispatch_request(session, request_id=made.request_id, now=submitted,
                                         accept_timeout=TIMEOUT)
    member = outcome.member_id
    assert member is not None, outcome
    viewer = Viewer(member_id=member)
    for step in (accept_request, start_request):
        async with transaction(sessions) as session:
            await step(session, request_id=made.request_id, viewer=viewer, now=submitted)
    async with transaction(sessions) as session:
        await complete_request(session, request_id=made.request_id, viewer=viewer,
                               resolution="已更换灯泡", now=at)
    return made.request_id, member
