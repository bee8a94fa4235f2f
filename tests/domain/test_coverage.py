"""Coverage of points and addresses against a real PostGIS."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import text

from domain.infra.rows import driver_connection
from domain.spatial.coverage import FUZZY_ADDRESS, TRIGRAM_FLOOR, cover_address, cover_point
from geo.address import house_number_signature, house_number_signature_sql
from tests.factories import X0, Y0, box, collection, feature, load, point, two_grid_community


async def _ids(session: Any, table: str) -> dict[str, int]:
    rows = await session.execute(text(f"SELECT code, id FROM {table}"))
    return {code: pk for code, pk in rows.all()}


@pytest.fixture
async def ids(sessions: Any, session: Any) -> dict[str, int]:
    await load(sessions)
    return {**await _ids(session, "grid"), **await _ids(session, "building"),
            **await _ids(session, "building_group"), **await _ids(session, "community")}


async def test_point_inside_a_footprint(session: Any, ids: dict[str, int]) -> None:
    found = await cover_point(session, lon=X0 + 0.0051, lat=Y0 + 0.0051)
    assert found is not None
    assert (found.grid_id, found.building_id, found.group_id, found.community_id) == (
        ids["G1"], ids["B1"], ids["L1"], ids["C1"])
    assert found.distance_metres == 0


async def test_nearest_building_within_30_metres(session: Any, ids: dict[str, int]) -> None:
    # B2 is a point at (X0 + 0.015, Y0 + 0.005); 0.0002° of longitude is about 20 m here.
    found = await cover_point(session, lon=X0 + 0.0152, lat=Y0 + 0.005)
    assert found is not None and found.building_id == ids["B2"]
    assert found.distance_metres is not None and 15 < found.distance_metres < 25


async def test_no_building_beyond_the_distance(session: Any, ids: dict[str, int]) -> None:
    found = await cover_point(session, lon=X0 + 0.0155, lat=Y0 + 0.005)  # about 50 m away
    assert found is not None
    assert (found.grid_id, found.building_id, found.group_id) == (ids["G2"], None, None)
    wider = await cover_point(session, lon=X0 + 0.0155, lat=Y0 + 0.005, nearest_metres=60)
    assert wider is not None and wider.building_id == ids["B2"]


async def test_point_on_shared_edge_always_gives_one_grid(session: Any,
                                                          ids: dict[str, int]) -> None:
    answers = {(await cover_point(session, lon=X0 + 0.01, lat=Y0 + 0.003)).grid_id  # type: ignore[union-attr]
               for _ in range(5)}
    assert answers == {ids["G1"]}  # the lowest id wins a tie


async def test_shared_corner_and_outer_edge(session: Any, ids: dict[str, int]) -> None:
    corner = await cover_point(session, lon=X0 + 0.01, lat=Y0)
    assert corner is not None and corner.grid_id == ids["G1"]
    outer = await cover_point(session, lon=X0 + 0.02, lat=Y0 + 0.005)
    assert outer is not None and outer.grid_id == ids["G2"]


async def test_outside_everything_is_none(session: Any, ids: dict[str, int]) -> None:
    assert await cover_point(session, lon=X0 + 0.5, lat=Y0 + 0.5) is None


@pytest.mark.parametrize("address", [
    "船山路63号", "船山路六十三号", "湖南省衡阳市石鼓区船山路63号", "船山路63号3单元502室",
    "船山路 63 号", "船山路６３号",
])
async def test_address_variants_match_exactly(session: Any, ids: dict[str, int],
                                              address: str) -> None:
    found = await cover_address(session, address)
    assert found is not None
    assert (found.building_id, found.group_id, found.grid_id) == (ids["B1"], ids["L1"], ids["G1"])
    assert found.matched_address == "船山路63号" and found.match_confidence == 1.0


async def test_fuzzy_match_has_a_confidence(session: Any, ids: dict[str, int]) -> None:
    found = await cover_address(session, "船山63号")
    assert found is not None and found.building_id == ids["B1"]
    assert found.match_confidence is not None and 0.8 <= found.match_confidence < 1


@pytest.mark.parametrize("address", ["船山路65号", "解放大道100号", "学宫巷9号"])
async def test_no_match_rather_than_a_wrong_guess(session: Any, ids: dict[str, int],
                                                   address: str) -> None:
    assert await cover_address(session, address) is None


async def test_swapped_neighbours_in_a_short_key_still_match(sessions: Any,
                                                             session: Any) -> None:
    """The lowest pg_trgm similarity of a one-typo match: 0.2 for two swapped characters in a
    five-character key, which rapidfuzz still rates 0.8. The trigram floor must let it in."""
    data = two_grid_community()
    data["features"].append(feature("building", point(X0 + 0.002, Y0 + 0.002), code="B3",
                                    address="五一路3号"))
    await load(sessions, collection(*data["features"]))
    trigrams = await session.execute(text("SELECT similarity('一五路3号', '五一路3号')"))
    assert trigrams.scalar_one() == pytest.approx(TRIGRAM_FLOOR)
    found = await cover_address(session, "一五路3号")
    assert found is not None and found.matched_address == "五一路3号"
    assert found.match_confidence == 0.8


async def test_fuzzy_statement_uses_the_house_number_index(session: Any,
                                                           ids: dict[str, int]) -> None:
    """On a table this small the planner would scan; forbidden to, it must find the index on
    the keys' house numbers (pg_trgm's `%` through a GIN index took 12-40 ms per look-up on
    100,000 buildings)."""
    await session.execute(text("SET LOCAL enable_seqscan = off"))
    connection = await driver_connection(session)  # the statement goes to psycopg as it is
    plan = await (await connection.execute(f"EXPLAIN {FUZZY_ADDRESS}",
                                           {"key": "船山63号", "numbers": "63"})).fetchall()
    assert "building_address_numbers_idx" in "\n".join(line for (line,) in plan)


@pytest.mark.parametrize("key", ["船山路63号", "学宫巷3号2栋", "五一路", "A12B3号", "1٣2号"])
async def test_house_number_signature_is_the_same_in_sql(session: Any, key: str) -> None:
    sql = text(f"SELECT {house_number_signature_sql(':key')}")
    assert (await session.execute(sql, {"key": key})).scalar_one() == house_number_signature(key)


async def test_other_house_numbers_are_never_a_match(session: Any, ids: dict[str, int]) -> None:
    """However low the threshold: 船山路65号 is another building than 船山路63号."""
    assert await cover_address(session, "船山路65号", threshold=0.0) is None
    found = await cover_address(session, "船山63号", threshold=0.0)
    assert found is not None and found.building_id == ids["B1"]


async def test_empty_address_is_refused(session: Any, ids: dict[str, int]) -> None:
    with pytest.raises(ValueError):
        await cover_address(session, "  ")


async def test_grid_edge_consistent_with_import(sessions: Any, session: Any) -> None:
    data = two_grid_community()
    data["features"].append(feature("building", box(X0 + 0.0099, Y0 + 0.001, X0 + 0.0101,
                                                    Y0 + 0.0012), code="B3",
                                    address="中山北路1号"))
    data = collection(*data["features"])
    await load(sessions, data)
    building = await cover_address(session, "中山北路1号")
    point = await cover_point(session, lon=X0 + 0.01, lat=Y0 + 0.0011)
    assert building is not None and point is not None
    assert building.building_id == point.building_id
