"""Coordinate conversion between WGS-84, GCJ-02 and BD-09 against published pairs and itself."""

from __future__ import annotations

import copy
import math

import pytest

from geo.crs import CoordSystem, from_wgs84, out_of_china, to_wgs84, transform_geojson

WGS84, GCJ02, BD09 = CoordSystem.WGS84, CoordSystem.GCJ02, CoordSystem.BD09


def metres(a: tuple[float, float], b: tuple[float, float]) -> float:
    """Great-circle distance between two (lon, lat) positions (haversine, mean Earth radius)."""
    lon1, lat1, lon2, lat2 = map(math.radians, (*a, *b))
    h = (math.sin((lat2 - lat1) / 2) ** 2
         + math.cos(lat1) * math.cos(lat2) * math.sin((lon2 - lon1) / 2) ** 2)
    return 2 * 6371008.8 * math.asin(math.sqrt(h))


# (WGS-84, GCJ-02) pairs from the eviltransform test suite (googollee/eviltransform,
# python/test.py: Shanghai, Shenzhen, Beijing), written there as (lat, lon); here as (lon, lat).
EVILTRANSFORM_PAIRS = [
    ((121.5272106, 31.1774276), (121.531541859215, 31.17530398364597)),
    ((113.912316, 22.543847), (113.9171764808363, 22.540796131694766)),
    ((116.377817, 39.911954), (116.38404722455657, 39.91334545536069)),
]

# (WGS-84, GCJ-02, BD-09) city positions from gcoord's fixtures (hujiulong/gcoord,
# test/fixtures/china-cities.json): 邵阳, 永州, 郴州 near Hengyang, and 郑州, 沈阳, 那曲.
# eviltransform's BD-09 pairs are not used: its bd2gcj uses sin(y * pi) instead of
# sin(y * x_pi), so they differ from Baidu by about 10 m.
GCOORD_CITIES = [
    ((111.4622119, 27.242124), (111.4677938, 27.2388981), (111.4742271, 27.2451662)),
    ((111.6081991, 26.4239855), (111.6134459, 26.4203993), (111.6199025, 26.4266586)),
    ((113.0092288, 25.7734864), (113.014722, 25.7705143), (113.0211835, 25.7765929)),
    ((113.6192856, 34.7478004), (113.6253334, 34.7466173), (113.6317519, 34.7528605)),
    ((123.4253306, 41.8032629), (123.4314787, 41.8057023), (123.438095, 41.8114013)),
    ((92.0499619, 31.4784436), (92.0512438, 31.4762063), (92.0576832, 31.4824421)),
]

CHINA_GRID = [(lon + 0.37, lat + 0.21) for lon in range(74, 136, 3) for lat in range(4, 55, 2)]
ABROAD = [(-0.1276, 51.5072), (139.6917, 35.6895), (151.2093, -33.8688), (-74.006, 40.7128),
          (100.5018, 0.5), (72.0, 30.0)]


@pytest.mark.parametrize(("wgs", "gcj"), EVILTRANSFORM_PAIRS)
def test_wgs84_to_gcj02_matches_eviltransform(wgs: tuple[float, float],
                                              gcj: tuple[float, float]) -> None:
    assert metres(from_wgs84(*wgs, GCJ02), gcj) < 0.01
    assert metres(to_wgs84(*gcj, GCJ02), wgs) < 0.01


@pytest.mark.parametrize(("wgs", "gcj", "bd"), GCOORD_CITIES)
def test_published_city_positions(wgs: tuple[float, float], gcj: tuple[float, float],
                                  bd: tuple[float, float]) -> None:
    # The fixture rounds to 7 decimals and its BD-09 comes from Baidu, hence metres, not mm.
    assert metres(from_wgs84(*wgs, GCJ02), gcj) < 1.0
    assert metres(from_wgs84(*wgs, BD09), bd) < 2.0
    assert metres(to_wgs84(*gcj, GCJ02), wgs) < 1.0
    assert metres(to_wgs84(*bd, BD09), wgs) < 2.0


def test_offset_near_hengyang_is_hundreds_of_metres() -> None:
    hengyang = (112.572, 26.894)
    assert 100 < metres(from_wgs84(*hengyang, GCJ02), hengyang) < 1000
    assert 500 < metres(from_wgs84(*hengyang, BD09), hengyang) < 2000


