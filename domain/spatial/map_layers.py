"""Map layers for dispatch screens: one GeoJSON FeatureCollection built in SQL per request.

Each feature carries properties.layer (lower case), properties.id (the raw database id, turned
into a Node id by the schema layer), properties.label and a few layer-specific properties.
Every layer shows what the viewer may see by its kind's rule (domain.visibility: staff of
territories the places and requests of their communities); open service requests are
personal data, shown only as serviceRequests shows them, and none when no viewer is given.

An answer holds at most MAX_FEATURES features: a box with more (a whole district's buildings)
is refused with TOO_MANY_FEATURES rather than built, since one answer for a whole city was
216 MB and took a worker down. The features are counted first, each layer up to
MAX_FEATURES + 1 rows, through an index on what its box filter compares (building: the
expression index on COALESCE(footprint, location), migration 0009); a refusal reads no
geometry.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from domain.access import Viewer
from domain.errors import InvalidInput
from domain.requests.queries import CATEGORY_NAME_SQL, OPEN_SQL
from domain.spatial.directory import BBox
from domain.visibility import Kind, condition, visible_params
from geo.sql import envelope_sql

#: The most features one mapFeatures answer holds; past it, narrow the box or use the map
#: screen's vector tiles (GET /tiles/{layer}/{z}/{x}/{y}.mvt, the map screen issue).
MAX_FEATURES = 5000

_BOX = envelope_sql()

@dataclass(frozen=True)
class _Layer:
    """A layer's SQL: its features are `SELECT columns FROM source [join] WHERE where AND
    visible [tail]`; counting them needs only `FROM source WHERE where AND visible`.
    `visible` is the rule of `kind` (domain.visibility) on the source's alias."""

    columns: str
    source: str
    where: str
    kind: Kind
    join: str = ""
    tail: str = ""

    @property
    def alias(self) -> str:
        return self.source.split()[-1]

    def features(self, viewer: Viewer | None) -> str:
        return (f"SELECT {self.columns} FROM {self.source} {self.join} "
                f"WHERE {self.where} AND {condition(viewer, self.kind, self.alias)} "
                f"{self.tail}")

    def rows(self, viewer: Viewer | None) -> str:
        """At most :limit rows, one per feature."""
        return (f"SELECT 1 FROM {self.source} WHERE {self.where} AND "
                f"{condition(viewer, self.kind, self.alias)} LIMIT :limit")


_LAYERS: dict[str, _Layer] = {
    "COMMUNITIES": _Layer(
        "'communities' AS layer, 'Community' AS kind, c.id, c.name AS label, "
        "json_build_object('code', c.code) AS extra, c.boundary AS geom",
        "community c", f"c.boundary && {_BOX}", Kind.COMMUNITY),
    "GRIDS": _Layer(
        "'grids', 'Grid', g.id, g.name, json_build_object('code', g.code, "
        "'communityId', g.community_id), g.boundary",
        "grid g", f"g.boundary && {_BOX}", Kind.GRID),
    "BUILDINGS": _Layer(
        "'buildings', 'Building', b.id, COALESCE(b.name, b.address), "
        "json_build_object('code', b.code, 'address', b.address, 'gridId', b.grid_id, "
        "'buildingGroupId', b.group_id, 'households', b.households), "
        "COALESCE(b.footprint, b.location)",
        "building b", f"COALESCE(b.footprint, b.location) && {_BOX}", Kind.BUILDING),
    "BUILDING_GROUPS": _Layer(
        "'building_groups', 'BuildingGroup', bg.id, bg.name, json_build_object('code', "
        "bg.code, 'gridId', bg.grid_id, 'buildings', count(b.id)), "
        "ST_Union(COALESCE(b.footprint, ST_Buffer(b.location::geography, 8)::geometry))",
        "building_group bg", f"bg.id IN (SELECT group_id FROM building WHERE location && {_BOX})",
        Kind.BUILDING_GROUP, join="JOIN building b ON b.group_id = bg.id", tail="GROUP BY bg.id"),
    "OPEN_REQUESTS": _Layer(
        f"'open_requests', 'ServiceRequest', r.id, r.number || ' ' || {CATEGORY_NAME_SQL}, "
        "json_build_object('number', r.number, 'category', r.category, 'status', r.status, "
        "'escalationLevel', r.escalation_level, 'dueAt', r.due_at, "
        "'overdue', r.overdue OR r.due_at < now()), r.location",
        "service_request r",
        f"r.status IN ({OPEN_SQL}) AND r.location && {_BOX}", Kind.SERVICE_REQUEST),
}


def _statement(layers: list[str], viewer: Viewer | None) -> str:
    """How many features (each layer counted up to :limit) and, only when at most :cap, the
    FeatureCollection: its subquery's condition on the count is a one-time filter, so past
    the cap no geometry is read or built. One round trip either way."""
    rows = "\nUNION ALL\n".join(f"({_LAYERS[layer].rows(viewer)})" for layer in layers)
    features = "\nUNION ALL\n".join(f"({_LAYERS[layer].features(viewer)})"
                                     for layer in layers)
    return f"""
        WITH n AS (SELECT count(*) AS n FROM ({rows}) AS r)
        SELECT n.n, (SELECT json_build_object('type', 'FeatureCollection', 'features',
          COALESCE(json_agg(json_build_object(
            'type', 'Feature', 'geometry', ST_AsGeoJSON(f.geom, 7)::json,
            'properties', json_build_object('layer', f.layer, 'kind', f.kind, 'id', f.id,
                                            'label', f.label)::jsonb || f.extra::jsonb)
            ORDER BY f.layer, f.id), '[]'::json))
          FROM ({features}) AS f(layer, kind, id, label, extra, geom) WHERE n.n <= :cap)
        FROM n"""


async def map_features(session: AsyncSession, *, bbox: BBox, layers: list[str],
                       viewer: Viewer | None = None,
                       max_features: int = MAX_FEATURES) -> dict[str, Any]:
    """A FeatureCollection of the requested layers intersecting `bbox` (WGS-84), each as far
    as `viewer` may see it (open requests, label number and category, none without one).
    More than `max_features` features: InvalidInput TOO_MANY_FEATURES on `bbox`."""
    wanted = [layer for layer in _LAYERS if layer in layers]
    if not wanted:
        return {"type": "FeatureCollection", "features": []}
    params = {"west": bbox.west, "south": bbox.south, "east": bbox.east, "north": bbox.north,
              "limit": max_features + 1, "cap": max_features, **visible_params(viewer)}
    count, value = (await session.execute(text(_statement(wanted, viewer)), params)).one()
    if count > max_features:
        raise InvalidInput.one(
            "TOO_MANY_FEATURES", f"more than {max_features:,} features in this box: narrow "
            "the box, or use the map screen's vector tiles (/tiles/{layer}/{z}/{x}/{y}.mvt)",
            "bbox")
    return value if isinstance(value, dict) else json.loads(value)
