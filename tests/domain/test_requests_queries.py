"""Reading requests: figures against a small hand-built history, visibility, the overdue rule
in SQL and in Python, timelines, the outbox and the OPEN_REQUESTS map layer."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import text

from domain.access import Viewer
from domain.infra.db import transaction
from domain.requests import queries
from domain.requests.outbox import Message, write_message
from domain.requests.state import record_event
from domain.spatial.directory import BBox, Scope
from domain.spatial.map_layers import map_features
from tests.factories import X0, Y0, load

T0 = datetime(2026, 11, 1, tzinfo=UTC)
NOW = T0 + timedelta(days=15)
WINDOW = {"since": T0, "until": T0 + timedelta(days=14)}
ADMIN = Viewer(admin=True)
EVERYWHERE = BBox(X0 - 0.01, Y0 - 0.01, X0 + 0.03, Y0 + 0.02)
POINTS = {"G1": (X0 + 0.0051, Y0 + 0.0051), "G2": (X0 + 0.015, Y0 + 0.005)}
DAY = timedelta(days=1)
#: key: category, grid, submitted, hours allowed, status, completed, events (kind, from, at)
HISTORY: dict[str, tuple[Any, ...]] = {
    "A": ("MAINTENANCE", "G1", T0 + DAY, 72, "COMPLETED", T0 + 2 * DAY,
          [("DISPATCHED", "SUBMITTED", T0 + DAY)]),
    "B": ("EMERGENCY", "G1", T0 + 3 * DAY, 4, "IN_PROGRESS", None,
          [("ACCEPTED", "SUBMITTED", T0 + 3 * DAY)]),            # a grid worker took it
    "C": ("CULTURE", "G2", T0 + 5 * DAY, 168, "COMPLETED", T0 + 13 * DAY,  # a day late
          [("DISPATCHED", "SUBMITTED", T0 + 5 * DAY)]),
    "D": ("MAINTENANCE", "G2", T0 - 5 * DAY, 72, "DISPATCHED", None,       # before the window
          [("DISPATCHED", "SUBMITTED", T0 + DAY)]),
    "E": ("ASSISTANCE", "G1", T0 + 6 * DAY, 24, "CANCELLED", None, []),
    "F": ("MAINTENANCE", "G1", T0 + 20 * DAY, 72, "SUBMITTED", None, []),   # after it
}


async def _add(session: Any, key: str, grids: dict[str, int], member: int) -> int:
    category, grid, submitted, hours, status, completed, events = HISTORY[key]
    lon, lat = POINTS[grid]
    request_id = (await session.execute(text("""
        INSERT INTO service_request (number, category, description, status, location, grid_id,
            community_id, submitted_at, updated_at, due_at, completed_at, assignee_id)
        VALUES (:number, :category, '需要帮助', :status, ST_SetSRID(ST_MakePoint(:lon, :lat),
            4326), :grid, (SELECT community_id FROM grid WHERE id = :grid), :submitted,
            :submitted, :due, :completed, :assignee) RETURNING id"""), {
        "number": f"T-{key}", "category": category, "status": status, "lon": lon, "lat": lat,
        "grid": grids[grid], "submitted": submitted, "due": submitted + timedelta(hours=hours),
        "completed": completed, "assignee": member if key == "B" else None})).scalar_one()
    for kind, before, at in events:
        await record_event(session, request_id=request_id, kind=kind, now=at, actor="test",
                           from_status=before)
    return int(request_id)


@pytest.fixture
async def history(sessions: Any) -> dict[str, int]:
    await load(sessions)
    async with transaction(sessions) as session:
        rows = (await session.execute(text("SELECT code, id FROM grid"))).all()
        grids: dict[str, int] = {code: grid_id for code, grid_id in rows}
        member = (await session.execute(text(
            "INSERT INTO member (name, party_member, roles, skills, status) VALUES "
            "('甲', true, '{STEWARD}', '{}', 'ACTIVE') RETURNING id"))).scalar_one()
        ids = {key: await _add(session, key, grids, member) for key in HISTORY}
    return {**ids, "member": member, **grids}


async def _stats(session: Any, viewer: Viewer = ADMIN, *, scope: Scope | None = None,
                 window: dict[str, datetime] | None = None) -> tuple[int, ...]:
    window = window or {}
    stats = await queries.request_stats(session, viewer=viewer, scope=scope or Scope(),
                                        since=window.get("since"), until=window.get("until"),
                                        now=NOW)
    return stats.submitted, stats.dispatched, stats.completed, stats.overdue


async def test_stats_in_a_window(session: Any, history: dict[str, int]) -> None:
    assert await _stats(session, window=WINDOW) == (4, 4, 2, 2)
    stats = await queries.request_stats(session, viewer=ADMIN, scope=Scope(), now=NOW,
                                        **WINDOW)
    assert stats.by_category == {"MAINTENANCE": 1, "ASSISTANCE": 1, "CONSULTATION": 0,
                                 "CULTURE": 1, "EMERGENCY": 1, "MEDIATION": 0}


async def test_stats_without_a_window(session: Any, history: dict[str, int]) -> None:
    assert await _stats(session) == (6, 4, 2, 3)


async def test_stats_narrowed_by_scope_and_viewer(session: Any,
                                                  history: dict[str, int]) -> None:
    assert await _stats(session, scope=Scope(grid_id=history["G2"]), window=WINDOW) == (1, 2, 1, 1)
    worker = Viewer(member_id=999, grid_ids=frozenset({history["G1"]}))
    assert await _stats(session, worker) == (4, 2, 1, 1)
    assert await _stats(session, Viewer(member_id=history["member"])) == (1, 1, 0, 1)
    assert await _stats(session, Viewer(member_id=12345)) == (0, 0, 0, 0)


async def _listed(session: Any, viewer: Viewer = ADMIN, **filters: Any) -> list[str]:
    page = await queries.list_requests(session, viewer=viewer,
                                       filters=queries.RequestFilter(**filters), now=NOW,
                                       first=50, after=None)
    return [row.number for row in page.items]


async def test_the_overdue_rule_is_the_same_in_sql_and_python(session: Any,
                                                              history: dict[str, int]) -> None:
    page = await queries.list_requests(session, viewer=ADMIN, filters=queries.RequestFilter(),
                                       now=NOW, first=50, after=None)
    late = {row.number for row in page.items if queries.is_overdue(row, NOW)}
    assert late == {"T-B", "T-C", "T-D"}
    assert set(await _listed(session, overdue=True)) == late
    assert set(await _listed(session, overdue=False)) == {"T-A", "T-E", "T-F"}


async def test_filters_combine(session: Any, history: dict[str, int]) -> None:
    assert await _listed(session, statuses=["COMPLETED"], category="CULTURE") == ["T-C"]
    assert await _listed(session, scope=Scope(community_id=999)) == []
    assert await _listed(session, bbox=BBox(X0 + 0.01, Y0, X0 + 0.02, Y0 + 0.01)) == [
        "T-C", "T-D"]
    worker = Viewer(member_id=999, grid_ids=frozenset({history["G2"]}))
    assert await _listed(session, worker, statuses=["DISPATCHED", "SUBMITTED"]) == ["T-D"]


async def test_timeline_in_the_order_it_was_written(session: Any,
                                                    history: dict[str, int]) -> None:
    async with session.begin():
        await record_event(session, request_id=history["B"], kind="STARTED", actor="test",
                           now=T0)  # an earlier clock on another machine
    (events,) = await queries.events_of(session, [history["B"]])
    assert [e.kind for e in events] == ["ACCEPTED", "STARTED"]
    assert await queries.events_of(session, [history["F"]]) == [[]]


async def test_outbox_filters_and_pages(session: Any, history: dict[str, int]) -> None:
    async with session.begin():
        for i, (kind, key) in enumerate([("DISPATCH_NOTICE", "A"), ("ESCALATION_NOTICE", "B"),
                                         ("DISPATCH_NOTICE", "C")]):
            await write_message(session, Message(recipient="13800000001", kind=kind,
                                                 body="…", dedupe_key=f"k{i}",
                                                 request_id=history[key]))
    rows = await queries.list_messages(session, request_id=None, kind="DISPATCH_NOTICE",
                                       first=1, after=None)
    assert [r.request_id for r in rows] == [history["A"]]
    rows = await queries.list_messages(session, request_id=None, kind="DISPATCH_NOTICE",
                                       first=5, after=rows[0].id)
    assert [r.request_id for r in rows] == [history["C"]]
    rows = await queries.list_messages(session, request_id=history["B"], kind=None, first=5,
                                       after=None)
    assert [r.kind for r in rows] == ["ESCALATION_NOTICE"]


async def _layer(session: Any, viewer: Viewer | None) -> dict[str, Any]:
    found = await map_features(session, bbox=EVERYWHERE, layers=["OPEN_REQUESTS"],
                               viewer=viewer)
    return {f["properties"]["number"]: f for f in found["features"]}


async def test_open_requests_layer_shows_what_the_viewer_may_see(
        session: Any, history: dict[str, int]) -> None:
    everything = await _layer(session, ADMIN)
    assert sorted(everything) == ["T-B", "T-D", "T-F"]  # open ones only
    b = everything["T-B"]
    assert b["geometry"]["type"] == "Point" and b["properties"]["label"] == "T-B 应急处理"
    assert (b["properties"]["layer"], b["properties"]["kind"], b["properties"]["id"]) == (
        "open_requests", "ServiceRequest", history["B"])
    assert b["properties"]["overdue"] is True and b["properties"]["status"] == "IN_PROGRESS"
    worker = Viewer(member_id=999, grid_ids=frozenset({history["G1"]}))
    assert sorted(await _layer(session, worker)) == ["T-B", "T-F"]
    assert sorted(await _layer(session, Viewer(member_id=history["member"]))) == ["T-B"]
    assert await _layer(session, None) == {}


async def test_open_requests_beside_other_layers(session: Any, history: dict[str, int]) -> None:
    found = await map_features(session, bbox=BBox(X0 + 0.01, Y0, X0 + 0.02, Y0 + 0.01),
                               layers=["GRIDS", "OPEN_REQUESTS"], viewer=ADMIN)
    assert sorted((f["properties"]["layer"], f["properties"]["label"])
                  for f in found["features"]) == [("grids", "第一网格"), ("grids", "第二网格"),
                                                   ("open_requests", "T-D 维修维护")]
