"""Reading the spatial hierarchy: filtered, paged lists and batched look-ups by id.

The batched look-ups (`*_by_ids`, `*_by_parent`) are what the GraphQL DataLoaders call, so a
nested query costs one statement per level, however many objects it returns; the ids travel
as one array parameter (`domain.infra.db.one_of`), so a batch may be as large as a city.
"""

from __future__ import annotations

import bisect
import contextlib
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any, TypeVar

from geoalchemy2.functions import ST_Intersects, ST_MakeEnvelope
from sqlalchemy import Integer, or_, select, text
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import SQLModel, col

from domain.access import Viewer
from domain.infra.db import one_of
from domain.infra.paging import EXACT_COUNT_LIMIT, Count, Page, fetch_page
from domain.spatial.models import (
    Building,
    BuildingGroup,
    Grid,
    GridWorker,
    Member,
    MemberCommunity,
    Subdistrict,
)
from domain.visibility import Kind, members_within, sees_all, territorial_only, visible_clause
from geo.address import address_key

M = TypeVar("M", bound=SQLModel)


@dataclass(frozen=True)
class BBox:
    """A WGS-84 box, west/south/east/north in degrees."""

    west: float
    south: float
    east: float
    north: float

    def envelope(self) -> Any:
        return ST_MakeEnvelope(self.west, self.south, self.east, self.north, 4326)


@dataclass(frozen=True)
class Scope:
    """At most one of these ids narrows a list; none means everything."""

    member_id: int | None = None
    building_group_id: int | None = None
    grid_id: int | None = None
    community_id: int | None = None


async def by_ids(session: AsyncSession, model: type[M], ids: Sequence[int]) -> list[M | None]:
    """Objects of `model` in the order of `ids`, None where an id is unknown."""
    pk = getattr(model, "id")  # noqa: B009 (typed as any table)
    rows = (await session.execute(select(model).where(one_of(pk, ids)))).scalars().all()
    found = {getattr(row, "id"): row for row in rows}  # noqa: B009
    return [found.get(i) for i in ids]


async def by_parent(session: AsyncSession, model: type[M], column: str,
                    parent_ids: Sequence[int]) -> list[list[M]]:
    """For each parent id, the `model` rows whose `column` equals it, ordered by id."""
    column_ = getattr(model, column)
    pk = getattr(model, "id")  # noqa: B009 (typed as any table)
    stmt = select(model).where(one_of(column_, parent_ids)).order_by(pk)
    grouped: dict[int, list[M]] = defaultdict(list)
    for row in (await session.execute(stmt)).scalars():
        grouped[getattr(row, column)].append(row)
    return [grouped.get(i, []) for i in parent_ids]


async def grid_workers_of(session: AsyncSession, grid_ids: Sequence[int]) -> list[list[Member]]:
    """For each grid, its grid workers."""
    stmt = (select(col(GridWorker.grid_id), Member)
            .join(Member, col(Member.id) == col(GridWorker.member_id))
            .where(one_of(col(GridWorker.grid_id), grid_ids)).order_by(col(Member.id)))
    grouped: dict[int, list[Member]] = defaultdict(list)
    for grid_id, member in (await session.execute(stmt)).all():
        grouped[grid_id].append(member)
    return [grouped.get(i, []) for i in grid_ids]


async def grid_ids_of_members(session: AsyncSession,
                              member_ids: Sequence[int]) -> list[list[int]]:
    """For each member, the grids they serve as grid worker."""
    stmt = select(col(GridWorker.member_id), col(GridWorker.grid_id)).where(
        one_of(col(GridWorker.member_id), member_ids)).order_by(col(GridWorker.grid_id))
    grouped: dict[int, list[int]] = defaultdict(list)
    for member_id, grid_id in (await session.execute(stmt)).all():
        grouped[member_id].append(grid_id)
    return [grouped.get(i, []) for i in member_ids]


async def list_subdistricts(session: AsyncSession, *, first: int, after: int | None,
                            viewer: Viewer | None = None) -> Page[Subdistrict]:
    """Subdistricts (街道) `viewer` may see (every one without a viewer), by id."""
    stmt = select(Subdistrict)
    if viewer is not None:
        stmt = stmt.where(visible_clause(viewer, Kind.SUBDISTRICT, Subdistrict))
    return await fetch_page(session, stmt, Subdistrict.id, first=first, after=after)


