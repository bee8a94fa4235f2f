"""Mapbox Vector Tiles (MVT 2.1) of the map layers, built in PostGIS in one statement.

`vector_tile(session, layer=..., z=..., x=..., y=...)` answers the tile's bytes (one MVT layer
named like `layer`), or b"" when nothing of the layer lies in the tile. Tiles are the XYZ
scheme of Web Mercator (EPSG:3857, `ST_TileEnvelope`); storage stays WGS-84 and each
geometry is transformed and clipped with `ST_AsMVTGeom` (a 4,096-unit extent, a 64-unit
buffer so lines do not break at tile edges), which snaps it to the tile's units: by zoom,
coarser the lower. Communities and grids are first simplified
(`ST_SimplifyPreserveTopology`, a tenth of a unit: shared edges stay shared); footprints and
hulls have too few vertices to gain from it (it doubled a z15 buildings tile's time).

Every feature has `id` (the Node id, `schema.common.ids.encode_id` computed in SQL: URL-safe
base64 of "Type:pk" without padding) and `label`; the other properties per layer:

- communities: code; grids: code; buildings: households (the label is the name, else the
  address);
- building_groups: code, buildings (how many): the group's shape is the convex hull of its
  buildings' footprints (a building known only as a point counts as a 16 m square);
- open_requests: number, status, category, categoryName, overdue (bool), escalationLevel,
  submittedAt and dueAt (Unix seconds, for "the last hour" filters in style expressions).

Below a layer's `min_zoom` its tiles are empty (a tile of a whole city would hold
100,000 buildings, megabytes): grids from z10, buildings and building groups from z15 (a z14
tile of the benchmark city holds 6,000 buildings: 480 KB and 100 ms).
Open requests are personal data: only those `viewer` may see (`serviceRequests`' rule).

For a GCJ-02 base map (AMap, Tencent) the tiles can come shifted into GCJ-02 (`shift`, from
`gcj02_shift`): the GCJ-02 offset at the tile's centre moves the whole tile. Near 衡阳 that is
within 0.4 m of the exact per-vertex transform at a z15 tile's corners and 8 m at z12's,
a quarter of a 256-pixel tile's pixel either way.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from domain.access import Viewer
from domain.requests.queries import CATEGORY_NAME_SQL, OPEN_SQL, VISIBLE_SQL, visible_params
from geo.crs import CoordSystem, from_wgs84

MAX_ZOOM = 22
EXTENT = 4096
BUFFER = 64
#: Web Mercator's width in metres: a tile's pixel is this / 2^z / EXTENT.
WORLD_METRES = 40075016.68557849



def node_id_sql(type_name: str, pk: str) -> str:
    """`encode_id(type_name, pk)` as a SQL expression (PostgreSQL's base64 breaks lines
    every 76 characters; translate drops the breaks and the padding is trimmed)."""
    return (f"rtrim(translate(encode(convert_to('{type_name}:' || {pk}, 'UTF8'), 'base64'), "
            "E'+/\\n', '-_'), '=')")


@dataclass(frozen=True)
class TileLayer:
    """One layer: `SELECT <properties>, <geom> AS geom FROM source WHERE <box filter> && the
    tile's box AND where [tail]`; `geom` is WGS-84.
    `static`: changes only on imports (cacheable, anyone may read it)."""

    properties: tuple[tuple[str, str], ...]  # (name, SQL expression)
    source: str
    geom: str
    where: str = "TRUE"
    tail: str = ""
    min_zoom: int = 0
    simplify: bool = True  # worth it for large polygons; footprints are a few vertices
    static: bool = True
    box_filter: str | None = None  # what the box filter compares, if not `geom`

    def features(self) -> str:
        columns = ", ".join(f'{expr} AS "{name}"' for name, expr in self.properties)
        return (f"SELECT {columns}, {self.geom} AS geom FROM {self.source} "
                f"WHERE {self.box_filter or self.geom} && t.box AND {self.where} {self.tail}")

    def names(self) -> str:
        return ", ".join(f'f."{name}"' for name, _ in self.properties)


def _request_properties() -> tuple[tuple[str, str], ...]:
    return (("id", node_id_sql("ServiceRequest", "r.id")),
            ("label", f"r.number || ' ' || {CATEGORY_NAME_SQL}"), ("number", "r.number"),
            ("status", "r.status"), ("category", "r.category"),
            ("categoryName", CATEGORY_NAME_SQL), ("overdue", "(r.overdue OR r.due_at < now())"),
            ("escalationLevel", "r.escalation_level"),
            ("submittedAt", "extract(epoch FROM r.submitted_at)::bigint"),
            ("dueAt", "extract(epoch FROM r.due_at)::bigint"))


LAYERS: dict[str, TileLayer] = {
    "communities": TileLayer(
        (("id", node_id_sql("Community", "c.id")), ("label", "c.name"), ("code", "c.code")),
        "community c", "c.boundary"),
    "grids": TileLayer(
        (("id", node_id_sql("Grid", "g.id")), ("label", "g.name"), ("code", "g.code")),
        "grid g", "g.boundary", min_zoom=10),
    "buildings": TileLayer(
        (("id", node_id_sql("Building", "b.id")), ("label", "COALESCE(b.name, b.address)"),
         ("households", "b.households")),
        "building b", "COALESCE(b.footprint, b.location)", min_zoom=15, simplify=False),
    "building_groups": TileLayer(
        (("id", node_id_sql("BuildingGroup", "bg.id")), ("label", "min(bg.name)"),
         ("code", "min(bg.code)"), ("buildings", "count(*)::int")),
        "building b JOIN building_group bg ON bg.id = b.group_id",
        "ST_ConvexHull(ST_Collect(COALESCE(b.footprint, ST_Expand(b.location, 0.00008))))",
        box_filter="COALESCE(b.footprint, b.location)", tail="GROUP BY bg.id", min_zoom=15,
        simplify=False),
    "open_requests": TileLayer(
        _request_properties(), "service_request r", "r.location",
        where=f"r.status IN ({OPEN_SQL}) AND {VISIBLE_SQL}", simplify=False, static=False),
}


def tile_in_range(z: int, x: int, y: int) -> str | None:
    """None for a valid tile address, else why not (for a 400 answer)."""
    if not 0 <= z <= MAX_ZOOM:
        return f"z must be from 0 to {MAX_ZOOM}, not {z}"
    side = 1 << z
    if not (0 <= x < side and 0 <= y < side):
        return f"at z {z}, x and y must be from 0 to {side - 1}, not {x} and {y}"
    return None


def _statement(layer: str) -> str:
    spec = LAYERS[layer]
    geom = ("ST_Transform(ST_Translate(f.geom, CAST(:dlon AS float8), CAST(:dlat AS float8)), "
            "3857)")
    if spec.simplify:
        geom = f"ST_SimplifyPreserveTopology({geom}, t.tolerance)"
    return f"""
        WITH t AS (SELECT ST_TileEnvelope(:z, :x, :y) AS tile,
                          ST_Translate(ST_Transform(ST_TileEnvelope(
                              :z, :x, :y, margin => {BUFFER / EXTENT}), 4326),
                              -CAST(:dlon AS float8), -CAST(:dlat AS float8)) AS box,
                          {WORLD_METRES} / (1 << :z) / {EXTENT} / 10 AS tolerance),
        mvt AS MATERIALIZED (SELECT {spec.names()},
                       ST_AsMVTGeom({geom}, t.tile, {EXTENT}, {BUFFER}, true) AS mvtgeom
                FROM t, LATERAL ({spec.features()}) AS f)
        SELECT ST_AsMVT(mvt, '{layer}', {EXTENT}, 'mvtgeom')
        FROM (SELECT * FROM mvt WHERE mvtgeom IS NOT NULL) AS mvt"""


_STATEMENTS = {layer: text(_statement(layer)) for layer in LAYERS}
#: A parallel plan made a z16 buildings tile ten times slower (a parallel sequential scan for
#: 400 rows: 18 ms against 1.9 ms through the index); a tile is small work, kept serial.
_SERIAL = text("SET LOCAL max_parallel_workers_per_gather = 0")


def gcj02_shift(z: int, x: int, y: int) -> tuple[float, float]:
    """(Δlon, Δlat) in degrees that moves WGS-84 positions near tile z/x/y's centre into
    GCJ-02 (0, 0 outside China)."""
    n = 1 << z
    lon = (x + 0.5) / n * 360 - 180
    lat = math.degrees(math.atan(math.sinh(math.pi * (1 - 2 * (y + 0.5) / n))))
    glon, glat = from_wgs84(lon, lat, CoordSystem.GCJ02)
    return glon - lon, glat - lat


async def vector_tile(session: AsyncSession, *, layer: str, z: int, x: int, y: int,
                      viewer: Viewer | None = None,
                      shift: tuple[float, float] = (0.0, 0.0)) -> bytes:
    """The MVT bytes of tile z/x/y of `layer` (a key of LAYERS; the address checked with
    `tile_in_range`); b"" when empty. Open requests only as far as `viewer` may see them
    (none without a viewer); moved by `shift` (degrees) when given. Runs in the session's
    transaction, whose parallel query it turns off (SET LOCAL)."""
    spec = LAYERS[layer]
    if z < spec.min_zoom:
        return b""
    params: dict[str, object] = {"z": z, "x": x, "y": y, "dlon": shift[0], "dlat": shift[1]}
    if not spec.static:
        params.update(visible_params(viewer))
    await session.execute(_SERIAL)
    value = (await session.execute(_STATEMENTS[layer], params)).scalar_one()
    return bytes(value or b"")


_BOUNDS = text("SELECT ST_XMin(e), ST_YMin(e), ST_XMax(e), ST_YMax(e) "
               "FROM (SELECT ST_Extent(boundary) AS e FROM community) AS x")


async def tiles_bounds(session: AsyncSession) -> list[float] | None:
    """[west, south, east, north] (WGS-84) of every community: where a map screen starts;
    None while nothing is imported."""
    row = (await session.execute(_BOUNDS)).one()
    return None if row[0] is None else [float(v) for v in row]
