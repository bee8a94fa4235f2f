"""Strict GeoJSON (RFC 7946) in and out: parse, validate and report every problem by place.

Geometry arrives from people (an import file drawn in a desktop GIS, a map screen), so a
problem is reported where it is, in words a person can act on, and nothing is repaired
silently: a polygon that crosses itself is refused with the place it crosses, not buffered
into something else. Output is RFC 7946: rounded positions, exterior rings counter-clockwise.
"""

from __future__ import annotations

import math
import re
from collections.abc import Collection, Iterator, Sequence
from dataclasses import dataclass, replace
from typing import Any

import shapely
from shapely.geometry import mapping, shape
from shapely.geometry.base import BaseGeometry
from shapely.geometry.polygon import orient
from shapely.validation import explain_validity

from geo.errors import GeometryProblem, InvalidGeometry

__all__ = [
    "ALL_TYPES", "Feature", "GeometryProblem", "InvalidGeometry", "parse_feature_collection",
    "parse_geometry", "parse_point", "to_geojson",
]

ALL_TYPES: frozenset[str] = frozenset({
    "Point", "MultiPoint", "LineString", "MultiLineString", "Polygon", "MultiPolygon",
    "GeometryCollection",
})
MAX_PROBLEMS_PER_GEOMETRY = 20

# How deep each type's `coordinates` nest, counting a position as 1, and how to say it.
_NESTING: dict[str, tuple[int, str]] = {
    "Point": (1, "a position [lon, lat]"),
    "MultiPoint": (2, "an array of positions"),
    "LineString": (2, "an array of positions"),
    "MultiLineString": (3, "an array of line strings (arrays of positions)"),
    "Polygon": (3, "an array of linear rings (arrays of positions)"),
    "MultiPolygon": (4, "an array of polygons (arrays of linear rings)"),
}
_MISSING = object()  # a member that is absent, as opposed to present and null
_ARRAY = (list, tuple)  # JSON arrays; tuples too, for geometry built in Python
_ORDINATES = ("longitude", "latitude", "height")
_VALIDITY = re.compile(r"^(?P<what>.*?)\s*\[(?P<x>\S+) (?P<y>\S+)\]$")


@dataclass
class Feature:
    """A feature that passed validation: its position in the collection and parsed geometry."""

    index: int
    properties: dict[str, Any]
    geometry: BaseGeometry
    raw_geometry: dict[str, Any]


def parse_geometry(obj: object, *, allowed: Collection[str] = ALL_TYPES,
                   where: str = "geometry", feature: str | None = None) -> BaseGeometry:
    """A shapely geometry from a GeoJSON geometry object; raises InvalidGeometry otherwise.

    `allowed` narrows the accepted types (a grid boundary must be a polygon); `where` and
    `feature` say in each problem where the input came from.
    """
    problems = _check_geometry(obj, allowed, where)
    if problems:
        raise InvalidGeometry(_capped([replace(p, feature=feature) for p in problems], where,
                                      feature))
    assert isinstance(obj, dict)
    return _build(obj)


def parse_point(lon: object, lat: object, *, where: str = "point") -> shapely.Point:
    """A point from separate longitude and latitude values, checked like a GeoJSON position."""
    return shapely.Point(*parse_position(lon, lat, where=where))


def parse_position(lon: object, lat: object, *, where: str = "point") -> tuple[float, float]:
    """Longitude and latitude checked like a GeoJSON position (numbers in range), as floats;
    raises InvalidGeometry naming `where.lon` or `where.lat`."""
    problems = [p for p in (_check_ordinate(lon, "longitude", 180, f"{where}.lon"),
                            _check_ordinate(lat, "latitude", 90, f"{where}.lat")) if p]
    if problems:
        raise InvalidGeometry(problems)
    assert isinstance(lon, (int, float)) and isinstance(lat, (int, float))
    return float(lon), float(lat)


def to_geojson(geom: BaseGeometry, precision: int = 7) -> dict[str, Any]:
    """An RFC 7946 geometry dict: lists, positions rounded to `precision` decimals (7 is about
    1 cm), exterior rings counter-clockwise and holes clockwise."""
    return _round(mapping(_orient(geom)), precision)


