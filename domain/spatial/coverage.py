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
from functools import cache
from typing import Any

from domain.errors import UserError
from domain.infra import rows
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
class Shapes:
    """Which rows' geometries an answer shows: the grid's boundary, the building's location
    and footprint. They are most of the rows' bytes and few callers show them; without
    them the rows' geometry attributes are None (and the rows are not whole)."""

    grid: bool = False
    building: bool = False


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
    #: The geometries the rows came with: rows without theirs are not whole.
    shapes: Shapes = Shapes()


#: The ids that cover a point (the statement's first five columns).
_COVER = f"""
WITH p AS (SELECT {point_sql("%(lon)s", "%(lat)s")} AS g),
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
    AND (ST_DWithin(b.location, p.g, %(deg)s) OR ST_DWithin(b.footprint, p.g, %(deg)s))
  ORDER BY distance, b.id LIMIT 1),
building AS (
  SELECT * FROM building_hit
  UNION ALL SELECT * FROM building_near WHERE distance <= %(metres)s
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
           (SELECT id FROM community_hit)) AS community_id"""
#: A building found by its address key or id, with its point (the statement's first four
#: columns: grid, building and group ids, then lon and lat).
_BUILDING = """SELECT b.grid_id, b.id, b.group_id, ST_X(b.location), ST_Y(b.location)
  FROM building b WHERE {where} ORDER BY b.id LIMIT 1"""


@cache
def _with_rows(found: str, leading: int, shapes: Shapes) -> str:
    """`found` (whose first three columns are the grid, building and group ids, and which
    has `leading` columns in all) with the three rows it names joined to it."""
    names = [f"c{i}" for i in range(leading)]
    return (f"SELECT {', '.join(f'f.{n}' for n in names)}, "
            f"{rows.select_list(Grid, 'g', shapes=shapes.grid)}, "
            f"{rows.select_list(Building, 'b', shapes=shapes.building)}, "
            f"{rows.select_list(BuildingGroup, 'bg', shapes=False)} "
            f"FROM ({found}) AS f({', '.join(names)}) "
            "LEFT JOIN grid g ON g.id = f.c0 LEFT JOIN building b ON b.id = f.c1 "
            "LEFT JOIN building_group bg ON bg.id = f.c2")


def _rows(values: tuple[Any, ...], leading: int, shapes: Shapes
          ) -> tuple[Grid | None, Building | None, BuildingGroup | None]:
    """The grid, building and group of a `_with_rows` row."""
    out: list[Any] = []
    at = leading
    for model, shaped in ((Grid, shapes.grid), (Building, shapes.building),
                          (BuildingGroup, False)):
        names = rows.columns(model, shapes=shaped)
        out.append(rows.detached(model, names, values[at:at + len(names)]))
        at += len(names)
    grid, building, group = out
    return grid, building, group


# The keys with the asked house numbers come from their index (about 500 of 100,000 in the
# synthetic city: ~2 ms, where pg_trgm's `%` through the GIN index rechecked 1,500 to 6,500
# rows in 12 to 40 ms); OFFSET 0 keeps each similarity computed once.
FUZZY_ADDRESS = f"""SELECT c.id, c.address_key FROM (
  SELECT b.id, b.address_key, similarity(b.address_key, %(key)s) AS s FROM building b
  WHERE {addr.house_number_signature_sql("b.address_key")} = %(numbers)s OFFSET 0) c
WHERE c.s >= {TRIGRAM_FLOOR} ORDER BY c.s DESC, c.id LIMIT {FUZZY_CANDIDATES}"""


async def cover_point(session: rows.Executor, *, lon: float, lat: float,
                      nearest_metres: float = NEAREST_BUILDING_METRES,
                      shapes: Shapes = Shapes()) -> CoverageResult | None:
    """Everything that covers a WGS-84 point, in one prepared statement; None when nothing
    does. The rows come with their geometry only as `shapes` asks."""
    params = {"lon": lon, "lat": lat, "metres": nearest_metres,
              "deg": degrees_for_metres(nearest_metres, lat)}
    found = await rows.fetch_one(session, point_statement(shapes), params)
    assert found is not None  # the statement always answers one row
    grid_id, building_id, group_id, distance, community_id = found[:5]
    if grid_id is None and building_id is None and community_id is None:
        return None
    grid, building, group = _rows(found, 5, shapes)
    return CoverageResult(lon=lon, lat=lat, community_id=community_id, grid_id=grid_id,
                          building_id=building_id, group_id=group_id,
                          distance_metres=distance, grid=grid, building=building, group=group,
                          shapes=shapes)


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


async def cover_address(session: rows.Executor, address: str, *,
                        threshold: float = ADDRESS_MATCH_THRESHOLD,
                        shapes: Shapes = Shapes()) -> CoverageResult | None:
    """Coverage of the building an address names: exact on the normalised key, else the best
    fuzzy match with the same house numbers at or above `threshold`; None rather than a wrong
    guess. Raises ValueError for an address `address_problems` refuses. Each statement stands
    alone, so the session may be in autocommit mode."""
    key = addr.address_key(address)
    exact = await _building(session, "key", {"key": key}, shapes)
    if exact is not None:
        return _from_building(exact, 1.0, shapes)
    params = {"key": key, "numbers": addr.house_number_signature(key)}
    candidates = await rows.fetch_all(session, FUZZY_ADDRESS, params)
    scored = [(addr.similarity(key, address_key), pk) for pk, address_key in candidates]
    best = max(scored, key=lambda pair: (pair[0], -pair[1]), default=None)
    if best is None or best[0] < threshold:
        return None
    row = await _building(session, "id", {"id": best[1]}, shapes)
    assert row is not None  # the candidate was just read
    return _from_building(row, round(best[0], 3), shapes)


async def _building(session: rows.Executor, by: str, params: dict[str, Any],
                    shapes: Shapes) -> tuple[Any, ...] | None:
    return await rows.fetch_one(session, building_statement(by, shapes), params)


def point_statement(shapes: Shapes = Shapes()) -> str:
    """The one statement of `cover_point` (psycopg parameters %(lon)s, %(lat)s, %(metres)s,
    %(deg)s): what the coverage benchmark's raw SQL contestant sends too."""
    return _with_rows(_COVER, 5, shapes)


def building_statement(by: str, shapes: Shapes = Shapes()) -> str:
    """The statement of `cover_address` that reads the building it found, `by` "key"
    (%(key)s, an address key) or "id" (%(id)s)."""
    where = {"key": "b.address_key = %(key)s", "id": "b.id = %(id)s"}[by]
    return _with_rows(_BUILDING.format(where=where), 5, shapes)


def _from_building(found: tuple[Any, ...], confidence: float, shapes: Shapes) -> CoverageResult:
    grid, building, group = _rows(found, 5, shapes)
    assert building is not None
    return CoverageResult(
        lon=found[3], lat=found[4], community_id=grid.community_id if grid else None,
        grid_id=building.grid_id, building_id=building.id, group_id=building.group_id,
        matched_address=building.address, match_confidence=confidence, distance_metres=0.0,
        grid=grid, building=building, group=group, shapes=shapes,
    )
