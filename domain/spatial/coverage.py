"""Coverage: which grid, building, building group and community serve a point or an address.

The question the dispatch screens ask most, answered in one SQL statement per lookup, which
also returns the grid, building and building group rows (so a caller showing them needs no
second round trip):
- the grid is the one whose boundary covers the point; a point exactly on an edge shared by two
  grids always resolves to the grid with the lowest id, so the answer never flips;
- the building is the one whose footprint covers the point, else the nearest building within
  `nearest_metres` (default 30 m), else none; the building group is that building's group;
- an address is normalised (geo.address) and matched exactly first, then fuzzily: among the
  stored keys with the same house numbers (an index on them), those most alike in pg_trgm's
  measure are the candidates, re-scored by rapidfuzz; below the threshold the answer is
  "no match", not a guess. A key whose numbers differ names another building however alike it
  looks (rapidfuzz's score is halved, to at most 0.5), so it is never a candidate.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import Float, Integer, Row, bindparam, column, func, select, text
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from domain.errors import UserError
from domain.spatial.models import Building, BuildingGroup, Grid
from geo import address as addr
from geo.sql import covers_sql, degrees_for_metres, geography_distance_sql, point_sql

#: How far a point may be from the nearest building and still be covered by it, in metres
#: (NEAREST_BUILDING_METRES).
NEAREST_BUILDING_METRES = 30.0
#: The lowest fuzzy address confidence accepted, 0..1 (ADDRESS_MATCH_THRESHOLD).
ADDRESS_MATCH_THRESHOLD = 0.8

FUZZY_CANDIDATES = 8
#: pg_trgm similarity a stored key needs to be a fuzzy candidate at all. Two neighbours
#: swapped in a five-character key (一五路3号 for 五一路3号, rapidfuzz 0.8) score exactly 0.2.
#: On 1,080 keys of the synthetic city with one or two typos, 0.2 gave the answers of an
#: unbounded nearest-eight search; 0.25 lost 12 two-typo matches, 0.3 lost 38.
TRIGRAM_FLOOR = 0.2
#: The longest address a caller may give (the stored column's width).
MAX_ADDRESS = 300


@dataclass(frozen=True)
class CoverageResult:
    """Where a question resolved to (WGS-84), the ids that cover it and the rows they name
    (the community's is left out: its boundary can be large, and few callers want it)."""

    lon: float
    lat: float
    community_id: int | None
    grid_id: int | None
    building_id: int | None
    group_id: int | None
    matched_address: str | None = None
    match_confidence: float | None = None
    distance_metres: float | None = None
    grid: Grid | None = None
    building: Building | None = None
    group: BuildingGroup | None = None


_POINT = point_sql()
_COVER = text(f"""
WITH p AS (SELECT {_POINT} AS g),
covering_grid AS (
  SELECT grid.id, grid.community_id FROM grid, p
  WHERE {covers_sql("grid.boundary", "p.g")} ORDER BY grid.id LIMIT 1),
building_hit AS (
  SELECT b.id, b.group_id, b.grid_id, 0.0::float8 AS distance FROM building b, p
  WHERE {covers_sql("b.footprint", "p.g")} ORDER BY b.id LIMIT 1),
building_near AS (
  SELECT b.id, b.group_id, b.grid_id,
         {geography_distance_sql("COALESCE(b.footprint, b.location)", "p.g")} AS distance
  FROM building b, p
  WHERE NOT EXISTS (SELECT 1 FROM building_hit)
    AND (ST_DWithin(b.location, p.g, :deg) OR ST_DWithin(b.footprint, p.g, :deg))
  ORDER BY distance, b.id LIMIT 1),
building AS (
  SELECT * FROM building_hit
  UNION ALL SELECT * FROM building_near WHERE distance <= :metres
  LIMIT 1),
community_hit AS (
  SELECT c.id FROM community c, p
  WHERE NOT EXISTS (SELECT 1 FROM covering_grid) AND {covers_sql("c.boundary", "p.g")}
  ORDER BY c.id LIMIT 1)
SELECT
  COALESCE((SELECT id FROM covering_grid), (SELECT grid_id FROM building)) AS grid_id,
  (SELECT id FROM building) AS building_id,
  (SELECT group_id FROM building) AS group_id,
  (SELECT distance FROM building) AS distance,
  COALESCE((SELECT community_id FROM covering_grid),
           (SELECT g.community_id FROM grid g WHERE g.id = (SELECT grid_id FROM building)),
           (SELECT id FROM community_hit)) AS community_id
""").columns(column("grid_id", Integer), column("building_id", Integer),
             column("group_id", Integer), column("distance", Float),
             column("community_id", Integer)).subquery("cover")
_COVER_POINT = (
    select(_COVER, Grid, Building, BuildingGroup).select_from(_COVER)
    .outerjoin(Grid, col(Grid.id) == _COVER.c.grid_id)
    .outerjoin(Building, col(Building.id) == _COVER.c.building_id)
    .outerjoin(BuildingGroup, col(BuildingGroup.id) == _COVER.c.group_id))

_BUILDING_ROWS = (
    select(Building, Grid, BuildingGroup, func.ST_X(col(Building.location)).label("lon"),
           func.ST_Y(col(Building.location)).label("lat"))
    .outerjoin(Grid, col(Grid.id) == col(Building.grid_id))
    .outerjoin(BuildingGroup, col(BuildingGroup.id) == col(Building.group_id)))
_EXACT_ADDRESS = (_BUILDING_ROWS.where(col(Building.address_key) == bindparam("key"))
                  .order_by(col(Building.id)).limit(1))
_BUILDING_BY_ID = _BUILDING_ROWS.where(col(Building.id) == bindparam("id"))
# The keys with the asked house numbers come from their index (about 500 of 100,000 in the
# synthetic city: ~2 ms, where pg_trgm's `%` through the GIN index rechecked 1,500 to 6,500
# rows in 12 to 40 ms); OFFSET 0 keeps each similarity computed once.
_FUZZY_ADDRESS = text(f"""SELECT c.id, c.address_key FROM (
  SELECT b.id, b.address_key, similarity(b.address_key, :key) AS s FROM building b
  WHERE {addr.house_number_signature_sql("b.address_key")} = :numbers OFFSET 0) c
WHERE c.s >= {TRIGRAM_FLOOR} ORDER BY c.s DESC, c.id LIMIT {FUZZY_CANDIDATES}""")


async def cover_point(session: AsyncSession, *, lon: float, lat: float,
                      nearest_metres: float = NEAREST_BUILDING_METRES) -> CoverageResult | None:
    """Everything that covers a WGS-84 point; None when nothing does."""
    params = {"lon": lon, "lat": lat, "metres": nearest_metres,
              "deg": degrees_for_metres(nearest_metres, lat)}
    row = (await session.execute(_COVER_POINT, params)).one()
    if row.grid_id is None and row.building_id is None and row.community_id is None:
        return None
    return CoverageResult(lon=lon, lat=lat, community_id=row.community_id,
                          grid_id=row.grid_id, building_id=row.building_id,
                          group_id=row.group_id, distance_metres=row.distance,
                          grid=row.Grid, building=row.Building, group=row.BuildingGroup)


def address_problems(address: str, field: str) -> list[UserError]:
    """What is wrong with an address a caller typed, naming `field`: empty, longer than
    MAX_ADDRESS characters, or nothing left to match on once normalised ("，。", "(").
    Callers check with this before `cover_address`."""
    if not address.strip():
        return [UserError("REQUIRED", "address must not be empty", field)]
    if len(address) > MAX_ADDRESS:
        return [UserError("TOO_LONG", f"address must be at most {MAX_ADDRESS} characters",
                          field)]
    try:
        addr.address_key(address)
    except ValueError:
        return [UserError("INVALID_ADDRESS", "address has nothing to match on: give a street "
                          "and house number, e.g. 船山路63号", field)]
    return []


async def cover_address(session: AsyncSession, address: str, *,
                        threshold: float = ADDRESS_MATCH_THRESHOLD) -> CoverageResult | None:
    """Coverage of the building an address names: exact on the normalised key, else the best
    fuzzy match with the same house numbers at or above `threshold`; None rather than a wrong
    guess. Raises ValueError for an address `address_problems` refuses. Each statement stands
    alone, so the session may be in autocommit mode."""
    key = addr.address_key(address)
    exact = (await session.execute(_EXACT_ADDRESS, {"key": key})).first()
    if exact is not None:
        return _from_building(exact, 1.0)
    params = {"key": key, "numbers": addr.house_number_signature(key)}
    candidates = (await session.execute(_FUZZY_ADDRESS, params)).all()
    scored = [(addr.similarity(key, c.address_key), c.id) for c in candidates]
    best = max(scored, key=lambda pair: (pair[0], -pair[1]), default=None)
    if best is None or best[0] < threshold:
        return None
    row = (await session.execute(_BUILDING_BY_ID, {"id": best[1]})).one()
    return _from_building(row, round(best[0], 3))


def _from_building(row: Row[Any], confidence: float) -> CoverageResult:
    building, grid = row.Building, row.Grid
    return CoverageResult(
        lon=row.lon, lat=row.lat, community_id=grid.community_id if grid else None,
        grid_id=building.grid_id, building_id=building.id, group_id=building.group_id,
        matched_address=building.address, match_confidence=confidence, distance_metres=0.0,
        grid=grid, building=building, group=row.BuildingGroup,
    )