def parse_feature_collection(obj: object, *, where: str = "collection"
                             ) -> tuple[list[Feature], list[GeometryProblem]]:
    """The valid features of a FeatureCollection and every problem found in the others.

    All features are checked, so one import attempt reports everything at once; a feature
    with a problem is left out of the list.
    """
    if not isinstance(obj, dict):
        return [], [GeometryProblem(where, f"expected a FeatureCollection object, "
                                           f"got {_json_type(obj)}")]
    if obj.get("type") != "FeatureCollection":
        return [], [GeometryProblem(f"{where}.type", "expected type \"FeatureCollection\", "
                                                     f"got {_show(obj.get('type'))}")]
    items = obj.get("features")
    if not isinstance(items, _ARRAY):
        return [], [GeometryProblem(f"{where}.features", "features must be an array, "
                                                         f"got {_json_type(items)}")]
    features: list[Feature] = []
    problems: list[GeometryProblem] = []
    for index, item in enumerate(items):
        feature, found = _parse_feature(item, index, f"{where}.features[{index}]")
        problems += found
        if feature is not None:
            features.append(feature)
    return features, problems


def _parse_feature(item: object, index: int, where: str
                   ) -> tuple[Feature | None, list[GeometryProblem]]:
    label = f"features[{index}]"
    if not isinstance(item, dict):
        return None, [GeometryProblem(where, f"a feature must be an object, got "
                                             f"{_json_type(item)}", label)]
    properties = item.get("properties", _MISSING)
    if isinstance(properties, dict):
        label = _feature_label(properties, index)
    problems = _check_feature_members(item, properties, where, label)
    geometry: BaseGeometry | None = None
    if item.get("geometry") is not None:
        try:
            geometry = parse_geometry(item["geometry"], where=f"{where}.geometry", feature=label)
        except InvalidGeometry as exc:
            problems += exc.problems
    if problems or geometry is None:
        return None, problems
    props = properties if isinstance(properties, dict) else {}  # RFC 7946 allows null
    return Feature(index, props, geometry, item["geometry"]), []


def _check_feature_members(item: dict[str, Any], properties: object, where: str,
                           label: str) -> list[GeometryProblem]:
    """Problems with a feature's own members: type, properties, geometry present."""
    problems = []
    if item.get("type") != "Feature":
        problems.append(GeometryProblem(f"{where}.type", "expected type \"Feature\", got "
                                                         f"{_show(item.get('type'))}", label))
    if properties is _MISSING:
        problems.append(GeometryProblem(f"{where}.properties", "properties is missing", label))
    elif properties is not None and not isinstance(properties, dict):
        problems.append(GeometryProblem(f"{where}.properties", "properties must be an object, "
                                        f"got {_json_type(properties)}", label))
    if item.get("geometry") is None:
        state = "null" if "geometry" in item else "missing"
        problems.append(GeometryProblem(f"{where}.geometry", f"geometry is {state}; every "
                                        "feature needs one", label))
    return problems


def _feature_label(properties: dict[str, Any], index: int) -> str:
    """How a person knows the feature: 'building "B07"', else its place in the list."""
    code, layer = properties.get("code"), properties.get("layer")
    if isinstance(code, (str, int)) and not isinstance(code, bool) and str(code).strip():
        return f'{layer} "{code}"' if isinstance(layer, str) and layer else f'feature "{code}"'
    return f"features[{index}]"


def _check_geometry(obj: object, allowed: Collection[str], where: str) -> list[GeometryProblem]:
    if not isinstance(obj, dict):
        return [GeometryProblem(where, f"a geometry must be an object, got {_json_type(obj)}")]
    kind = obj.get("type")
    if kind not in ALL_TYPES:
        return [GeometryProblem(f"{where}.type", f"unknown geometry type {_show(kind)}; "
                                f"expected one of {', '.join(sorted(ALL_TYPES))}")]
    if kind not in allowed:
        return [GeometryProblem(f"{where}.type", f"a {kind} is not allowed here; expected "
                                f"{' or '.join(sorted(allowed))}")]
    if kind == "GeometryCollection":
        return _check_collection(obj.get("geometries", _MISSING), f"{where}.geometries")
    problems = _check_coordinates(kind, obj.get("coordinates", _MISSING), f"{where}.coordinates")
    if not problems:
        problems = _check_validity(_build(obj), f"{where}.coordinates")
    return problems


