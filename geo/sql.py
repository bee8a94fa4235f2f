"""SQL fragments for the spatial questions GridSteward asks PostGIS: covers, nearest, bbox.

Plain strings with named parameters so that one statement can answer a whole question in a
single round trip. Everything is in SRID 4326; distances are in metres on the geography type.
"""

from __future__ import annotations

import math

SRID = 4326
METRES_PER_DEGREE = 111_320.0


def point_sql(lon: str = ":lon", lat: str = ":lat") -> str:
    """A WGS-84 point built from two bound parameters."""
    return f"ST_SetSRID(ST_MakePoint({lon}, {lat}), {SRID})"


def envelope_sql(prefix: str = "") -> str:
    """A WGS-84 box from :west, :south, :east, :north (optionally prefixed names)."""
    return (f"ST_MakeEnvelope(:{prefix}west, :{prefix}south, :{prefix}east, :{prefix}north, "
            f"{SRID})")


def degrees_for_metres(metres: float, lat: float) -> float:
    """A search radius in degrees that surely contains `metres` around latitude `lat`.

    Used as an index-friendly prefilter (`ST_DWithin` on geometry) before the exact
    geography distance is computed.
    """
    shrink = max(math.cos(math.radians(min(abs(lat), 89.0))), 0.01)
    return metres / (METRES_PER_DEGREE * shrink) * 1.01


def within_metres_sql(geometry: str, point: str, metres: str) -> str:
    """`geometry` lies within `metres` of `point` (both in 4326, `point` a single-point
    expression): an index-friendly prefilter on geometry, by `degrees_for_metres` computed
    at the point's latitude, then the exact distance on the spheroid. Without the
    prefilter PostgreSQL computes a geography distance for every row."""
    degrees = (f"({metres} / ({METRES_PER_DEGREE} * GREATEST(cos(radians(LEAST("
               f"abs(ST_Y({point})), 89.0))), 0.01)) * 1.01)")
    return (f"ST_DWithin({geometry}, {point}, {degrees}) "
            f"AND ST_DWithin(({geometry})::geography, ({point})::geography, {metres})")


def covers_sql(column: str, point: str) -> str:
    """`column` covers `point`, boundary included (a point on an edge is covered)."""
    return f"ST_Covers({column}, {point})"


def geography_distance_sql(geometry: str, point: str) -> str:
    """Distance in metres on the WGS-84 spheroid."""
    return f"ST_Distance(({geometry})::geography, ({point})::geography)"
