"""Strict GeoJSON parsing: every problem found, placed and explained; nothing repaired."""

from __future__ import annotations

import math
from typing import Any

import pytest
import shapely

from geo.geojson import (
    MAX_PROBLEMS_PER_GEOMETRY,
    Feature,
    GeometryProblem,
    InvalidGeometry,
    parse_feature_collection,
    parse_geometry,
    parse_point,
    to_geojson,
)

SQUARE = [[112.60, 26.90], [112.61, 26.90], [112.61, 26.91], [112.60, 26.91], [112.60, 26.90]]
HOLE = [[112.602, 26.902], [112.602, 26.905], [112.605, 26.905], [112.602, 26.902]]
BOWTIE = [[112.60, 26.90], [112.62, 26.90], [112.60, 26.92], [112.62, 26.92], [112.60, 26.90]]


def polygon(*rings: list[list[float]]) -> dict[str, Any]:
    return {"type": "Polygon", "coordinates": list(rings)}


def problems_of(obj: object, **kwargs: Any) -> list[GeometryProblem]:
    with pytest.raises(InvalidGeometry) as caught:
        parse_geometry(obj, **kwargs)
    return caught.value.problems


def only_problem(obj: object, **kwargs: Any) -> GeometryProblem:
    problems = problems_of(obj, **kwargs)
    assert len(problems) == 1, problems
    return problems[0]


def feature(geometry: object, **properties: Any) -> dict[str, Any]:
    return {"type": "Feature", "properties": properties, "geometry": geometry}


def collection(*features: object) -> dict[str, Any]:
    return {"type": "FeatureCollection", "features": list(features)}


# --- valid input ---------------------------------------------------------------------------------

@pytest.mark.parametrize(("obj", "geom_type"), [
    ({"type": "Point", "coordinates": [112.6, 26.9]}, "Point"),
    ({"type": "Point", "coordinates": [112.6, 26.9, 58.0]}, "Point"),
    ({"type": "MultiPoint", "coordinates": [[112.6, 26.9], [112.7, 26.9]]}, "MultiPoint"),
    ({"type": "LineString", "coordinates": [[112.6, 26.9], [112.7, 26.9]]}, "LineString"),
    ({"type": "MultiLineString", "coordinates": [[[112.6, 26.9], [112.7, 26.9]]]},
     "MultiLineString"),
    (polygon(SQUARE), "Polygon"),
    (polygon(SQUARE, HOLE), "Polygon"),
    ({"type": "MultiPolygon", "coordinates": [[SQUARE], [[[p[0] + 0.1, p[1]] for p in SQUARE]]]},
     "MultiPolygon"),
    ({"type": "GeometryCollection", "geometries": [
        {"type": "Point", "coordinates": [112.6, 26.9]}, polygon(SQUARE)]}, "GeometryCollection"),
])
def test_valid_geometries_parse(obj: dict[str, Any], geom_type: str) -> None:
    geom = parse_geometry(obj)
    assert geom.geom_type == geom_type
    assert geom.is_valid


def test_a_clockwise_exterior_ring_is_accepted() -> None:
    # RFC 7946 says parsers should not reject polygons that do not follow the winding rule.
    assert parse_geometry(polygon(SQUARE[::-1])).area > 0


def test_a_point_on_the_antimeridian_and_the_pole_is_in_range() -> None:
    assert parse_geometry({"type": "Point", "coordinates": [-180, 90]}).x == -180


# --- type and structure --------------------------------------------------------------------------

@pytest.mark.parametrize("obj", [None, [112.6, 26.9], "POINT (1 2)", 3])
def test_a_geometry_must_be_an_object(obj: object) -> None:
    problem = only_problem(obj)
    assert problem.where == "geometry"
    assert "must be an object" in problem.reason


@pytest.mark.parametrize("kind", ["Pointy", "point", None, "Feature", "FeatureCollection"])
def test_unknown_types_are_rejected(kind: object) -> None:
    problem = only_problem({"type": kind, "coordinates": [1, 2]})
    assert problem.where == "geometry.type"
    assert "unknown geometry type" in problem.reason


def test_allowed_restricts_types_and_names_them() -> None:
    problem = only_problem({"type": "Point", "coordinates": [112.6, 26.9]},
                           allowed={"Polygon", "MultiPolygon"})
    assert problem.where == "geometry.type"
    assert problem.reason == "a Point is not allowed here; expected MultiPolygon or Polygon"