@pytest.mark.parametrize("crs", [GCJ02, BD09])
def test_round_trip_from_wgs84_is_under_a_centimetre_across_china(crs: CoordSystem) -> None:
    worst = max(metres(to_wgs84(*from_wgs84(lon, lat, crs), crs), (lon, lat))
                for lon, lat in CHINA_GRID if not out_of_china(lon, lat))
    assert worst < 0.01


@pytest.mark.parametrize("crs", [GCJ02, BD09])
def test_round_trip_to_wgs84_is_under_a_centimetre_across_china(crs: CoordSystem) -> None:
    worst = max(metres(from_wgs84(*to_wgs84(lon, lat, crs), crs), (lon, lat))
                for lon, lat in CHINA_GRID if not out_of_china(lon, lat))
    assert worst < 0.01


def test_the_grid_covers_china() -> None:
    inside = [p for p in CHINA_GRID if not out_of_china(*p)]
    assert len(inside) > 400


@pytest.mark.parametrize("position", ABROAD)
@pytest.mark.parametrize("crs", [WGS84, GCJ02, BD09])
def test_positions_outside_china_are_unchanged(position: tuple[float, float],
                                               crs: CoordSystem) -> None:
    assert out_of_china(*position)
    assert from_wgs84(*position, crs) == position
    assert to_wgs84(*position, crs) == position


def test_wgs84_is_the_identity() -> None:
    assert from_wgs84(112.572, 26.894, WGS84) == (112.572, 26.894)
    assert to_wgs84(112.572, 26.894, WGS84) == (112.572, 26.894)


@pytest.mark.parametrize(("lon", "lat", "outside"), [
    (112.572, 26.894, False), (72.004, 0.8293, False), (137.8347, 55.8271, False),
    (72.003, 30.0, True), (137.84, 30.0, True), (110.0, 0.8, True), (110.0, 55.83, True),
])
def test_out_of_china_is_the_standard_rectangle(lon: float, lat: float, outside: bool) -> None:
    assert out_of_china(lon, lat) is outside


def test_transform_point() -> None:
    point = {"type": "Point", "coordinates": [112.572, 26.894]}
    result = transform_geojson(point, WGS84, GCJ02)
    assert result["type"] == "Point"
    assert tuple(result["coordinates"]) == from_wgs84(112.572, 26.894, GCJ02)


def test_transform_polygon_maps_every_position_and_keeps_rings_closed() -> None:
    ring = [[112.60, 26.90], [112.61, 26.90], [112.61, 26.91], [112.60, 26.91], [112.60, 26.90]]
    polygon = {"type": "Polygon", "coordinates": [ring]}
    original = copy.deepcopy(polygon)
    result = transform_geojson(polygon, GCJ02, WGS84)
    assert polygon == original, "the input must not be modified"
    out = result["coordinates"][0]
    assert [tuple(p) for p in out] == [to_wgs84(x, y, GCJ02) for x, y in ring]
    assert out[0] == out[-1]


def test_transform_multipolygon_between_two_offset_systems() -> None:
    square = [[[112.6, 26.9], [112.7, 26.9], [112.7, 27.0], [112.6, 26.9]]]
    shape = {"type": "MultiPolygon", "coordinates": [square, square]}
    result = transform_geojson(shape, BD09, GCJ02)
    first = result["coordinates"][1][0][1]
    assert metres(tuple(first), from_wgs84(*to_wgs84(112.7, 26.9, BD09), GCJ02)) < 1e-6
    assert len(result["coordinates"]) == 2


def test_transform_geometry_collection_keeps_height_and_drops_a_stale_bbox() -> None:
    collection = {"type": "GeometryCollection", "bbox": [0, 0, 1, 1], "geometries": [
        {"type": "Point", "coordinates": [112.6, 26.9, 55.5]},
        {"type": "LineString", "coordinates": [[112.6, 26.9], [112.7, 26.9]]},
    ]}
    result = transform_geojson(collection, WGS84, BD09)
    point, line = result["geometries"]
    assert point["coordinates"][2] == 55.5
    assert tuple(point["coordinates"][:2]) == from_wgs84(112.6, 26.9, BD09)
    assert len(line["coordinates"]) == 2
    assert "bbox" not in result


def test_transform_to_the_same_system_returns_the_input() -> None:
    point = {"type": "Point", "coordinates": [112.572, 26.894]}
    assert transform_geojson(point, GCJ02, GCJ02) is point
