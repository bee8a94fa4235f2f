"""Custom scalars. `GeoJSON` is the annotation; `GEOJSON_SCALAR` its definition, installed on
the schema with `scalar_overrides` (so type checkers see an ordinary type), like
`DATETIME_SCALAR`, which replaces strawberry's DateTime by one that insists on an offset."""

from __future__ import annotations

from datetime import datetime
from typing import Any, NewType

import strawberry

from schema.common.decoding import parse_datetime

GeoJSON = NewType("GeoJSON", dict[str, Any])

GEOJSON_SCALAR = strawberry.scalar(
    name="GeoJSON",
    serialize=lambda value: value,
    parse_value=lambda value: value,
    description="An RFC 7946 GeoJSON object (Geometry, Feature or FeatureCollection), "
    "longitude first.",
)

DATETIME_SCALAR = strawberry.scalar(
    name="DateTime",
    serialize=datetime.isoformat,
    parse_value=parse_datetime,
    description="An ISO 8601 date and time with its offset from UTC, e.g. "
    "2026-01-01T00:00:00+08:00 or 2026-01-01T00:00:00Z; one without an offset is refused "
    "(INVALID_DATETIME). Answers are in UTC.",
)

#: Every scalar override, for `strawberry.Schema(scalar_overrides=...)`.
SCALAR_OVERRIDES: dict[object, Any] = {GeoJSON: GEOJSON_SCALAR, datetime: DATETIME_SCALAR}
