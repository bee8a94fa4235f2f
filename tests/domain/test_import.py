"""importFeatures: spatial membership, updates by code, and all-or-nothing errors."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from domain.errors import InvalidInput
from tests.factories import X0, Y0, box, collection, feature, load, point, two_grid_community


async def _count(sessions: async_sessionmaker[AsyncSession], table: str) -> int:
    async with sessions() as session:
        return int((await session.execute(text(f"SELECT count(*) FROM {table}"))).scalar_one())


async def _codes_of(sessions: async_sessionmaker[AsyncSession], sql: str) -> list[Any]:
    async with sessions() as session:
        return [tuple(r) for r in (await session.execute(text(sql))).all()]


async def _errors(sessions: async_sessionmaker[AsyncSession], data: dict[str, Any]) -> list[Any]:
    with pytest.raises(InvalidInput) as caught:
        await load(sessions, data)
    return caught.value.errors


async def test_import_finds_grid_and_group_spatially(sessions: Any) -> None:
    counts = await load(sessions)
    assert (counts.communities, counts.grids, counts.buildings, counts.building_groups) == (
        1, 2, 2, 2)
    rows = await _codes_of(sessions, """
        SELECT b.code, g.code, bg.code, bgg.code FROM building b JOIN grid g ON g.id = b.grid_id
        JOIN building_group bg ON bg.id = b.group_id JOIN grid bgg ON bgg.id = bg.grid_id
        ORDER BY b.code""")
    assert rows == [("B1", "G1", "L1", "G1"), ("B2", "G2", "L2", "G2")]


async def test_import_twice_updates_by_code(sessions: Any) -> None:
    await load(sessions)
    data = two_grid_community()
    data["features"][3]["properties"]["address"] = "船山路65号"
    await load(sessions, data)
    assert await _count(sessions, "building") == 2
    assert await _codes_of(sessions, "SELECT address, address_key FROM building "
                           "WHERE code = 'B1'") == [("船山路65号", "船山路65号")]


async def test_moving_a_grid_edge_moves_its_buildings(sessions: Any) -> None:
    await load(sessions)
    moved = collection(
        feature("grid", box(X0, Y0, X0 + 0.017, Y0 + 0.01), code="G1", name="第一网格",
                community="C1"),
        feature("grid", box(X0 + 0.017, Y0, X0 + 0.02, Y0 + 0.01), code="G2",
                name="第二网格", community="C1"))
    await load(sessions, moved)
    assert await _codes_of(sessions, "SELECT b.code, g.code FROM building b JOIN grid g "
                           "ON g.id = b.grid_id ORDER BY b.code") == [("B1", "G1"), ("B2", "G1")]


async def test_overlapping_grids_name_both_and_change_nothing(sessions: Any) -> None:
    data = two_grid_community()
    data["features"][2]["geometry"] = box(X0 + 0.009, Y0, X0 + 0.02, Y0 + 0.01)
    errors = await _errors(sessions, data)
    assert [e.code for e in errors] == ["OVERLAPPING_GRIDS"]
    assert '"G1"' in errors[0].message and '"G2"' in errors[0].message
    assert await _count(sessions, "community") == 0
    assert await _count(sessions, "grid") == 0


async def test_building_outside_every_grid_is_named(sessions: Any) -> None:
    data = two_grid_community()
    data["features"].append(feature("building", point(X0 + 0.05, Y0 + 0.05), code="B9",
                                    address="远方路1号"))
    errors = await _errors(sessions, data)
    assert [(e.code, e.field) for e in errors] == [
        ("OUTSIDE_GRIDS", "collection.features[5].geometry")]
    assert '"B9"' in errors[0].message
    assert await _count(sessions, "building") == 0


async def test_duplicate_codes_are_named(sessions: Any) -> None:
    data = two_grid_community()
    data["features"].append(feature("building", point(X0 + 0.016, Y0 + 0.006), code="B2",
                                    address="学宫巷5号"))
    errors = await _errors(sessions, data)
    assert {e.code for e in errors} == {"DUPLICATE_CODE"}
    assert {e.field for e in errors} == {"collection.features[4].properties.code",
                                         "collection.features[5].properties.code"}


async def test_unclosed_ring_is_invalid_geometry(sessions: Any) -> None:
    data = two_grid_community()
    data["features"][1]["geometry"]["coordinates"][0].pop()
    errors = await _errors(sessions, data)
    assert errors[0].code == "INVALID_GEOMETRY"
    assert errors[0].field is not None and errors[0].field.startswith(
        "collection.features[1].geometry")
    assert await _count(sessions, "grid") == 0


async def test_self_intersecting_polygon_is_refused_not_repaired(sessions: Any) -> None:
    data = two_grid_community()
    bowtie = [[X0, Y0], [X0 + 0.01, Y0 + 0.01], [X0 + 0.01, Y0], [X0, Y0 + 0.01], [X0, Y0]]
    data["features"][1]["geometry"] = {"type": "Polygon", "coordinates": [bowtie]}
    errors = await _errors(sessions, data)
    assert errors[0].code == "INVALID_GEOMETRY"
    assert "grid" in errors[0].message and "G1" in errors[0].message


async def test_unknown_layer_and_missing_properties(sessions: Any) -> None:
    data = collection(feature("river", point(X0, Y0), code="R1"),
                      feature("grid", box(X0, Y0, X0 + 0.01, Y0 + 0.01), code="G1"))
    errors = await _errors(sessions, data)
    assert [(e.code, e.field) for e in errors] == [
        ("UNKNOWN_LAYER", "collection.features[0].properties.layer"),
        ("REQUIRED", "collection.features[1].properties.name"),
        ("REQUIRED", "collection.features[1].properties.community"),
    ]


async def test_grid_of_an_unknown_community(sessions: Any) -> None:
    data = collection(feature("grid", box(X0, Y0, X0 + 0.01, Y0 + 0.01), code="G1",
                              name="第一网格", community="NOPE"))
    errors = await _errors(sessions, data)
    assert [(e.code, e.field) for e in errors] == [
        ("NOT_FOUND", "collection.features[0].properties.community")]


async def test_not_a_feature_collection(sessions: Any) -> None:
    errors = await _errors(sessions, {"type": "Point", "coordinates": [1, 2]})
    assert errors and errors[0].code == "INVALID_GEOMETRY"
