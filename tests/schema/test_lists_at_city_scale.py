"""The lists that grew with the city (issue #14, point 5), checked by plan on small data
(tests/plans.py: sequential scans disabled, so an index scan proves the index applies);
benchmarks/city_reads.py measures them at 1x and 10x of the benchmark city."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import psycopg
from sqlalchemy import select
from sqlmodel import col

from benchmarks import stewards, synthetic_city
from domain.access import Territories, Viewer
from domain.spatial.directory import _search_clause
from domain.spatial.models import Building, Member
from domain.spatial.tiles import vector_tile
from domain.visibility import Kind, visible_clause
from tests.factories import load
from tests.plans import explained_scans, indexes_reading

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


async def test_a_territory_s_members_reach_its_buildings_by_grid(sessions: Any,
                                                                 database_url: str) -> None:
    """Staff of a community see the members of its grids' groups and buildings: the planner
    knows the territory is a few grids and looks their buildings and groups up by grid_id
    (an Index Cond per grid), rather than hashing every building and group of the city."""
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
    for table in ("building", "building_group"):
        reads = [n for n in nodes if n.get("Relation Name") == table]
        assert reads and all("grid_id" in n.get("Index Cond", "") for n in reads), reads


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