def test_missing_coordinates() -> None:
    problem = only_problem({"type": "Polygon"})
    assert problem.where == "geometry.coordinates"
    assert "coordinates are missing" in problem.reason


def test_coordinates_of_the_wrong_depth() -> None:
    problem = only_problem({"type": "Polygon", "coordinates": SQUARE})
    assert problem.where == "geometry.coordinates"
    assert "a Polygon needs an array of linear rings" in problem.reason
    assert "nest 2 deep instead of 3" in problem.reason


def test_mixed_depth_is_placed() -> None:
    problem = only_problem({"type": "MultiPoint", "coordinates": [[112.6, 26.9], 112.7]})
    assert problem.where == "geometry.coordinates[1]"


@pytest.mark.parametrize("obj", [
    {"type": "Point", "coordinates": []},
    {"type": "MultiPoint", "coordinates": []},
    {"type": "LineString", "coordinates": []},
    {"type": "Polygon", "coordinates": []},
    {"type": "MultiPolygon", "coordinates": []},
    {"type": "GeometryCollection", "geometries": []},
])
def test_empty_geometries_are_rejected(obj: dict[str, Any]) -> None:
    assert "empty" in only_problem(obj).reason


def test_an_empty_part_of_a_multipolygon_is_rejected() -> None:
    problem = only_problem({"type": "MultiPolygon", "coordinates": [[SQUARE], []]})
    assert problem.where == "geometry.coordinates[1]"
    assert "empty" in problem.reason


def test_geometry_collection_members_are_checked_with_their_place() -> None:
    problem = only_problem({"type": "GeometryCollection", "geometries": [
        {"type": "Point", "coordinates": [112.6, 26.9]},
        {"type": "LineString", "coordinates": [[112.6, 26.9]]}]})
    assert problem.where == "geometry.geometries[1].coordinates"
    assert problem.reason == "a line needs at least 2 positions, got 1"


# --- positions -----------------------------------------------------------------------------------

@pytest.mark.parametrize(("position", "words"), [
    ([112.6], "got 1 values"),
    ([112.6, 26.9, 1.0, 2.0], "got 4 values"),
    ([True, 26.9], "got true"),
    ([112.6, "26.9"], "got '26.9'"),
    ([112.6, None], "got null"),
    ([math.nan, 26.9], "got nan"),
    ([112.6, math.inf], "got inf"),
])
def test_a_position_is_two_or_three_finite_numbers(position: list[Any], words: str) -> None:
    problem = only_problem({"type": "Point", "coordinates": position})
    assert problem.where == "geometry.coordinates"
    assert words in problem.reason


def test_the_bad_ordinate_is_named() -> None:
    problem = only_problem({"type": "Point", "coordinates": [112.6, "26.9"]})
    assert problem.reason == "latitude must be a finite number, got '26.9'"


def test_positions_of_one_geometry_share_a_dimension() -> None:
    line = {"type": "LineString", "coordinates": [[112.6, 26.9], [112.7, 26.9, 50.0]]}
    problem = only_problem(line)
    assert problem.where == "geometry.coordinates[1]"
    assert problem.reason.startswith("position has 3 values but geometry.coordinates[0] has 2")


def test_tuples_built_in_python_count_as_arrays() -> None:
    ring = tuple(tuple(p) for p in SQUARE)
    assert parse_geometry({"type": "Polygon", "coordinates": (ring,)}).area > 0


def test_longitude_out_of_range_is_named() -> None:
    problem = only_problem({"type": "LineString", "coordinates": [[112.6, 26.9], [212.6, 26.9]]})
    assert problem.where == "geometry.coordinates[1]"
    assert problem.reason == "longitude 212.6 is out of range [-180, 180]"


def test_latitude_out_of_range_is_named_and_a_swap_suspected() -> None:
    problem = only_problem({"type": "Point", "coordinates": [26.9, 112.6]})
    assert problem.reason == ("latitude 112.6 is out of range [-90, 90] "
                              "(are longitude and latitude swapped?)")


def test_every_bad_position_is_reported() -> None:
    ring = [[112.6, 26.9], [212.6, 26.9], [112.7, 96.9], [112.6, 27.0], [112.6, 26.9]]
    problems = problems_of(polygon(ring))
    assert [p.where for p in problems] == ["geometry.coordinates[0][1]",
                                           "geometry.coordinates[0][2]"]


def test_problems_are_capped_with_a_count_of_the_rest() -> None:
    line = {"type": "LineString", "coordinates": [[26.9, 112.6]] * 30}
    problems = problems_of(line)
    assert len(problems) == MAX_PROBLEMS_PER_GEOMETRY + 1
    assert problems[-1].reason == "... and 10 more problems in this geometry"


