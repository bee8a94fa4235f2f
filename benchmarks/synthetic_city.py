"""A synthetic city for the coverage benchmark, generated set-based in SQL.

Layout (everything in WGS-84, around 衡阳, lon 112.55.., lat 26.85..):

- communities of 10 x 5 grids, five communities to a row of the lattice;
- grids are non-overlapping squares of 0.002° x 0.0018° (about 200 m x 200 m) whose edges are
  computed from the same expression on both sides, so neighbours share them exactly;
- inside a grid, buildings sit in a 6 x 9 lattice of slots (19 m x 21 m) in the western
  120 m; the eastern 80 m are a park, and its band 151-173 m from the grid's west edge is more
  than 30 m from any building of this grid or the next ("empty ground": a grid, no building);
- each footprint is a small rectangle (9-14 m x 10-16 m) strictly inside its slot; one
  building in ten has no footprint, only a point;
- one building group per four buildings of a grid;
- addresses are "{road}{n}号", unique: 200 house numbers per road, each road running through
  four neighbouring grids. Road names are combined from place words, an optional direction and
  路/街/巷/大道, and kept only when geo.address normalises "{road}{n}号" to itself (so
  address_key = address) and reads its Chinese-numeral, prefixed and room-suffixed variants the
  same way.

The rows are made by INSERT ... SELECT over generate_series (no row-by-row Python); only the
road names travel as one array parameter. Pseudo-random sizes and offsets come from
hashint4extended, so a city is the same every time.
"""

from __future__ import annotations

import argparse
import math
import random
import time
from dataclasses import dataclass
from typing import Any

import psycopg

from benchmarks.harness.project import address_key

ORIGIN_LON = 112.55
ORIGIN_LAT = 26.85
GRID_DLON = 0.002  # about 198 m at latitude 27°
GRID_DLAT = 0.0018  # about 199 m
MX = GRID_DLON / 200.0  # degrees of longitude per local metre
MY = GRID_DLAT / 200.0  # degrees of latitude per local metre
GRIDS_PER_COMMUNITY = 50  # 10 columns x 5 rows
COMMUNITY_COLUMNS = 5
SLOT_COLUMNS, SLOT_ROWS = 6, 9
MAX_BUILDINGS_PER_GRID = SLOT_COLUMNS * SLOT_ROWS
BUILDINGS_PER_GROUP = 4
NUMBERS_PER_ROAD = 200
#: Fewer road names pass `_road_is_stable` than a city of a million buildings needs at 200
#: numbers a road: a larger city numbers its roads further (up to 999, in steps of 200).
MAX_NUMBERS_PER_ROAD = 999
USABLE_ROADS = 1391  # len(road_names(...)) of every candidate; checked by the tests
PARK_WEST_METRES, PARK_EAST_METRES = 151.0, 173.0  # empty ground, > 30 m from any building

PLACE_WORDS = (
    "船山", "学宫", "中山", "解放", "五一", "蒸湘", "雁峰", "石鼓", "珠晖", "岳屏",
    "先锋", "光明", "建设", "人民", "和平", "文化", "红湘", "常胜", "衡州", "环城",
    "湘江", "耒水", "东风", "华新", "立新", "延安", "黄白", "沿江", "回雁", "演武",
    "合江", "白沙", "蒸阳", "来雁", "太平", "城北", "湘桂", "公园", "金龙", "松木",
    "酃湖", "角山", "茶山", "苗圃", "南华", "胜利", "朝阳", "望城", "天马", "青山",
    "江东", "联合", "长湖", "水口", "桑园", "新民", "宝塔", "雨母",
)
DIRECTIONS = ("", "东", "西", "南", "北", "中")
ROAD_KINDS = ("路", "街", "巷", "大道")
_CN_DIGITS = "零一二三四五六七八九"


