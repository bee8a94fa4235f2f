"""The SQL behind importFeatures: upserts by code and the spatial checks that follow them."""

from __future__ import annotations

from typing import Any

from sqlalchemy import bindparam, text
from sqlalchemy.ext.asyncio import AsyncSession

from domain.errors import InvalidInput, UserError
from geo.geojson import Feature

#: Overlaps smaller than this (square metres) are rounding slivers, not overlapping grids.
OVERLAP_SLACK_M2 = 1.0

_GEOM = "ST_SetSRID(ST_GeomFromWKB({}), 4326)"


async def _scalar(session: AsyncSession, sql: str, params: dict[str, Any]) -> int:
    return int((await session.execute(text(sql), params)).scalar_one())


async def upsert_subdistrict(session: AsyncSession, *, code: str, name: str,
                             wkb: bytes) -> int:
    """Insert or update one subdistrict by code; returns its id."""
    return await _scalar(session, f"""
        INSERT INTO subdistrict (code, name, boundary)
        VALUES (:code, :name, ST_Multi({_GEOM.format(":wkb")}))
        ON CONFLICT (code) DO UPDATE SET name = EXCLUDED.name, boundary = EXCLUDED.boundary
        RETURNING id""", {"code": code, "name": name, "wkb": wkb})


async def upsert_community(session: AsyncSession, *, code: str, name: str, wkb: bytes,
                           subdistrict_id: int | None = None) -> int:
    """Insert or update one community by code; returns its id."""
    return await _scalar(session, f"""
        INSERT INTO community (code, name, boundary, subdistrict_id)
        VALUES (:code, :name, ST_Multi({_GEOM.format(":wkb")}), :subdistrict_id)
        ON CONFLICT (code) DO UPDATE SET name = EXCLUDED.name, boundary = EXCLUDED.boundary,
            subdistrict_id = EXCLUDED.subdistrict_id
        RETURNING id""", {"code": code, "name": name, "wkb": wkb,
                          "subdistrict_id": subdistrict_id})


async def _ids_by_code(session: AsyncSession, table: str, codes: set[str]) -> dict[str, int]:
    if not codes:
        return {}
    rows = await session.execute(
        text(f"SELECT code, id FROM {table} WHERE code IN :codes")
        .bindparams(bindparam("codes", expanding=True)), {"codes": sorted(codes)})
    return {row.code: row.id for row in rows}


async def community_ids(session: AsyncSession, codes: set[str]) -> dict[str, int]:
    """Stored community ids by code (including ones inserted earlier in this transaction)."""
    return await _ids_by_code(session, "community", codes)


async def subdistrict_ids(session: AsyncSession, codes: set[str]) -> dict[str, int]:
    """Stored subdistrict ids by code (including ones inserted earlier in this transaction)."""
    return await _ids_by_code(session, "subdistrict", codes)


async def upsert_grid(session: AsyncSession, *, code: str, name: str, community_id: int,
                      wkb: bytes) -> int:
    """Insert or update one grid by code; returns its id."""
    return await _scalar(session, f"""
        INSERT INTO grid (code, name, community_id, boundary)
        VALUES (:code, :name, :community_id, ST_Multi({_GEOM.format(":wkb")}))
        ON CONFLICT (code) DO UPDATE SET name = EXCLUDED.name,
            community_id = EXCLUDED.community_id, boundary = EXCLUDED.boundary
        RETURNING id""", {"code": code, "name": name, "community_id": community_id, "wkb": wkb})


async def check_grid_overlaps(session: AsyncSession, grids: dict[str, int]) -> None:
    """Grids of one community may share edges but never area: raise naming both grids.

    Overlaps below OVERLAP_SLACK_M2 are floating-point slivers along a shared edge (two
    surveys of the same line), not two grids claiming the same ground; coverage still gives a
    point on such an edge to one grid, the lowest id."""
    if not grids:
        return
    rows = await session.execute(text("""
        SELECT a.code AS a, b.code AS b, c.code AS community,
               round(ST_Area(ST_Intersection(a.boundary, b.boundary)::geography)::numeric, 1)
                 AS area
        FROM grid a JOIN grid b ON a.community_id = b.community_id AND a.id < b.id
        JOIN community c ON c.id = a.community_id
        WHERE (a.id IN :ids OR b.id IN :ids) AND a.boundary && b.boundary
          AND ST_Relate(a.boundary, b.boundary, '2********')
          AND ST_Area(ST_Intersection(a.boundary, b.boundary)::geography) > :slack
        ORDER BY a.code, b.code""").bindparams(bindparam("ids", expanding=True)),
        {"ids": list(grids.values()), "slack": OVERLAP_SLACK_M2})
    errors = [UserError("OVERLAPPING_GRIDS",
                        f'grid "{r.a}" and grid "{r.b}" of community "{r.community}" overlap '
                        f"by {r.area} m²; grids of one community may only share edges",
                        "collection")
              for r in rows]
    if errors:
        raise InvalidInput(errors)


async def upsert_group(session: AsyncSession, *, code: str, name: str | None) -> int:
    """Insert a building group by code, or rename it when a name is given; returns its id."""
    return await _scalar(session, """
        INSERT INTO building_group (code, name) VALUES (:code, :name)
        ON CONFLICT (code) DO UPDATE SET name = CASE WHEN :rename THEN EXCLUDED.name
                                                     ELSE building_group.name END
        RETURNING id""", {"code": code, "name": name or code, "rename": name is not None})


async def upsert_building(session: AsyncSession, values: dict[str, Any]) -> int:
    """Insert or update one building by code. Its point is the given Point, else a point on
    the footprint's surface."""
    return await _scalar(session, f"""
        INSERT INTO building (code, name, address, address_key, households, location,
                              footprint, group_id)
        VALUES (:code, :name, :address, :address_key, :households,
                COALESCE({_GEOM.format(":point_wkb")},
                         ST_PointOnSurface({_GEOM.format(":footprint_wkb")})),
                {_GEOM.format(":footprint_wkb")}, :group_id)
        ON CONFLICT (code) DO UPDATE SET name = EXCLUDED.name, address = EXCLUDED.address,
            address_key = EXCLUDED.address_key, households = EXCLUDED.households,
            location = EXCLUDED.location, footprint = EXCLUDED.footprint,
            group_id = EXCLUDED.group_id
        RETURNING id""", values)


async def check_buildings_in_grids(session: AsyncSession, features: dict[str, Feature],
                                   where: str) -> None:
    """Every imported building must lie inside some grid: raise naming those that do not."""
    if not features:
        return
    rows = await session.execute(
        text("SELECT code, ST_X(location) AS lon, ST_Y(location) AS lat FROM building "
             "WHERE grid_id IS NULL AND code IN :codes ORDER BY code")
        .bindparams(bindparam("codes", expanding=True)), {"codes": sorted(features)})
    errors = [UserError("OUTSIDE_GRIDS",
                        f'building "{r.code}" at [{r.lon:.6f}, {r.lat:.6f}] lies outside every '
                        "grid", f"{where}.features[{features[r.code].index}].geometry")
              for r in rows]
    if errors:
        raise InvalidInput(errors)


async def assign_groups_to_grids(session: AsyncSession) -> None:
    """A building group belongs to the grid holding most of its buildings."""
    await session.execute(text("""
        UPDATE building_group bg SET grid_id = (
            SELECT b.grid_id FROM building b WHERE b.group_id = bg.id AND b.grid_id IS NOT NULL
            GROUP BY b.grid_id ORDER BY count(*) DESC, b.grid_id LIMIT 1)"""))
