"""Coordinate systems used by maps in China: WGS-84 (GPS, storage), GCJ-02 (AMap, Tencent) and
BD-09 (Baidu), and conversion between them.

GCJ-02 is WGS-84 plus a deterministic, non-invertible offset of up to a few hundred metres,
applied only inside China; BD-09 adds a further offset on top of GCJ-02. The forward formulas
are the well-known public-domain ones (Krasovsky 1940 ellipsoid). The inverses have no closed
form, so they are solved iteratively to millimetre accuracy: a point a map screen sends must
land on the right building, not one street over.

Outside China both offsets are left out (Baidu and AMap use WGS-84 abroad), so every function
here is the identity there.
"""

from __future__ import annotations

import enum
import math
from collections.abc import Callable
from typing import Any

_A = 6378245.0  # Krasovsky 1940 semi-major axis, metres
_EE = 0.00669342162296594323  # Krasovsky 1940 first eccentricity squared
_X_PI = math.pi * 3000.0 / 180.0
_TOLERANCE_DEGREES = 1e-10  # about 0.01 mm; the loop stops well inside the 1 cm aim
_MAX_ITERATIONS = 30

Position = tuple[float, float]


class CoordSystem(enum.Enum):
    """A geographic coordinate system a client may send or want back."""

    WGS84 = "WGS84"
    GCJ02 = "GCJ02"
    BD09 = "BD09"


def out_of_china(lon: float, lat: float) -> bool:
    """True outside the rectangle in which the GCJ-02 offset applies (the standard test)."""
    return not (72.004 <= lon <= 137.8347 and 0.8293 <= lat <= 55.8271)


def to_wgs84(lon: float, lat: float, crs: CoordSystem) -> Position:
    """A position given in `crs` as WGS-84."""
    if crs is CoordSystem.WGS84 or out_of_china(lon, lat):
        return lon, lat
    if crs is CoordSystem.GCJ02:
        return _gcj02_to_wgs84(lon, lat)
    return _gcj02_to_wgs84(*_bd09_to_gcj02(lon, lat))


def from_wgs84(lon: float, lat: float, crs: CoordSystem) -> Position:
    """A WGS-84 position expressed in `crs`."""
    if crs is CoordSystem.WGS84 or out_of_china(lon, lat):
        return lon, lat
    gcj = _wgs84_to_gcj02(lon, lat)
    if crs is CoordSystem.GCJ02:
        return gcj
    return _gcj02_to_bd09(*gcj)


def transform_geojson(geometry: dict[str, Any], source: CoordSystem,
                      target: CoordSystem) -> dict[str, Any]:
    """A copy of a GeoJSON geometry with every position mapped from `source` to `target`.

    Any geometry type, GeometryCollection included; a third ordinate (height) is kept, a
    `bbox` member is left out. The same system on both sides returns `geometry` itself.
    """
    if source is target:
        return geometry

    def convert(lon: float, lat: float) -> Position:
        return from_wgs84(*to_wgs84(lon, lat, source), target)

    return _map_geometry(geometry, convert)


def _map_geometry(geometry: dict[str, Any],
                  convert: Callable[[float, float], Position]) -> dict[str, Any]:
    # A bbox would still be in the source system, and a wrong box is worse than none.
    result = {k: v for k, v in geometry.items() if k != "bbox"}
    if geometry.get("type") == "GeometryCollection":
        result["geometries"] = [_map_geometry(g, convert) for g in geometry["geometries"]]
    elif "coordinates" in geometry:
        result["coordinates"] = _map_coordinates(geometry["coordinates"], convert)
    return result


def _map_coordinates(coords: Any, convert: Callable[[float, float], Position]) -> Any:
    """Nested coordinate arrays with each position converted; depth follows the input."""
    if coords and isinstance(coords[0], (int, float)):
        x, y = convert(float(coords[0]), float(coords[1]))
        return [x, y, *coords[2:]]
    return [_map_coordinates(c, convert) for c in coords]


