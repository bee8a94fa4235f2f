"""Boundaries that change over time: every grid keeps the versions of its boundary, each in
force over [valid_from, valid_to), never two of one grid at once (an exclusion constraint).

`updateGridBoundary` and `importFeatures` (domain.spatial.importer) write a new version from
now whenever a grid's boundary changes; buildings are then re-assigned to grids spatially and
the moved ones are named in the audit entry (and, for updateGridBoundary, in its payload).
Requests keep the grid they were located in: nothing here touches them. `cover_point_at`
answers which grid covered a point at a moment, from the versions.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from domain.access import Viewer
from domain.errors import InvalidInput
from domain.organisation import within
from domain.people.audit import record
from domain.spatial import import_sql
from domain.spatial.coverage import CoverageResult, cover_point
from domain.spatial.models import Grid

_CURRENT = text("""
    SELECT g.id AS grid_id, v.id AS version_id, v.valid_from,
           COALESCE(ST_Equals(g.boundary, v.boundary), false) AS same
    FROM grid g LEFT JOIN grid_boundary_version v ON v.grid_id = g.id AND v.valid_to IS NULL
    WHERE g.id = ANY(:ids) ORDER BY g.id""")
_CLOSE = text("UPDATE grid_boundary_version SET valid_to = :now WHERE id = :id")
_REPLACE = text("""
    UPDATE grid_boundary_version v SET boundary = g.boundary FROM grid g
    WHERE v.id = :id AND g.id = v.grid_id""")
_OPEN = text("""
    INSERT INTO grid_boundary_version (grid_id, valid_from, boundary)
    SELECT id, :now, boundary FROM grid WHERE id = :grid""")


async def record_versions(session: AsyncSession, grid_ids: Sequence[int],
                          now: datetime) -> list[int]:
    """A new version from `now` for each grid whose boundary differs from its current version
    (or that has none); the ids of the grids that got one. A version that began at `now`
    itself is corrected in place rather than followed by an empty one."""
    changed = []
    for row in await session.execute(_CURRENT, {"ids": list(grid_ids)}):
        if row.same:
            continue
        changed.append(int(row.grid_id))
        if row.version_id is not None and row.valid_from >= now:
            await session.execute(_REPLACE, {"id": row.version_id})
            continue
        if row.version_id is not None:
            await session.execute(_CLOSE, {"id": row.version_id, "now": now})
        await session.execute(_OPEN, {"grid": row.grid_id, "now": now})
    return changed


@dataclass(frozen=True)
class Moved:
    """A building whose grid changed with a boundary."""

    building_id: int
    code: str
    from_grid: int | None
    to_grid: int | None


_REASSIGN = text("""
    WITH candidates AS (
      SELECT b.id, b.grid_id AS old FROM building b
      WHERE b.grid_id IS NULL OR b.grid_id = ANY(:ids)
         OR EXISTS (SELECT 1 FROM grid g WHERE g.id = ANY(:ids)
                    AND ST_Covers(g.boundary, b.location))
      FOR UPDATE),
    assigned AS (
      UPDATE building b SET grid_id = (
        SELECT g.id FROM grid g WHERE ST_Covers(g.boundary, b.location) ORDER BY g.id LIMIT 1)
      FROM candidates c WHERE b.id = c.id
      RETURNING b.id, b.code, c.old, b.grid_id AS new)
    SELECT id, code, old, new FROM assigned WHERE old IS DISTINCT FROM new ORDER BY code""")


async def reassign_buildings(session: AsyncSession, grid_ids: Sequence[int]) -> list[Moved]:
    """Recompute the grid of every building that may have moved with these grids' boundaries
    (ties on a shared edge to the lowest grid id, as coverage does); those that moved."""
    rows = await session.execute(_REASSIGN, {"ids": list(grid_ids)})
    return [Moved(int(r.id), r.code, r.old, r.new) for r in rows]


@dataclass(frozen=True)
class BoundaryChange:
    """The grid after updateGridBoundary and the buildings that moved."""

    grid: Grid
    moved: list[Moved]


_SET_BOUNDARY = text("""
    UPDATE grid SET boundary = ST_Multi(ST_SetSRID(ST_GeomFromWKB(:wkb), 4326))
    WHERE id = :id RETURNING ST_AsGeoJSON(boundary, 7) AS after""")
_BOUNDARY = text("SELECT code, ST_AsGeoJSON(boundary, 7) AS geojson FROM grid WHERE id = :id")


async def update_grid_boundary(session: AsyncSession, *, viewer: Viewer, grid_id: int,
                               wkb: bytes, now: datetime, actor: str,
                               field: str = "boundary") -> BoundaryChange:
    """A new boundary (a valid WGS-84 polygon or multipolygon, checked by the caller) from
    `now` for a grid within the caller's territories; OVERLAPPING_GRIDS or OUTSIDE_GRIDS
    naming `field` when it would overlap another grid of its community or leave a building
    outside every grid.
    Recorded as GRID_BOUNDARY_UPDATED, before and after, with the buildings that moved."""
    grid = await session.get(Grid, grid_id, with_for_update=True)
    if grid is None:
        raise InvalidInput.one("NOT_FOUND", "no grid has this id", "gridId")
    within.require(viewer, grid.community_id, "gridId")
    before = (await session.execute(_BOUNDARY, {"id": grid_id})).one()
    after = (await session.execute(_SET_BOUNDARY, {"wkb": wkb, "id": grid_id})).scalar_one()
    try:
        await import_sql.check_grid_overlaps(session, {before.code: grid_id})
    except InvalidInput as exc:
        raise InvalidInput([replace(e, field=field) for e in exc.errors]) from None
    moved = await reassign_buildings(session, [grid_id])
    outside = [m.code for m in moved if m.to_grid is None]
    if outside:
        raise InvalidInput.one("OUTSIDE_GRIDS", "the new boundary would leave building(s) "
                               f"{', '.join(outside)} outside every grid", field)
    await import_sql.assign_groups_to_grids(session)
    await record_versions(session, [grid_id], now)
    await session.refresh(grid)
    await record(session, actor=actor, action="GRID_BOUNDARY_UPDATED", subject=("Grid", grid_id),
                 community_id=grid.community_id, detail={
                     "before": {"boundary": before.geojson}, "after": {"boundary": after},
                     "validFrom": now.isoformat(), "moved": [_moved(m) for m in moved]})
    return BoundaryChange(grid, moved)


def _moved(m: Moved) -> dict[str, object]:
    return {"building": m.code, "id": m.building_id, "from": m.from_grid, "to": m.to_grid}


_GRID_AT = text("""
    SELECT v.grid_id, g.community_id FROM grid_boundary_version v JOIN grid g ON g.id = v.grid_id
    WHERE v.valid_from <= :at AND (v.valid_to IS NULL OR v.valid_to > :at)
      AND ST_Covers(v.boundary, ST_SetSRID(ST_MakePoint(:lon, :lat), 4326))
    ORDER BY v.grid_id LIMIT 1""")


async def cover_point_at(session: AsyncSession, *, lon: float, lat: float, at: datetime,
                         nearest_metres: float) -> CoverageResult | None:
    """Coverage as it was at `at`: the grid (and its community) from the boundary versions in
    force then; the building and its group as stored now. None when nothing covers it."""
    now = await cover_point(session, lon=lon, lat=lat, nearest_metres=nearest_metres)
    then = (await session.execute(_GRID_AT, {"lon": lon, "lat": lat, "at": at})).first()
    if then is None:
        if now is None or now.building_id is None:
            return None
        return replace(now, grid_id=None, grid=None, community_id=None)
    grid = await session.get(Grid, int(then.grid_id))
    assert grid is not None  # a foreign key guarantees it
    base = now or CoverageResult(lon=lon, lat=lat, community_id=None, grid_id=None,
                                 building_id=None, group_id=None)
    return replace(base, grid_id=int(then.grid_id), grid=grid,
                   community_id=int(then.community_id))
