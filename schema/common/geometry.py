"""Geometry in and out of the API: stored WGS-84 to GeoJSON in the caller's `crs`, and
caller points and boxes to WGS-84 with errors that name the field."""

from __future__ import annotations

from typing import Any

from geoalchemy2.shape import to_shape

from domain.errors import InvalidInput, UserError
from domain.spatial.directory import BBox
from geo.crs import CoordSystem, from_wgs84, to_wgs84, transform_geojson
from geo.geojson import InvalidGeometry, parse_position, to_geojson
from schema.common.scalars import GeoJSON


def geometry_out(value: Any, crs: CoordSystem) -> GeoJSON | None:
    """A stored geometry (WKB element) as GeoJSON in `crs`; None stays None."""
    if value is None:
        return None
    return GeoJSON(transform_geojson(to_geojson(to_shape(value)), CoordSystem.WGS84, crs))


def point_out(lon: float, lat: float, crs: CoordSystem) -> GeoJSON:
    """A WGS-84 position as a GeoJSON Point in `crs`."""
    x, y = from_wgs84(lon, lat, crs)
    return GeoJSON({"type": "Point", "coordinates": [round(x, 7), round(y, 7)]})


def point_in(lon: object, lat: object, crs: CoordSystem, field: str) -> tuple[float, float]:
    """A caller's point, checked and converted to WGS-84."""
    try:
        x, y = parse_position(lon, lat, where=field)
    except InvalidGeometry as exc:
        raise InvalidInput([UserError("INVALID_COORDINATES", p.reason, p.where)
                            for p in exc.problems]) from None
    return to_wgs84(x, y, crs)


def bbox_in(west: float, south: float, east: float, north: float, crs: CoordSystem,
            field: str) -> BBox:
    """A caller's box, checked (ranges, west < east, south < north) and converted to WGS-84."""
    west_, south_ = point_in(west, south, crs, field)
    east_, north_ = point_in(east, north, crs, field)
    errors = []
    if west_ >= east_:
        errors.append(UserError("INVALID_BBOX", "west must be less than east", f"{field}.west"))
    if south_ >= north_:
        errors.append(UserError("INVALID_BBOX", "south must be less than north",
                                f"{field}.south"))
    if errors:
        raise InvalidInput(errors)
    return BBox(west_, south_, east_, north_)
