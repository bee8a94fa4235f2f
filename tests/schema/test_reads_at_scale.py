"""The reads that broke at a larger city (issue #9, point 8), checked by plan and row count on
small data: what the planner can do, and how much one answer may hold, not how fast it is
(benchmarks/city_reads.py measures that on a generated city).

The plan checks disable sequential scans in their transaction (tests/plans.py), so that a
scan on the index proves the index applies to the read's filter, which a Seq Scan on these
few rows would hide."""

from __future__ import annotations

import functools
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import text

from domain.access import Viewer
from domain.calendar import ZONE
from domain.infra.db import transaction
from domain.requests.queries import exact_request_stats, request_stats
from domain.spatial.directory import BBox, Scope
from domain.spatial.map_layers import MAX_FEATURES, map_features
from schema.common.ids import encode_id
from tests.factories import X0, Y0, load
from tests.plans import explained_scans, indexes_reading
from tests.requests_factory import community_with_stewards

ADMIN = Viewer(admin=True)
NOW = datetime(2026, 11, 15, tzinfo=UTC)
EVERYWHERE = BBox(X0 - 0.01, Y0 - 0.01, X0 + 0.03, Y0 + 0.02)
MAP = """query ($b: BBoxInput!) { mapFeatures(bbox: $b, layers: [BUILDINGS, GRIDS]) }"""


async def test_request_stats_read_handed_events_by_time_in_a_join(sessions: Any) -> None:
    """`dispatched` from the raw rows (members, grids, groups) reads the window's
    handing-over events through their partial index, in a join: never a SubPlan that runs
    again for every request row."""
    await load(sessions)
    async with sessions() as session:
        for scope in (Scope(), Scope(community_id=1)):
            scans = await explained_scans(session, functools.partial(
                exact_request_stats, viewer=ADMIN, scope=scope,
                since=NOW - timedelta(days=365),
                until=NOW, now=NOW))
            events = [scan for scan in scans if scan.relation == "request_event"]
            assert events and not any(scan.per_row for scan in events), scans
            if scope == Scope():
                assert indexes_reading(scans, "request_event") == {
                    "request_event_handed_at_idx"}, scans
        await session.rollback()


async def test_request_stats_from_roll_ups_read_raw_rows_only_by_index(sessions: Any) -> None:
    """The city's and a community's figures read the roll-ups, and raw rows only through
    indexes bounded by time: the requests not yet due, and for a window that does not start
    and end on an hour, its edges (submitted, completed, handed over: each edge event's
    request by its key, and its other events by theirs)."""
    await load(sessions)
    bounded = {"request_due_idx", "request_submitted_at_idx", "request_done_at_idx",
               "request_event_handed_at_idx", "ix_request_event_request_id",
               "service_request_pkey",
               # a community's requests (migration 0019), which the planner may AND with the
               # time indexes above when sequential scans are off
               "service_request_community_page_idx"}
    async with sessions() as session:
        for scope in (Scope(), Scope(community_id=1)):
            for since, until in ((NOW - timedelta(days=365), NOW),
                                 (NOW - timedelta(days=30, minutes=7), NOW - timedelta(
                                     minutes=3))):
                scans = await explained_scans(session, functools.partial(
                    request_stats, viewer=ADMIN, scope=scope, since=since, until=until,
                    now=NOW))
                assert any(scan.relation == "request_rollup" for scan in scans), scans
                raw = {scan.index for scan in scans
                       if scan.relation in ("service_request", "request_event")}
                assert raw and raw <= bounded, scans
        await session.rollback()


async def test_building_layer_filters_by_box_through_an_index(sessions: Any) -> None:
    await load(sessions)
    async with sessions() as session:
        scans = await explained_scans(session, lambda s: map_features(
            s, bbox=EVERYWHERE, layers=["BUILDINGS"], viewer=ADMIN))
        assert indexes_reading(scans, "building") == {"building_shape_idx"}, scans
        await session.rollback()


async def _more_buildings(sessions: Any, count: int, start: int = 0) -> None:
    """`count` point-only buildings in grid G1, numbered from `start` + 1, set-based."""
    async with transaction(sessions) as session:
        await session.execute(text("""
            INSERT INTO building (code, address, address_key, location, grid_id)
            SELECT 'X' || (n + :start), '测试路' || (n + :start) || '号',
                   '测试路' || (n + :start) || '号',
                   ST_SetSRID(ST_MakePoint(:x + 0.001 + (n % 90) * 0.0001,
                                           :y + 0.001 + (n / 90) * 0.0001), 4326),
                   (SELECT id FROM grid WHERE code = 'G1')
            FROM generate_series(1, :n) AS n"""), {"n": count, "x": X0, "y": Y0, "start": start})


async def test_map_features_past_the_cap_is_a_clear_error(api: Any, sessions: Any) -> None:
    await load(sessions)
    box = {"west": X0, "south": Y0, "east": X0 + 0.02, "north": Y0 + 0.01}
    await _more_buildings(sessions, MAX_FEATURES - 4)  # with B1, B2 and two grids: the cap
    full = await api.data(MAP, {"b": box})
    assert len(full["mapFeatures"]["features"]) == MAX_FEATURES
    await _more_buildings(sessions, 1, start=MAX_FEATURES)
    result = await api.run(MAP, {"b": box})
    assert result.data is None
    error = result.errors[0]
    assert (error.extensions["code"], error.extensions["field"]) == ("TOO_MANY_FEATURES", "bbox")
    assert "/tiles/" in error.message and "narrow the box" in error.message


ASSESS = """query ($p: String!, $first: Int, $after: ID) {
  assessments(period: $p, first: $first, after: $after) { member { id } } }"""


async def test_assessments_come_in_pages(api: Any, sessions: Any) -> None:
    """A city's snapshot is read a page at a time (it was every member at once: a worker grew
    to 21.7 GB); the pages follow each other without gaps or repeats."""
    members = await community_with_stewards(sessions, stewards=5)
    period = f"{NOW.astimezone(ZONE):%Y-%m}"
    seen, after, pages = [], None, 0
    while True:
        page = (await api.data(ASSESS, {"p": period, "first": 2, "after": after})
                )["assessments"]
        pages += 1
        seen += [entry["member"]["id"] for entry in page]
        if len(page) < 2:
            break
        after = page[-1]["member"]["id"]
    assert pages == 3
    assert seen == [encode_id("Member", m) for m in sorted(members)]
    wrong = await api.run(ASSESS, {"p": period, "after": encode_id("Grid", 1)})
    assert wrong.errors[0].extensions["field"] == "after"