async def list_grids(session: AsyncSession, *, bbox: BBox | None, community_id: int | None,
                     first: int, after: int | None, viewer: Viewer | None = None) -> Page[Grid]:
    """Grids `viewer` may see (every one without a viewer), optionally inside a box or a
    community."""
    stmt = select(Grid)
    if viewer is not None:
        stmt = stmt.where(visible_clause(viewer, Kind.GRID, Grid))
    if bbox is not None:
        stmt = stmt.where(ST_Intersects(Grid.boundary, bbox.envelope()))
    if community_id is not None:
        stmt = stmt.where(col(Grid.community_id) == community_id)
    return await fetch_page(session, stmt, Grid.id, first=first, after=after)


async def list_buildings(session: AsyncSession, *, bbox: BBox | None, grid_id: int | None,
                         search: str | None, first: int, after: int | None,
                         viewer: Viewer | None = None) -> Page[Building]:
    """Buildings `viewer` may see (every one without a viewer), optionally in a box or grid,
    or whose address, name or code contains `search` (compared on the normalised address
    too, so 六十三号 finds 63号)."""
    stmt = select(Building)
    if viewer is not None:
        stmt = stmt.where(visible_clause(viewer, Kind.BUILDING, Building))
    if bbox is not None:
        stmt = stmt.where(ST_Intersects(Building.location, bbox.envelope()))
    if grid_id is not None:
        stmt = stmt.where(col(Building.grid_id) == grid_id)
    if search and search.strip():
        stmt = stmt.where(_search_clause(search.strip()))
    return await fetch_page(session, stmt, Building.id, first=first, after=after)


def _search_clause(search: str) -> Any:
    pattern = f"%{search}%"
    clauses: list[Any] = [col(Building.address).ilike(pattern), col(Building.name).ilike(pattern),
               col(Building.code).ilike(pattern)]
    with contextlib.suppress(ValueError):  # nothing left after normalising: plain search only
        clauses.append(col(Building.address_key).contains(address_key(search)))
    return or_(*clauses)


async def list_members(session: AsyncSession, *, scope: Scope, role: str | None,
                       skill: str | None, status: str | None, first: int,
                       after: int | None, viewer: Viewer | None = None) -> Page[Member]:
    """Members `viewer` may see (every one without a viewer), narrowed by scope, role, skill
    and status.

    The members of a territory (for staff of territories) or of a community (a scope) are
    rows of member_community (kept by triggers, migration 0022): unfiltered, the page's ids
    and the count are one statement over its index (`_page_of`), then the page is read by
    primary key; filtered, the list is those ids' members. Those of a grid are found once
    and bound as values (`_among`): the page and its count then read them by primary key."""
    stmt = select(Member)
    if role:
        stmt = stmt.where(col(Member.roles).contains([role]))
    if skill:
        stmt = stmt.where(col(Member.skills).contains([skill]))
    if status:
        stmt = stmt.where(col(Member.status) == status)
    bounded = _bounded(scope, viewer)
    if bounded is not None:
        ids = text(bounded[0]).bindparams(**bounded[1]).columns(member_id=Integer).subquery()
        listed = stmt.where(col(Member.id).in_(select(ids.c.member_id)))
        if not (role or skill or status):
            return replace(await _page_of(session, bounded, first=first, after=after),
                           listed=listed)
        return await fetch_page(session, listed, Member.id, first=first, after=after)
    among = await _among(session, scope, viewer)
    if among is None:
        if viewer is not None:
            stmt = stmt.where(visible_clause(viewer, Kind.MEMBER, Member))
        return await fetch_page(session, _scope_members(stmt, scope), Member.id, first=first,
                                after=after)
    counted = not (role or skill or status) and len(among) <= EXACT_COUNT_LIMIT
    page = await fetch_page(session, stmt.where(one_of(col(Member.id), among)), Member.id,
                            first=first, after=after)
    return replace(page, known=Count(len(among), exact=True)) if counted else page