def _offset_lat(x: float, y: float) -> float:
    ret = -100.0 + 2.0 * x + 3.0 * y + 0.2 * y * y + 0.1 * x * y + 0.2 * math.sqrt(abs(x))
    ret += (20.0 * math.sin(6.0 * x * math.pi) + 20.0 * math.sin(2.0 * x * math.pi)) * 2.0 / 3.0
    ret += (20.0 * math.sin(y * math.pi) + 40.0 * math.sin(y / 3.0 * math.pi)) * 2.0 / 3.0
    ret += (160.0 * math.sin(y / 12.0 * math.pi) + 320.0 * math.sin(y * math.pi / 30.0)) * 2.0 / 3.0
    return ret


def _offset_lon(x: float, y: float) -> float:
    ret = 300.0 + x + 2.0 * y + 0.1 * x * x + 0.1 * x * y + 0.1 * math.sqrt(abs(x))
    ret += (20.0 * math.sin(6.0 * x * math.pi) + 20.0 * math.sin(2.0 * x * math.pi)) * 2.0 / 3.0
    ret += (20.0 * math.sin(x * math.pi) + 40.0 * math.sin(x / 3.0 * math.pi)) * 2.0 / 3.0
    ret += (150.0 * math.sin(x / 12.0 * math.pi) + 300.0 * math.sin(x / 30.0 * math.pi)) * 2.0 / 3.0
    return ret


def _wgs84_to_gcj02(lon: float, lat: float) -> Position:
    """The GCJ-02 forward offset, without the out-of-China test (the inverse needs it smooth)."""
    dlat = _offset_lat(lon - 105.0, lat - 35.0)
    dlon = _offset_lon(lon - 105.0, lat - 35.0)
    radlat = lat / 180.0 * math.pi
    magic = 1.0 - _EE * math.sin(radlat) ** 2
    sqrtmagic = math.sqrt(magic)
    dlat = (dlat * 180.0) / ((_A * (1.0 - _EE)) / (magic * sqrtmagic) * math.pi)
    dlon = (dlon * 180.0) / (_A / sqrtmagic * math.cos(radlat) * math.pi)
    return lon + dlon, lat + dlat


def _gcj02_to_bd09(lon: float, lat: float) -> Position:
    z = math.hypot(lon, lat) + 0.00002 * math.sin(lat * _X_PI)
    theta = math.atan2(lat, lon) + 0.000003 * math.cos(lon * _X_PI)
    return z * math.cos(theta) + 0.0065, z * math.sin(theta) + 0.006


def _bd09_to_gcj02_approx(lon: float, lat: float) -> Position:
    """The published closed-form BD-09 inverse; good to about a metre, a starting guess."""
    x, y = lon - 0.0065, lat - 0.006
    z = math.hypot(x, y) - 0.00002 * math.sin(y * _X_PI)
    theta = math.atan2(y, x) - 0.000003 * math.cos(x * _X_PI)
    return z * math.cos(theta), z * math.sin(theta)


def _gcj02_to_wgs84(lon: float, lat: float) -> Position:
    return _invert(_wgs84_to_gcj02, lon, lat, (lon, lat))


def _bd09_to_gcj02(lon: float, lat: float) -> Position:
    return _invert(_gcj02_to_bd09, lon, lat, _bd09_to_gcj02_approx(lon, lat))


def _invert(forward: Callable[[float, float], Position], lon: float, lat: float,
            guess: Position) -> Position:
    """Solve forward(p) == (lon, lat) by fixed-point iteration from `guess`.

    Each offset changes by far less than a degree per degree, so stepping by the remaining
    error converges geometrically (a handful of steps to 1e-10 degrees).
    """
    x, y = guess
    for _ in range(_MAX_ITERATIONS):
        fx, fy = forward(x, y)
        dx, dy = lon - fx, lat - fy
        x, y = x + dx, y + dy
        if abs(dx) < _TOLERANCE_DEGREES and abs(dy) < _TOLERANCE_DEGREES:
            break
    return x, y