# --- rings and validity --------------------------------------------------------------------------

def test_a_ring_needs_four_positions() -> None:
    problem = only_problem(polygon(SQUARE[:2] + SQUARE[:1]))
    assert problem.where == "geometry.coordinates[0]"
    assert problem.reason == "a linear ring needs at least 4 positions, got 3"


def test_an_unclosed_ring_is_refused_not_closed() -> None:
    ring = [[112.6, 26.9], [112.7, 26.9], [112.7, 27.0], [112.65, 27.0], [112.7, 26.9]]
    problem = only_problem(polygon(SQUARE, ring))
    assert problem.where == "geometry.coordinates[1]"
    assert problem.reason == ("ring is not closed: first position [112.6, 26.9] differs from "
                              "last [112.7, 26.9]")


def test_a_self_intersecting_polygon_names_the_place() -> None:
    problem = only_problem(polygon(BOWTIE))
    assert problem.where == "geometry.coordinates"
    assert problem.reason == "polygon is invalid: self-intersection at [112.61, 26.91]"
    assert problem.code == "INVALID_GEOMETRY"


def test_a_hole_outside_its_shell() -> None:
    far_hole = [[p[0] + 1, p[1]] for p in HOLE]
    reason = only_problem(polygon(SQUARE, far_hole)).reason
    assert reason.startswith("polygon is invalid: hole lies outside shell at [")


def test_a_bad_part_of_a_multipolygon_is_placed() -> None:
    problem = only_problem({"type": "MultiPolygon", "coordinates": [[SQUARE], [BOWTIE]]})
    assert problem.where == "geometry.coordinates[1]"
    assert "self-intersection" in problem.reason


def test_overlapping_parts_of_a_multipolygon() -> None:
    shifted = [[p[0] + 0.005, p[1]] for p in SQUARE]
    problem = only_problem({"type": "MultiPolygon", "coordinates": [[SQUARE], [shifted]]})
    assert problem.where == "geometry.coordinates"
    assert problem.reason.startswith("multipolygon is invalid: ")


# --- the exception -------------------------------------------------------------------------------

def test_where_and_feature_reach_every_problem_and_str_lists_them() -> None:
    with pytest.raises(InvalidGeometry) as caught:
        parse_geometry(polygon(BOWTIE), where="input.boundary", feature='grid "G01"')
    error = caught.value
    assert isinstance(error, ValueError)
    assert error.problems[0].where == "input.boundary.coordinates"
    assert error.problems[0].feature == 'grid "G01"'
    assert str(error) == ('grid "G01": input.boundary.coordinates: polygon is invalid: '
                          "self-intersection at [112.61, 26.91]")


# --- parse_point ---------------------------------------------------------------------------------

def test_parse_point() -> None:
    point = parse_point(112.572, 26.894)
    assert isinstance(point, shapely.Point)
    assert (point.x, point.y) == (112.572, 26.894)
    assert parse_point(112, 26).x == 112.0


@pytest.mark.parametrize(("lon", "lat", "where", "words"), [
    (True, 26.9, "point.lon", "longitude must be a finite number, got true"),
    (112.6, "26.9", "point.lat", "latitude must be a finite number, got '26.9'"),
    (math.nan, 26.9, "point.lon", "got nan"),
    (112.6, -math.inf, "point.lat", "got -inf"),
    (None, 26.9, "point.lon", "got null"),
    (180.5, 26.9, "point.lon", "longitude 180.5 is out of range [-180, 180]"),
    (112.6, -91, "point.lat", "latitude -91 is out of range [-90, 90]"),
])
def test_parse_point_names_the_bad_ordinate(lon: object, lat: object, where: str,
                                            words: str) -> None:
    with pytest.raises(InvalidGeometry) as caught:
        parse_point(lon, lat)
    [problem] = caught.value.problems
    assert problem.where == where
    assert words in problem.reason


def test_parse_point_reports_both_ordinates_under_the_given_name() -> None:
    with pytest.raises(InvalidGeometry) as caught:
        parse_point(200, 100, where="input.location")
    assert [p.where for p in caught.value.problems] == ["input.location.lon",
                                                        "input.location.lat"]


# --- to_geojson ----------------------------------------------------------------------------------

def test_to_geojson_rounds_and_uses_lists() -> None:
    result = to_geojson(shapely.Point(112.123456789, 26.987654321))
    assert result == {"type": "Point", "coordinates": [112.1234568, 26.9876543]}
    assert to_geojson(shapely.Point(112.123456789, 26.9), precision=3)["coordinates"] == [
        112.123, 26.9]