def _bounded(scope: Scope, viewer: Viewer | None) -> tuple[str, dict[str, Any]] | None:
    """The ids of the members `viewer` may see within `scope` (a member once or more) as SQL
    and its parameters, when a territory or a community bounds them: rows of
    member_community. None for a narrower scope, or a caller whose rule is not a territory."""
    if scope.member_id is not None or scope.building_group_id is not None \
            or scope.grid_id is not None:
        return None
    territorial = territorial_only(viewer)
    if scope.community_id is None:
        return members_within(viewer) if territorial and viewer is not None else None
    if not (territorial or sees_all(viewer, Kind.MEMBER) or viewer is None):
        return None
    sql = ("SELECT mc.member_id FROM member_community mc WHERE mc.community_id = "
           ":scope_community AND mc.placed")
    params: dict[str, Any] = {"scope_community": scope.community_id}
    if territorial and viewer is not None:
        within, within_params = members_within(viewer)
        sql += f" AND mc.member_id IN ({within})"
        params |= within_params
    return sql, params


async def _page_of(session: AsyncSession, bounded: tuple[str, dict[str, Any]], *, first: int,
                   after: int | None) -> Page[Member]:
    """A page of the members `bounded` names, unfiltered: their ids in order as one array
    (the index-only range of each community, sorted; their count is its length), then the
    page's rows by primary key. Bound as values into the page's statement, a subdistrict's
    7,000 ids cost 22 ms of planning it, and as many again its count's."""
    sql, params = bounded
    found = (await session.execute(text(
        f"SELECT ARRAY(SELECT DISTINCT w.member_id FROM ({sql}) AS w ORDER BY 1)"),
        params)).scalar_one()
    ids: list[int] = list(found)
    start = bisect.bisect_right(ids, after) if after is not None else 0
    wanted = ids[start:start + first]
    rows = (await session.execute(select(Member).where(one_of(col(Member.id), wanted))
                                  .order_by(col(Member.id)))).scalars().all() if wanted else []
    return Page(items=list(rows), has_next=len(ids) > start + first,
                has_previous=after is not None,
                known=Count(len(ids), exact=len(ids) <= EXACT_COUNT_LIMIT))


#: The most member ids `list_members` binds as values (a grid's); a place of more is filtered
#: by its rule in each statement instead.
AMONG_LIMIT = 20_000


async def _among(session: AsyncSession, scope: Scope, viewer: Viewer | None) -> list[int] | None:
    """The ids of the members `viewer` may see within `scope` when a grid or a territory
    bounds them (at most AMONG_LIMIT, whatever the size of the city), else None."""
    if scope.grid_id is None and scope.community_id is None and not territorial_only(viewer):
        return None
    ids = select(col(Member.id))
    if viewer is not None:
        ids = ids.where(visible_clause(viewer, Kind.MEMBER, Member))
    found = list((await session.execute(_scope_members(ids, scope).limit(AMONG_LIMIT + 1)))
                 .scalars())
    return found if len(found) <= AMONG_LIMIT else None


def _scope_members(stmt: Any, scope: Scope) -> Any:
    if scope.member_id is not None:
        return stmt.where(col(Member.id) == scope.member_id)
    if scope.building_group_id is not None:
        return stmt.where(col(Member.group_id) == scope.building_group_id)
    if scope.community_id is not None:  # its group members and grid workers (kept by triggers)
        return stmt.where(col(Member.id).in_(
            select(col(MemberCommunity.member_id)).where(
                col(MemberCommunity.community_id) == scope.community_id,
                col(MemberCommunity.placed))))
    if scope.grid_id is None:
        return stmt
    grid_filter = col(BuildingGroup.grid_id) == scope.grid_id
    workers = select(col(GridWorker.member_id)).where(col(GridWorker.grid_id) == scope.grid_id)
    # One IN over a UNION (the place's group members, its grid workers): a semi-join the
    # planner drives from the few ids by index. As an OR of two INs it filtered every member
    # of the city (a count of one community's 700 members read all 280,000 at 10x: 195 ms).
    groups = select(col(BuildingGroup.id)).where(grid_filter)
    placed = select(col(Member.id)).where(col(Member.group_id).in_(groups))
    return stmt.where(col(Member.id).in_(placed.union(workers)))