@dataclass(frozen=True)
class CityLayout:
    """How big the city is; derived from the requested grid and building counts."""

    communities: int
    grids: int
    buildings: int
    per_grid: int  # building slots used per grid (the last ones may be empty)
    groups_per_grid: int

    @classmethod
    def plan(cls, grids: int, buildings: int) -> CityLayout:
        communities = max(1, math.ceil(grids / GRIDS_PER_COMMUNITY))
        grids = communities * GRIDS_PER_COMMUNITY
        per_grid = math.ceil(buildings / grids)
        if per_grid > MAX_BUILDINGS_PER_GRID:
            raise ValueError(f"at most {MAX_BUILDINGS_PER_GRID} buildings per grid: raise "
                             f"--grids to at least "
                             f"{math.ceil(buildings / MAX_BUILDINGS_PER_GRID)}")
        return cls(communities=communities, grids=grids, buildings=buildings,
                   per_grid=per_grid,
                   groups_per_grid=math.ceil(per_grid / BUILDINGS_PER_GROUP))

    @property
    def numbers_per_road(self) -> int:
        """200, or the multiple of 200 (at most 999) that leaves enough road names."""
        slots = self.grids * self.per_grid
        numbers = NUMBERS_PER_ROAD
        while math.ceil(slots / numbers) > USABLE_ROADS and numbers < MAX_NUMBERS_PER_ROAD:
            numbers = min(numbers + NUMBERS_PER_ROAD, MAX_NUMBERS_PER_ROAD)
        return numbers

    @property
    def roads(self) -> int:
        return math.ceil(self.grids * self.per_grid / self.numbers_per_road)

    @property
    def building_groups(self) -> int:
        return self.grids * self.groups_per_grid

    @property
    def bounds(self) -> tuple[float, float, float, float]:
        """West, south, east, north of the whole lattice."""
        rows = math.ceil(self.communities / COMMUNITY_COLUMNS) * 5
        columns = min(self.communities, COMMUNITY_COLUMNS) * 10
        return (ORIGIN_LON, ORIGIN_LAT, ORIGIN_LON + columns * GRID_DLON,
                ORIGIN_LAT + rows * GRID_DLAT)


def add_options(parser: argparse.ArgumentParser, *, grids: int, buildings: int) -> None:
    """The size of the city a benchmark builds."""
    parser.add_argument("--grids", type=int, default=grids,
                        help="grids of the synthetic city (rounded up to whole communities of "
                        f"{GRIDS_PER_COMMUNITY})")
    parser.add_argument("--buildings", type=int, default=buildings, help="buildings")


