"""The lists that grew with the city (issue #14, point 5), checked by plan on small data
(tests/plans.py: sequential scans disabled, so an index scan proves the index applies);
benchmarks/city_reads.py measures them at 1x and 10x of the benchmark city."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import psycopg
from sqlalchemy import event, select, text
from sqlmodel import col

from benchmarks import city_history, stewards, synthetic_city
from domain.access import Territories, Viewer
from domain.infra.paging import count_rows
from domain.organisation.notice_board import notice_board
from domain.organisation.suggestions import group_suggestions
from domain.requests.models import ServiceRequest
from domain.requests.queries import RequestFilter, list_requests
from domain.spatial.directory import Scope, _search_clause, list_members
from domain.spatial.models import Building, Member
from domain.spatial.tiles import vector_tile
from domain.visibility import Kind, visible_clause
from tests.factories import load
from tests.plans import explained_scans, indexes_reading
from tests.schema.test_n_plus_one import counting

COMMUNITY_ADMIN = Viewer(account_id=1, territories=Territories(community_ids=frozenset({1})),
                         communities=frozenset({1}))


async def test_building_search_reads_every_arm_through_a_trigram_index(sessions: Any) -> None:
    """address, name and code ILIKE '%…%' and the normalised address: a bitmap index scan
    each (migration 0019), never a read of every building."""
    await load(sessions)
    async with sessions() as session:
        scans = await explained_scans(session, lambda s: s.execute(
            select(col(Building.id)).where(_search_clause("船山路63号"))))
        assert indexes_reading(scans, "building") == {
            "building_address_gin", "building_name_gin", "building_code_gin",
            "building_address_key_gin"}, scans
        await session.rollback()


def _nodes(plan: dict[str, Any]) -> Iterator[dict[str, Any]]:
    yield plan
    for child in plan.get("Plans", []):
        yield from _nodes(child)


def _small_city(database_url: str) -> None:
    """Twenty communities of 50 grids, 10,000 buildings, a steward a group and a worker a grid
    (the benchmark's generator), analysed: enough for the planner to tell a community from
    the city."""
    conninfo = database_url.replace("postgresql+psycopg://", "postgresql://", 1)
    with psycopg.connect(conninfo) as conn:
        synthetic_city.fill(conn, synthetic_city.CityLayout.plan(1000, 10_000))
        stewards.insert_members(conn, per_group=1)
        conn.commit()
        conn.execute("ANALYZE")


async def test_a_territory_s_members_are_an_index_range_of_their_communities(
        sessions: Any, database_url: str) -> None:
    """Staff of a community see the members of its grids' groups, buildings and grid work:
    kept per community in member_community (migration 0022) and read from it by index (its
    (community_id, member_id) key, or by member_id for the members in id order: the
    planner's choice), never through the grids' buildings and groups (or hashing every
    building and group of the city)."""
    _small_city(database_url)
    async with sessions() as session:
        stmt = select(col(Member.id)).where(
            visible_clause(COMMUNITY_ADMIN, Kind.MEMBER, Member)).order_by(
            col(Member.id)).limit(51)
        connection = await session.connection()
        compiled = stmt.compile(dialect=connection.dialect)
        result = await connection.exec_driver_sql(
            "EXPLAIN (FORMAT JSON) " + str(compiled), compiled.params)
        nodes = list(_nodes(result.scalar_one()[0]["Plan"]))
        await session.rollback()
    reads = [n for n in nodes if n.get("Relation Name") == "member_community"]
    assert reads and all(n["Node Type"] in ("Index Scan", "Index Only Scan") for n in reads), \
        reads
    assert not [n for n in nodes if n.get("Relation Name") in ("building", "building_group")]


async def test_open_requests_tiles_read_only_open_requests_by_place(sessions: Any) -> None:
    """The open_requests tile finds its requests through the partial GiST index of open
    requests' locations (migration 0019), not by intersecting the box with every open request
    of the city."""
    await load(sessions)
    async with sessions() as session:
        scans = await explained_scans(session, lambda s: vector_tile(
            s, layer="open_requests", z=15, x=26780, y=14000, viewer=Viewer(admin=True)))
        assert indexes_reading(scans, "service_request") == {
            "service_request_open_location_idx"}, scans
        await session.rollback()


async def test_a_community_s_group_suggestions_count_only_its_members(
        sessions: Any, database_url: str, engine: Any) -> None:
    """groupSuggestions for one community counts the party members of its buildings, found
    through the member's building_id index, not every member of the city."""
    _small_city(database_url)
    async with sessions() as session:
        nodes = await _plan_of_last(engine, session, lambda s: group_suggestions(
            s, viewer=Viewer(admin=True), community_id=1))
    reads = [n for n in nodes if n.get("Relation Name") == "member"]
    assert reads and all("building_id" in n.get("Index Cond", "") for n in reads), reads


async def test_a_notice_board_looks_its_members_up_by_group_and_building(
        sessions: Any, database_url: str, engine: Any) -> None:
    """The board's people are found through member.group_id and building.group_id, never a
    read of every member."""
    _small_city(database_url)
    async with sessions() as session:
        nodes = await _plan_of_last(engine, session, lambda s: notice_board(
            s, group_id=1, now=datetime.now(UTC)))
    reads = [n for n in nodes if n.get("Relation Name") in ("member", "building")]
    assert reads and not any(n["Node Type"] == "Seq Scan" for n in reads), reads


async def _plan_of_last(engine: Any, session: Any, read: Any) -> list[dict[str, Any]]:
    """The plan nodes of the last statement `read(session)` sent (the real planner)."""
    sent: list[tuple[str, Any]] = []

    def capture(conn: Any, cursor: Any, statement: str, params: Any, *args: Any) -> None:
        sent.append((statement, params))

    event.listen(engine.sync_engine, "before_cursor_execute", capture)
    try:
        await read(session)
    finally:
        event.remove(engine.sync_engine, "before_cursor_execute", capture)
    statement, params = sent[-1]
    connection = await session.connection()
    result = await connection.exec_driver_sql("EXPLAIN (FORMAT JSON) " + statement, params)
    return list(_nodes(result.scalar_one()[0]["Plan"]))


async def test_a_community_s_member_count_reads_only_its_members(
        sessions: Any, database_url: str, engine: Any) -> None:
    """members(scope: {communityId}) is one IN over the place's group members and grid
    workers: counting it joins from those ids instead of filtering every member."""
    _small_city(database_url)

    async def count(session: Any) -> None:
        page = await list_members(session, scope=Scope(community_id=1), role=None, skill=None,
                                  status=None, first=50, after=None)
        assert page.listed is not None
        assert (await count_rows(session, page.listed)).rows == 200  # 150 stewards, 50 workers
    async with sessions() as session:
        nodes = await _plan_of_last(engine, session, count)
    # a join from the few ids, not every member tested against hashed subplans
    filters = [n.get("Filter", "") for n in nodes if n.get("Relation Name") == "member"]
    assert filters and not any("SubPlan" in f for f in filters), filters


async def test_a_community_s_requests_are_paged_as_an_index_range(sessions: Any,
                                                                  engine: Any) -> None:
    """Staff of a community page its requests through (community_id, id) (migration 0019):
    their communities are bound as values beside the visibility rule, so the page is an
    index range in id order, not a scan of every request's id."""
    await load(sessions)
    async with sessions() as session:
        await session.execute(text("SET LOCAL enable_seqscan = off"))
        nodes = await _plan_of_last(engine, session, lambda s: list_requests(
            s, viewer=COMMUNITY_ADMIN, filters=RequestFilter(scope=Scope()),
            now=datetime.now(UTC), first=50, after=1000))
        await session.rollback()
    reads = [n for n in nodes if n.get("Relation Name") == "service_request"]
    assert [n.get("Index Name") for n in reads] == ["service_request_community_page_idx"], reads
    assert "id > " in reads[0].get("Index Cond", ""), reads


async def test_a_subdistrict_s_requests_are_paged_community_by_community(
        sessions: Any, engine: Any, database_url: str) -> None:
    """Staff of several communities page their requests by a LATERAL per community through
    (community_id, id), merged by id: every page in id order, none lost or repeated, the same
    requests as the visibility rule gives."""
    _small_city(database_url)
    conninfo = database_url.replace("postgresql+psycopg://", "postgresql://", 1)
    with psycopg.connect(conninfo) as conn:
        conn.execute(city_history.REQUESTS_IN, {**city_history.params(
            buildings=10_000, end=datetime(2026, 10, 1, tzinfo=UTC)), "lo": 1, "hi": 3000})
        conn.commit()
    staff = Viewer(account_id=1, territories=Territories(community_ids=frozenset({2, 5, 9})),
                   communities=frozenset({2, 5, 9}))
    async with sessions() as session:
        wanted = list((await session.execute(select(col(ServiceRequest.id)).where(
            visible_clause(staff, Kind.SERVICE_REQUEST, ServiceRequest)).order_by(
            col(ServiceRequest.id)))).scalars())
        seen: list[int] = []
        after = None
        with counting(engine) as sent:
            while True:
                page = await list_requests(session, viewer=staff, filters=RequestFilter(
                    scope=Scope()), now=datetime.now(UTC), first=7, after=after)
                seen += [r.id for r in page.items if r.id is not None]
                if not page.has_next:
                    break
                after = seen[-1]
    assert len(wanted) > 100 and seen == wanted
    assert all("LATERAL" in statement for statement in sent), sent[0]
