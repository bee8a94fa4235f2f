"""The live feed's rules: who receives an event, what a scope takes, loading one event."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import text

from domain.access import Viewer
from domain.requests.feed import FeedRow, in_scope, load_event, visible_to
from domain.requests.models import RequestEvent, ServiceRequest
from domain.spatial.directory import Scope
from tests.requests_factory import community_with_stewards, completed_request

ASSIGNEE, NAMED, OTHER = 7, 8, 9


def _row(*, assignee: int | None = ASSIGNEE, named: int | None = None, grid: int | None = 1,
         group: int | None = 10, community: int | None = 100) -> FeedRow:
    now = datetime.now(UTC)
    request = ServiceRequest(id=1, number="GS1", category="MAINTENANCE", description="灯",
                             status="DISPATCHED", submitted_at=now,
                             due_at=now + timedelta(hours=4), updated_at=now,
                             assignee_id=assignee, grid_id=grid, group_id=group,
                             community_id=community)
    event = RequestEvent(id=5, request_id=1, at=now, kind="DECLINED", member_id=named)
    return FeedRow(event=event, request=request)


@pytest.mark.parametrize(("viewer", "expected"), [
    (Viewer(admin=True), True),
    (Viewer(), False),
    (Viewer(member_id=ASSIGNEE), True),
    (Viewer(member_id=OTHER), False),
    (Viewer(member_id=OTHER, grid_ids=frozenset({1})), True),
    (Viewer(member_id=OTHER, grid_ids=frozenset({2})), False),
])
def test_who_receives_an_event(viewer: Viewer, expected: bool) -> None:
    assert visible_to(viewer, _row()) is expected


def test_a_member_named_by_the_event_receives_it_after_losing_the_request() -> None:
    declined = _row(assignee=None, named=NAMED)
    assert visible_to(Viewer(member_id=NAMED), declined)
    assert not visible_to(Viewer(member_id=ASSIGNEE), declined)


def test_requests_without_a_grid_are_for_administrators_and_assignees() -> None:
    row = _row(grid=None)
    assert not visible_to(Viewer(member_id=OTHER, grid_ids=frozenset({1})), row)
    assert visible_to(Viewer(member_id=ASSIGNEE), row)


@pytest.mark.parametrize(("scope", "expected"), [
    (Scope(), True),
    (Scope(member_id=ASSIGNEE), True),
    (Scope(member_id=OTHER), False),
    (Scope(building_group_id=10), True),
    (Scope(building_group_id=11), False),
    (Scope(grid_id=1), True),
    (Scope(grid_id=2), False),
    (Scope(community_id=100), True),
    (Scope(community_id=101), False),
])
def test_scope(scope: Scope, expected: bool) -> None:
    assert in_scope(scope, _row()) is expected


def test_a_scope_does_not_take_requests_missing_what_it_names() -> None:
    assert not in_scope(Scope(grid_id=1), _row(grid=None))
    assert not in_scope(Scope(member_id=ASSIGNEE), _row(assignee=None))


async def test_load_event_reads_the_event_with_its_request_afresh(sessions: Any,
                                                                  session: Any) -> None:
    await community_with_stewards(sessions)
    request_id, member = await completed_request(sessions, at=datetime.now(UTC))
    last = (await session.execute(text("SELECT max(id) FROM request_event"))).scalar_one()
    row = await load_event(session, event_id=last)
    assert row is not None
    assert (row.event.kind, row.request.id, row.request.status) == ("COMPLETED", request_id,
                                                                    "COMPLETED")
    assert row.request.assignee_id == member
    async with sessions() as other:
        await other.execute(text("UPDATE service_request SET status = 'CLOSED'"))
        await other.commit()
    again = await load_event(session, event_id=last)
    assert again is not None and again.request.status == "CLOSED"
    assert await load_event(session, event_id=last + 1) is None