def chinese_numeral(n: int) -> str:
    """1..999 as Chinese numerals the way people write house numbers (六十三, 一百零五)."""
    if not 0 < n < 1000:
        raise ValueError(n)
    if n < 10:
        return _CN_DIGITS[n]
    if n < 20:
        return "十" + (_CN_DIGITS[n % 10] if n % 10 else "")
    if n < 100:
        return _CN_DIGITS[n // 10] + "十" + (_CN_DIGITS[n % 10] if n % 10 else "")
    hundreds, rest = divmod(n, 100)
    head = _CN_DIGITS[hundreds] + "百"
    if rest == 0:
        return head
    if rest < 10:
        return head + "零" + _CN_DIGITS[rest]
    return head + ("一" if rest < 20 else "") + chinese_numeral(rest)


def _road_is_stable(road: str) -> bool:
    """The road's plain addresses are their own keys, and the usual variants agree."""
    for n in (1, 7, 10, 63, 105, 110, 200):
        plain = f"{road}{n}号"
        if address_key(plain) != plain:
            return False
        variants = (f"湖南省衡阳市{road}{chinese_numeral(n)}号",
                    f"{road}{n}号3单元502室", f"湖南省衡阳市石鼓区{road}{n}号")
        if any(address_key(v) != plain for v in variants):
            return False
    return True


def road_names(count: int, seed: int = 7) -> list[str]:
    """`count` distinct road names whose addresses normalise to themselves."""
    candidates = [f"{word}{direction}{kind}" for word in PLACE_WORDS
                  for direction in DIRECTIONS for kind in ROAD_KINDS]
    random.Random(seed).shuffle(candidates)
    roads = [road for road in candidates if _road_is_stable(road)]
    if len(roads) < count:
        raise ValueError(f"only {len(roads)} usable road names, {count} needed: lower "
                         "--buildings")
    return roads[:count]


def _unit(expr: str, salt: int) -> str:
    """A deterministic pseudo-random float in [0, 1) from an integer SQL expression."""
    return f"((hashint4extended({expr}, {salt}) & 2147483647)::float8 / 2147483648.0)"


_COMMUNITIES = """
INSERT INTO community (id, code, name, boundary)
SELECT c + 1, 'C' || lpad((c + 1)::text, 4, '0'),
       (%(words)s::text[])[mod(c, %(nwords)s) + 1]
         || CASE WHEN c >= %(nwords)s THEN (c / %(nwords)s + 1)::text ELSE '' END || '社区',
       ST_Multi(ST_MakeEnvelope(
         %(x0)s + (mod(c, %(ccols)s) * 10) * %(dlon)s, %(y0)s + (c / %(ccols)s * 5) * %(dlat)s,
         %(x0)s + (mod(c, %(ccols)s) * 10 + 10) * %(dlon)s,
         %(y0)s + (c / %(ccols)s * 5 + 5) * %(dlat)s, 4326))
FROM generate_series(0, %(communities)s - 1) AS c
"""

_GRIDS = """
INSERT INTO grid (id, code, name, community_id, boundary)
SELECT g + 1, 'G' || lpad((g + 1)::text, 6, '0'),
       format('%%s第%%s网格', c.name, mod(g, 50) + 1), g / 50 + 1,
       ST_Multi(ST_MakeEnvelope(%(x0)s + col * %(dlon)s, %(y0)s + row * %(dlat)s,
                                %(x0)s + (col + 1) * %(dlon)s, %(y0)s + (row + 1) * %(dlat)s,
                                4326))
FROM generate_series(0, %(grids)s - 1) AS g
CROSS JOIN LATERAL (SELECT mod(g / 50, %(ccols)s) * 10 + mod(mod(g, 50), 10) AS col,
                           (g / 50 / %(ccols)s) * 5 + mod(g, 50) / 10 AS row) AS cell
JOIN community c ON c.id = g / 50 + 1
"""

_GROUPS = """
INSERT INTO building_group (id, code, name, grid_id)
SELECT g * %(q)s + q + 1, 'BG' || lpad((g * %(q)s + q + 1)::text, 7, '0'),
       format('网格%%s第%%s楼栋党小组', g + 1, q + 1), g + 1
FROM generate_series(0, %(grids)s - 1) AS g, generate_series(0, %(q)s - 1) AS q
"""

_BUILDINGS = f"""
INSERT INTO building (id, code, name, address, address_key, households, location, footprint,
                      grid_id, group_id)
SELECT i + 1, 'B' || lpad((i + 1)::text, 8, '0'), NULL, addr, addr,
       12 + (hashint4extended(i, 5) & 63)::int,
       COALESCE(ST_PointOnSurface(fp),
                ST_SetSRID(ST_MakePoint(gx + cx * %(mx)s, gy + cy * %(my)s), 4326)),
       fp, g + 1, g * %(q)s + s / {BUILDINGS_PER_GROUP} + 1
FROM (
  SELECT i, g, s, gx, gy, cx, cy,
         (%(roads)s::text[])[(g * %(p)s + s) / %(npr)s + 1]
           || (mod(g * %(p)s + s, %(npr)s) + 1)::text || '号' AS addr,
         CASE WHEN mod(i, 10) = 9 THEN NULL
              ELSE ST_MakeEnvelope(gx + (cx - w / 2) * %(mx)s, gy + (cy - h / 2) * %(my)s,
                                   gx + (cx + w / 2) * %(mx)s, gy + (cy + h / 2) * %(my)s,
                                   4326) END AS fp
  FROM generate_series(0, %(buildings)s - 1) AS i
  CROSS JOIN LATERAL (SELECT mod(i, %(grids)s) AS g, i / %(grids)s AS s) AS slot
  JOIN grid ON grid.id = g + 1
  CROSS JOIN LATERAL (
    SELECT ST_XMin(grid.boundary) AS gx, ST_YMin(grid.boundary) AS gy,
           5 + mod(s, {SLOT_COLUMNS}) * 19 + 9.5 + ({_unit('i', 1)} * 3 - 1.5) AS cx,
           4 + s / {SLOT_COLUMNS} * 21 + 10.5 + ({_unit('i', 2)} * 3 - 1.5) AS cy,
           9 + 5 * {_unit('i', 3)} AS w, 10 + 6 * {_unit('i', 4)} AS h) AS shape
) AS t
"""

_SEQUENCES = ("community", "grid", "building_group", "building")

_CHECKS = {
    "footprints and points strictly inside their grid": """
        SELECT count(*) FROM building b JOIN grid g ON g.id = b.grid_id
        WHERE NOT ST_ContainsProperly(g.boundary, COALESCE(b.footprint, b.location))""",
    "locations inside their footprint": """
        SELECT count(*) FROM building WHERE footprint IS NOT NULL
        AND NOT ST_Covers(footprint, location)""",
    "duplicate address keys": """
        SELECT count(*) - count(DISTINCT address_key) FROM building""",
    "groups in another grid than their buildings": """
        SELECT count(*) FROM building b JOIN building_group bg ON bg.id = b.group_id
        WHERE bg.grid_id IS DISTINCT FROM b.grid_id""",
    "overlapping grids": """
        SELECT count(*) FROM grid a JOIN grid b ON a.id < b.id
        AND ST_Overlaps(a.boundary, b.boundary)""",
}


@dataclass(frozen=True)
class Generated:
    """What was made and how long each step took (seconds)."""

    layout: CityLayout
    seconds: dict[str, float]

    @property
    def total_seconds(self) -> float:
        return sum(self.seconds.values())


def run_steps(conn: psycopg.Connection[Any], steps: tuple[tuple[str, str], ...],
              params: dict[str, Any], tables: tuple[str, ...]) -> dict[str, float]:
    """Run each (name, SQL) step with `params`, timed; move the id sequences of `tables`
    past the ids the steps wrote; commit. Returns the seconds per step."""
    seconds: dict[str, float] = {}
    for name, sql in steps:
        started = time.perf_counter()
        conn.execute(sql, params)
        seconds[name] = time.perf_counter() - started
    for table in tables:
        conn.execute(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                     f"(SELECT max(id) FROM {table}))")
    conn.commit()
    return seconds


def generate(conninfo: str, layout: CityLayout, *, sample: int = 2000) -> Generated:
    """Fill an empty, migrated database with the city; VACUUM ANALYZE; check it."""
    with psycopg.connect(conninfo) as conn:
        seconds = fill(conn, layout)
    with psycopg.connect(conninfo, autocommit=True) as conn:
        started = time.perf_counter()
        conn.execute("VACUUM (ANALYZE)")
        seconds["vacuum analyze"] = time.perf_counter() - started
        started = time.perf_counter()
        check(conn, sample=sample)
        seconds["checks"] = time.perf_counter() - started
    return Generated(layout=layout, seconds=seconds)


def fill(conn: psycopg.Connection[Any], layout: CityLayout) -> dict[str, float]:
    """Insert the city's communities, grids, groups and buildings on `conn` and commit; the
    seconds of each step."""
    roads = road_names(layout.roads)
    params: dict[str, Any] = {
        "x0": ORIGIN_LON, "y0": ORIGIN_LAT, "dlon": GRID_DLON, "dlat": GRID_DLAT,
        "mx": MX, "my": MY, "ccols": COMMUNITY_COLUMNS, "communities": layout.communities,
        "grids": layout.grids, "buildings": layout.buildings, "p": layout.per_grid,
        "q": layout.groups_per_grid, "roads": roads, "npr": layout.numbers_per_road,
        "words": list(PLACE_WORDS),
        "nwords": len(PLACE_WORDS),
    }
    return run_steps(conn, (("communities", _COMMUNITIES), ("grids", _GRIDS),
                            ("building groups", _GROUPS), ("buildings", _BUILDINGS)),
                     params, _SEQUENCES)


def check(conn: psycopg.Connection[Any], *, sample: int = 2000) -> None:
    """Assert the city is what the benchmark assumes (see the module docstring)."""
    for what, sql in _CHECKS.items():
        row = conn.execute(sql).fetchone()
        bad = row[0] if row else None
        assert bad == 0, f"synthetic city: {bad} {what}"
    rows = conn.execute("SELECT address, address_key FROM building ORDER BY random() LIMIT %s",
                        (sample,)).fetchall()
    for address, key in rows:
        assert address_key(address) == key == address, (address, key, address_key(address))


# --- workloads -----------------------------------------------------------------------------


@dataclass(frozen=True)
class BuildingSample:
    id: int
    grid_id: int
    group_id: int
    address: str
    has_footprint: bool
    west: float
    south: float
    east: float
    north: float


@dataclass(frozen=True)
class PointCase:
    lon: float
    lat: float
    kind: str  # inside | near | empty | outside
    building_id: int | None = None  # the building it must resolve to (inside only)


@dataclass(frozen=True)
class AddressCase:
    text: str
    kind: str  # plain | prefix | numerals | room | all | typo | miss
    building_id: int | None = None  # the building an exact-key variant must resolve to


def sample_buildings(conn: psycopg.Connection[Any], count: int) -> list[BuildingSample]:
    rows = conn.execute("""
        SELECT id, grid_id, group_id, address, footprint IS NOT NULL,
               ST_XMin(COALESCE(footprint, location)), ST_YMin(COALESCE(footprint, location)),
               ST_XMax(COALESCE(footprint, location)), ST_YMax(COALESCE(footprint, location))
        FROM building ORDER BY random() LIMIT %s""", (count,)).fetchall()
    return [BuildingSample(*row) for row in rows]


def sample_grids(conn: psycopg.Connection[Any], count: int) -> list[tuple[float, float]]:
    """South-west corners of random grids."""
    rows = conn.execute("SELECT ST_XMin(boundary), ST_YMin(boundary) FROM grid "
                        "ORDER BY random() LIMIT %s", (count,)).fetchall()
    return [(float(x), float(y)) for x, y in rows]


def point_cases(buildings: list[BuildingSample], grids: list[tuple[float, float]],
                layout: CityLayout, count: int, rng: random.Random) -> list[PointCase]:
    """40 % inside a footprint, 30 % 1-20 m from a building, 20 % on the empty ground of a
    grid's park, 10 % outside the city (no grid: coverage is null)."""
    with_fp = [b for b in buildings if b.has_footprint]
    west, south, _east, north = layout.bounds
    cases: list[PointCase] = []
    for _ in range(count):
        roll = rng.random()
        if roll < 0.4:
            b = rng.choice(with_fp)
            fx, fy = rng.uniform(0.05, 0.95), rng.uniform(0.05, 0.95)
            cases.append(PointCase(b.west + (b.east - b.west) * fx,
                                   b.south + (b.north - b.south) * fy, "inside", b.id))
        elif roll < 0.7:
            b = rng.choice(buildings)
            d = rng.uniform(1.0, 20.0)
            side = rng.randrange(4)
            lon = rng.uniform(b.west, b.east) if side < 2 else (
                b.east + d * MX if side == 2 else b.west - d * MX)
            lat = rng.uniform(b.south, b.north) if side >= 2 else (
                b.north + d * MY if side == 0 else b.south - d * MY)
            cases.append(PointCase(lon, lat, "near"))
        elif roll < 0.9:
            gx, gy = rng.choice(grids)
            cases.append(PointCase(gx + rng.uniform(PARK_WEST_METRES, PARK_EAST_METRES) * MX,
                                   gy + rng.uniform(4.0, 196.0) * MY, "empty"))
        else:
            cases.append(PointCase(west - rng.uniform(0.005, 0.05),
                                   rng.uniform(south, north), "outside"))
    return cases


def address_cases(buildings: list[BuildingSample], count: int,
                  rng: random.Random) -> list[AddressCase]:
    """Existing addresses as people type them: 35 % plain, 15 % with 湖南省衡阳市, 15 % with
    Chinese numerals, 15 % with a unit and room, 10 % all of these with the district too
    (exact key matches, by construction); 5 % with a typo in the road name (fuzzy path,
    usually a match); 5 % misses (a house number the road does not have: fuzzy path, null)."""
    cases: list[AddressCase] = []
    for _ in range(count):
        b = rng.choice(buildings)
        road, number = _split(b.address)
        roll = rng.random()
        room = f"{rng.randint(1, 6)}单元{rng.randint(1, 18)}0{rng.randint(1, 4)}室"
        if roll < 0.35:
            cases.append(AddressCase(b.address, "plain", b.id))
        elif roll < 0.5:
            cases.append(AddressCase("湖南省衡阳市" + b.address, "prefix", b.id))
        elif roll < 0.65:
            cases.append(AddressCase(f"{road}{chinese_numeral(number)}号", "numerals", b.id))
        elif roll < 0.8:
            cases.append(AddressCase(b.address + room, "room", b.id))
        elif roll < 0.9:
            cases.append(AddressCase(
                f"湖南省衡阳市石鼓区{road}{chinese_numeral(number)}号{room}", "all", b.id))
        elif roll < 0.95:
            typo = road[0] + "湘" + road[2:] if road[1] != "湘" else road[0] + "山" + road[2:]
            cases.append(AddressCase(f"{typo}{number}号", "typo"))
        else:
            cases.append(AddressCase(f"{road}{rng.randint(300, 999)}号", "miss"))
    return cases


def _split(address: str) -> tuple[str, int]:
    """("船山路", 63) from "船山路63号"."""
    body = address.removesuffix("号")
    digits = len(body) - len(body.rstrip("0123456789"))
    return body[:-digits], int(body[-digits:])