def test_to_geojson_winds_exterior_rings_counter_clockwise() -> None:
    clockwise = shapely.Polygon(SQUARE[::-1], [HOLE[::-1]])
    result = to_geojson(clockwise)
    exterior, hole = (shapely.LinearRing(r) for r in result["coordinates"])
    assert exterior.is_ccw
    assert not hole.is_ccw


def test_to_geojson_round_trips_through_parse_geometry() -> None:
    for obj in (polygon(SQUARE, HOLE),
                {"type": "MultiPolygon", "coordinates": [[SQUARE]]},
                {"type": "GeometryCollection", "geometries": [polygon(SQUARE)]}):
        geom = parse_geometry(obj)
        assert parse_geometry(to_geojson(geom)).equals(geom)


# --- feature collections -------------------------------------------------------------------------

def test_a_valid_collection() -> None:
    geometry = polygon(SQUARE)
    features, problems = parse_feature_collection(collection(
        feature(geometry, layer="grid", code="G01"),
        {"type": "Feature", "properties": None, "geometry": geometry, "id": 7}))
    assert problems == []
    assert [f.index for f in features] == [0, 1]
    first = features[0]
    assert isinstance(first, Feature)
    assert first.properties == {"layer": "grid", "code": "G01"}
    assert first.raw_geometry is geometry
    assert first.geometry.geom_type == "Polygon"
    assert features[1].properties == {}


def test_every_problem_is_collected_and_bad_features_left_out() -> None:
    features, problems = parse_feature_collection(collection(
        feature(polygon(BOWTIE), layer="grid", code="G01"),
        feature({"type": "Point", "coordinates": [112.6, 26.9]}, layer="building", code="B07"),
        feature({"type": "Point", "coordinates": [26.9, 112.6]}, layer="building", code="B08"),
        feature({"type": "Point", "coordinates": [212.6, 26.9]}),
    ), where="input.collection")
    assert [f.properties["code"] for f in features] == ["B07"]
    assert [(p.feature, p.where) for p in problems] == [
        ('grid "G01"', "input.collection.features[0].geometry.coordinates"),
        ('building "B08"', "input.collection.features[2].geometry.coordinates"),
        ("features[3]", "input.collection.features[3].geometry.coordinates"),
    ]


@pytest.mark.parametrize(("item", "where", "words"), [
    ({"type": "Feature", "properties": ["a"], "geometry": polygon(SQUARE)},
     "collection.features[0].properties", "properties must be an object, got an array"),
    ({"type": "Feature", "geometry": polygon(SQUARE)},
     "collection.features[0].properties", "properties is missing"),
    ({"type": "Feature", "properties": {}},
     "collection.features[0].geometry", "geometry is missing"),
    ({"type": "Feature", "properties": {}, "geometry": None},
     "collection.features[0].geometry", "geometry is null"),
    ({"type": "Point", "properties": {}, "geometry": polygon(SQUARE)},
     "collection.features[0].type", 'expected type "Feature", got \'Point\''),
    ("building", "collection.features[0]", "a feature must be an object, got a string"),
])
def test_feature_problems(item: object, where: str, words: str) -> None:
    features, problems = parse_feature_collection(collection(item))
    assert features == []
    [problem] = problems
    assert problem.where == where
    assert words in problem.reason
    assert problem.feature == "features[0]"


def test_feature_identity_without_a_layer() -> None:
    _, problems = parse_feature_collection(collection(feature(polygon(BOWTIE), code="X1")))
    assert problems[0].feature == 'feature "X1"'


@pytest.mark.parametrize(("obj", "where", "words"), [
    ([], "collection", "expected a FeatureCollection object, got an array"),
    ({"type": "Feature", "properties": {}, "geometry": polygon(SQUARE)}, "collection.type",
     "expected type \"FeatureCollection\", got 'Feature'"),
    ({"type": "FeatureCollection"}, "collection.features", "features must be an array"),
    ({"type": "FeatureCollection", "features": {}}, "collection.features",
     "features must be an array, got an object"),
])
def test_collection_problems(obj: object, where: str, words: str) -> None:
    features, problems = parse_feature_collection(obj)
    assert features == []
    [problem] = problems
    assert problem.where == where
    assert words in problem.reason


def test_an_empty_collection_is_no_problem() -> None:
    assert parse_feature_collection(collection()) == ([], [])
