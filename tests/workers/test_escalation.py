"""Decline chains, accept timeouts and escalation, driven through the domain functions the
actors and the sweep call, on an explicit clock."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import text

from domain.access import Viewer
from domain.infra.db import transaction
from domain.requests.actions import accept_request, decline_request
from domain.requests.dispatch import Outcome
from domain.requests.sweep import SweepResult, sweep
from tests.requests_factory import TIMEOUT, community_with_stewards, dispatch_request
from tests.workers.conftest import add_grid_worker, submit

T0 = datetime(2026, 11, 23, 8, tzinfo=UTC)
STALE = timedelta(seconds=30)


async def _dispatch(sessions: Any, request_id: int, at: datetime) -> Outcome:
    async with transaction(sessions) as session:
        return await dispatch_request(session, request_id=request_id, now=at,
                                      accept_timeout=TIMEOUT)


async def _decline(sessions: Any, request_id: int, member_id: int, at: datetime) -> None:
    async with transaction(sessions) as session:
        await decline_request(session, request_id=request_id, viewer=Viewer(member_id=member_id),
                              reason="在外地，无法上门", now=at)


async def _sweep(sessions: Any, at: datetime) -> SweepResult:
    async with transaction(sessions) as session:
        return await sweep(session, now=at, accept_timeout=TIMEOUT, stale_after=STALE)


async def _request(sessions: Any, request_id: int) -> Any:
    async with sessions() as session:
        return (await session.execute(text(
            "SELECT status, escalation_level, overdue, assignee_id, accept_deadline "
            "FROM service_request WHERE id = :id"), {"id": request_id})).one()


async def _notices(sessions: Any, request_id: int, kind: str) -> list[str]:
    async with sessions() as session:
        rows = await session.execute(text(
            "SELECT recipient FROM outbound_message WHERE request_id = :id AND kind = :kind "
            "ORDER BY id"), {"id": request_id, "kind": kind})
        return [r.recipient for r in rows]


async def test_declines_walk_the_group_then_rise_to_grid_then_community(sessions: Any) -> None:
    stewards = await community_with_stewards(sessions, 3)
    grid_worker = await add_grid_worker(sessions)
    (request_id,) = await submit(sessions, 1, now=T0)
    offered: list[int] = []
    at = T0
    for _ in stewards:
        outcome = await _dispatch(sessions, request_id, at)
        assert outcome.action == "DISPATCHED" and outcome.member_id is not None
        assert outcome.member_id not in offered
        offered.append(outcome.member_id)
        at += timedelta(minutes=1)
        await _decline(sessions, request_id, outcome.member_id, at)
    assert sorted(offered) == sorted(stewards)
    assert len(await _notices(sessions, request_id, "DISPATCH_NOTICE")) == 3

    outcome = await _dispatch(sessions, request_id, at)
    assert (outcome.action, outcome.level) == ("ESCALATED", 1)
    row = await _request(sessions, request_id)
    assert (row.status, row.escalation_level, row.accept_deadline) == (
        "SUBMITTED", 1, at + TIMEOUT)
    assert await _notices(sessions, request_id, "ESCALATION_NOTICE") == ["13700000001"]
    assert (await _dispatch(sessions, request_id, at)).action == "NOOP"
    assert grid_worker not in offered

    await _sweep(sessions, at + TIMEOUT - timedelta(seconds=1))
    assert (await _request(sessions, request_id)).escalation_level == 1
    result = await _sweep(sessions, at + TIMEOUT + timedelta(seconds=1))
    assert result.escalated == 1 and request_id not in result.to_dispatch
    row = await _request(sessions, request_id)
    assert (row.status, row.escalation_level, row.accept_deadline) == ("SUBMITTED", 2, None)
    assert await _notices(sessions, request_id, "ESCALATION_NOTICE") == [
        "13700000001", "admins:C1"]


async def test_an_accept_timeout_goes_to_the_next_member_never_back(sessions: Any) -> None:
    stewards = await community_with_stewards(sessions, 2)
    (request_id,) = await submit(sessions, 1, now=T0)
    first = (await _dispatch(sessions, request_id, T0)).member_id

    assert (await _sweep(sessions, T0 + TIMEOUT - timedelta(seconds=1))).timed_out == 0
    result = await _sweep(sessions, T0 + TIMEOUT + timedelta(seconds=1))
    assert (result.timed_out, result.to_dispatch) == (1, [request_id])
    row = await _request(sessions, request_id)
    assert (row.status, row.assignee_id, row.accept_deadline) == ("SUBMITTED", None, None)

    later = T0 + TIMEOUT + timedelta(seconds=2)
    second = (await _dispatch(sessions, request_id, later)).member_id
    assert {first, second} == set(stewards)
    result = await _sweep(sessions, later + TIMEOUT + timedelta(seconds=1))
    assert result.timed_out == 1
    end = later + TIMEOUT + timedelta(seconds=2)
    outcome = await _dispatch(sessions, request_id, end)
    assert (outcome.action, outcome.level) == ("ESCALATED", 2)  # no grid worker in G1


async def test_an_overdue_request_rises_one_level_once(sessions: Any) -> None:
    await community_with_stewards(sessions, 1)
    await add_grid_worker(sessions)
    (request_id,) = await submit(sessions, 1, now=T0, category="ASSISTANCE")  # due in 24 h
    member = (await _dispatch(sessions, request_id, T0)).member_id
    async with transaction(sessions) as session:
        await accept_request(session, request_id=request_id, viewer=Viewer(member_id=member),
                             now=T0)
    due = T0 + timedelta(hours=24)

    assert (await _sweep(sessions, due - timedelta(seconds=1))).escalated == 0
    assert (await _sweep(sessions, due + timedelta(seconds=1))).escalated == 1
    row = await _request(sessions, request_id)
    assert (row.status, row.escalation_level, row.overdue, row.assignee_id) == (
        "ACCEPTED", 1, True, member)
    assert await _notices(sessions, request_id, "ESCALATION_NOTICE") == ["13700000001"]
    assert (await _sweep(sessions, due + timedelta(minutes=1))).escalated == 0


async def test_an_overdue_grid_level_request_rises_to_the_community(sessions: Any) -> None:
    await load_community_without_stewards(sessions)
    await add_grid_worker(sessions)
    (request_id,) = await submit(sessions, 1, now=T0, category="EMERGENCY")
    assert (await _dispatch(sessions, request_id, T0)).level == 1
    due = T0 + timedelta(hours=4)
    # the grid timeout fires first (30 min), so keep the grid deadline out of the way
    async with transaction(sessions) as session:
        await session.execute(text("UPDATE service_request SET accept_deadline = :later"),
                              {"later": due + timedelta(days=1)})
    assert (await _sweep(sessions, due + timedelta(seconds=1))).escalated == 1
    row = await _request(sessions, request_id)
    assert (row.escalation_level, row.overdue) == (2, True)
    assert (await _notices(sessions, request_id, "ESCALATION_NOTICE"))[-1] == "admins:C1"


async def load_community_without_stewards(sessions: Any) -> None:
    """The two-grid community with nobody in group L1."""
    await community_with_stewards(sessions, 0)
