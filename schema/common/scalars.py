"""Custom scalars. `GeoJSON` is the annotation; `GEOJSON_SCALAR` its definition, installed on
the schema with `scalar_overrides` (so type checkers see an ordinary type)."""

from __future__ import annotations

from typing import Any, NewType

import strawberry

GeoJSON = NewType("GeoJSON", dict[str, Any])

GEOJSON_SCALAR = strawberry.scalar(
    name="GeoJSON",
    serialize=lambda value: value,
    parse_value=lambda value: value,
    description="An RFC 7946 GeoJSON object (Geometry, Feature or FeatureCollection), "
    "longitude first.",
)