def _check_collection(members: object, where: str) -> list[GeometryProblem]:
    if members is _MISSING or not isinstance(members, _ARRAY):
        return [GeometryProblem(where, "geometries must be an array of geometries, got "
                                       f"{_json_type(members)}")]
    if not members:
        return [GeometryProblem(where, "empty geometries are not accepted")]
    return [p for i, member in enumerate(members)
            for p in _check_geometry(member, ALL_TYPES, f"{where}[{i}]")]


def _check_coordinates(kind: str, coords: object, where: str) -> list[GeometryProblem]:
    """Shape, positions, and the per-type rules (line length, ring closure) of `coordinates`."""
    depth, described = _NESTING[kind]
    if coords is _MISSING:
        return [GeometryProblem(where, f"coordinates are missing; a {kind} needs {described}")]
    if isinstance(coords, _ARRAY) and not coords:
        return [GeometryProblem(where, "empty geometries are not accepted")]
    found, reached_empty = _nesting(coords)
    if not reached_empty and found != depth:
        return [GeometryProblem(where, f"a {kind} needs {described}; these coordinates nest "
                                       f"{found} deep instead of {depth}")]
    problems = _check_arrays(coords, depth, where) or _check_dimensions(coords, depth, where)
    if not problems and isinstance(coords, _ARRAY):
        problems = _check_parts(kind, coords, where)
    return problems


def _nesting(value: object) -> tuple[int, bool]:
    """How deep the first elements nest, and whether an empty array cut the walk short."""
    depth = 0
    while isinstance(value, _ARRAY):
        depth += 1
        if not value:
            return depth, True
        value = value[0]
    return depth, False


def _check_arrays(value: object, depth: int, where: str) -> list[GeometryProblem]:
    if depth == 1:
        return _check_position(value, where)
    if not isinstance(value, _ARRAY):
        return [GeometryProblem(where, f"expected an array, got {_json_type(value)}")]
    return [p for i, item in enumerate(value) for p in _check_arrays(item, depth - 1,
                                                                     f"{where}[{i}]")]


def _check_dimensions(coords: Any, depth: int, where: str) -> list[GeometryProblem]:
    """All positions of one geometry have a height, or none has."""
    positions = list(_positions(coords, depth, where))
    size = len(positions[0][1])
    return [GeometryProblem(path, f"position has {len(position)} values but "
                                  f"{positions[0][0]} has {size}; all positions of a "
                                  "geometry need the same number")
            for path, position in positions if len(position) != size]


def _positions(value: Any, depth: int, where: str) -> Iterator[tuple[str, Sequence[Any]]]:
    if depth == 1:
        yield where, value
        return
    for i, item in enumerate(value):
        yield from _positions(item, depth - 1, f"{where}[{i}]")


def _check_position(value: object, where: str) -> list[GeometryProblem]:
    if not isinstance(value, _ARRAY) or len(value) not in (2, 3):
        got = f"{len(value)} values" if isinstance(value, _ARRAY) else _json_type(value)
        return [GeometryProblem(where, f"a position must be [lon, lat] or [lon, lat, height], "
                                       f"got {got}")]
    problems = [GeometryProblem(where, f"{_ORDINATES[i]} must be a finite number, got "
                                       f"{_show(v)}")
                for i, v in enumerate(value) if not _is_number(v)]
    if problems:
        return problems
    lon, lat = value[0], value[1]
    if not -180 <= lon <= 180:
        problems.append(GeometryProblem(where, f"longitude {lon} is out of range [-180, 180]"))
    if not -90 <= lat <= 90:
        swapped = -90 <= lon <= 90 and -180 <= lat <= 180
        hint = " (are longitude and latitude swapped?)" if swapped else ""
        problems.append(GeometryProblem(where, f"latitude {lat} is out of range [-90, 90]{hint}"))
    return problems


def _check_parts(kind: str, coords: Sequence[Any], where: str) -> list[GeometryProblem]:
    """The rules below the position level: enough points per line, closed rings, no empties."""
    if kind == "LineString":
        return _check_line(coords, where)
    if kind == "MultiLineString":
        return [p for i, line in enumerate(coords) for p in _check_line(line, f"{where}[{i}]")]
    if kind == "Polygon":
        return _check_polygon(coords, where)
    if kind == "MultiPolygon":
        return [p for i, poly in enumerate(coords) for p in _check_polygon(poly, f"{where}[{i}]")]
    return []


def _check_line(line: Sequence[Any], where: str) -> list[GeometryProblem]:
    if len(line) < 2:
        return [GeometryProblem(where, f"a line needs at least 2 positions, got {len(line)}")]
    return []


def _check_polygon(rings: Sequence[Any], where: str) -> list[GeometryProblem]:
    if not rings:
        return [GeometryProblem(where, "empty polygons are not accepted")]
    return [p for i, ring in enumerate(rings) for p in _check_ring(ring, f"{where}[{i}]")]


def _check_ring(ring: Sequence[Any], where: str) -> list[GeometryProblem]:
    if len(ring) < 4:
        return [GeometryProblem(where, f"a linear ring needs at least 4 positions, got "
                                       f"{len(ring)}")]
    first, last = list(ring[0]), list(ring[-1])
    if first != last:
        return [GeometryProblem(where, f"ring is not closed: first position {first} differs "
                                       f"from last {last}")]
    return []


def _check_validity(geom: BaseGeometry, where: str) -> list[GeometryProblem]:
    """OGC validity of polygons, part by part first so that the place is as precise as it can
    be; then the whole (parts of a MultiPolygon that overlap)."""
    if geom.geom_type == "MultiPolygon":
        problems = [p for i, part in enumerate(geom.geoms)
                    for p in _check_validity(part, f"{where}[{i}]")]
        if problems:
            return problems
    if geom.geom_type in ("Polygon", "MultiPolygon") and not geom.is_valid:
        kind = geom.geom_type.replace("MultiPolygon", "multipolygon").lower()
        return [GeometryProblem(where, f"{kind} is invalid: "
                                       f"{_validity_reason(explain_validity(geom))}")]
    return []


def _validity_reason(text: str) -> str:
    """GEOS's "Self-intersection[112.61 26.9]" as "self-intersection at [112.61, 26.9]"."""
    match = _VALIDITY.match(text)
    if match is None:
        return text[:1].lower() + text[1:]
    what = match["what"]
    return f"{what[:1].lower()}{what[1:]} at [{match['x']}, {match['y']}]"


def _build(obj: dict[str, Any]) -> BaseGeometry:
    geom: BaseGeometry = shape(obj)
    return geom


def _capped(problems: list[GeometryProblem], where: str,
            feature: str | None) -> list[GeometryProblem]:
    """At most MAX_PROBLEMS_PER_GEOMETRY problems, then one line that counts the rest (a file
    with longitude and latitude swapped would otherwise report every position)."""
    if len(problems) <= MAX_PROBLEMS_PER_GEOMETRY:
        return problems
    rest = len(problems) - MAX_PROBLEMS_PER_GEOMETRY
    return [*problems[:MAX_PROBLEMS_PER_GEOMETRY],
            GeometryProblem(where, f"... and {rest} more problems in this geometry", feature)]


def _check_ordinate(value: object, name: str, limit: int, where: str) -> GeometryProblem | None:
    if not _is_number(value):
        return GeometryProblem(where, f"{name} must be a finite number, got {_show(value)}")
    assert isinstance(value, (int, float))
    if not -limit <= value <= limit:
        return GeometryProblem(where, f"{name} {value} is out of range [-{limit}, {limit}]")
    return None


def _is_number(value: object) -> bool:
    return (isinstance(value, (int, float)) and not isinstance(value, bool)
            and math.isfinite(value))


def _orient(geom: BaseGeometry) -> BaseGeometry:
    if geom.geom_type == "Polygon":
        return orient(geom, 1.0)
    if geom.geom_type in ("MultiPolygon", "GeometryCollection"):
        parts = [_orient(g) for g in geom.geoms]
        return type(geom)(parts)
    return geom


def _round(value: Any, precision: int) -> Any:
    if isinstance(value, float):
        return round(value, precision)
    if isinstance(value, (list, tuple)):
        return [_round(v, precision) for v in value]
    if isinstance(value, dict):
        return {k: _round(v, precision) for k, v in value.items()}
    return value


def _json_type(value: object) -> str:
    """The JSON name of a value's type, with an article, for messages."""
    if value is _MISSING:
        return "nothing"
    names = {bool: "a boolean", int: "a number", float: "a number", str: "a string",
             list: "an array", dict: "an object", type(None): "null"}
    return names.get(type(value), type(value).__name__)


def _show(value: object) -> str:
    """A short quotation of a value for a message."""
    if value is _MISSING:
        return "nothing"
    if value is None or isinstance(value, bool):
        return "null" if value is None else str(value).lower()
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."
