"""`coverage` over GraphQL: points in each coordinate system, addresses, and bad input."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from sqlalchemy import event

from domain.access import ANONYMOUS
from domain.infra import autocommit_pool, rows
from geo.crs import CoordSystem, from_wgs84
from tests.factories import X0, Y0, load

QUERY = """
query ($address: String, $point: PointInput, $crs: CoordSystem! = WGS84) {
  coverage(address: $address, point: $point) {
    point(crs: $crs) matchedAddress matchConfidence
    building { code address } buildingGroup { code name } grid { code } community { code }
    contacts { name }
  }
}"""


@pytest.fixture
async def city(sessions: Any) -> None:
    await load(sessions)


@pytest.mark.parametrize("crs", ["WGS84", "GCJ02", "BD09"])
async def test_point_in_each_coordinate_system(api: Any, city: None, crs: str) -> None:
    lon, lat = from_wgs84(X0 + 0.0051, Y0 + 0.0051, CoordSystem[crs])
    data = await api.data(QUERY, {"point": {"lon": lon, "lat": lat, "crs": crs}, "crs": crs},
                          viewer=ANONYMOUS)
    found = data["coverage"]
    assert (found["building"]["code"], found["buildingGroup"]["code"], found["grid"]["code"],
            found["community"]["code"]) == ("B1", "L1", "G1", "C1")
    back = found["point"]["coordinates"]
    assert back == pytest.approx([lon, lat], abs=1e-6)


async def test_a_gcj02_point_taken_as_wgs84_lands_elsewhere(api: Any, city: None) -> None:
    lon, lat = from_wgs84(X0 + 0.0051, Y0 + 0.0051, CoordSystem.GCJ02)
    data = await api.data(QUERY, {"point": {"lon": lon, "lat": lat}})
    assert data["coverage"] is None or data["coverage"]["building"] is None


async def test_address_question(api: Any, city: None) -> None:
    data = await api.data(QUERY, {"address": "湖南省衡阳市石鼓区船山路六十三号3单元502室"})
    found = data["coverage"]
    assert found["matchedAddress"] == "船山路63号" and found["matchConfidence"] == 1.0
    assert found["buildingGroup"]["name"] == "船山路63号党小组"


async def test_outside_everything_is_null(api: Any, city: None) -> None:
    data = await api.data(QUERY, {"point": {"lon": 100.0, "lat": 30.0}})
    assert data["coverage"] is None


@pytest.mark.parametrize(("variables", "field"), [
    ({"point": {"lon": X0, "lat": 91.0}}, "point.lat"),
    ({"point": {"lon": 181.0, "lat": Y0}}, "point.lon"),
    ({"address": "   "}, "address"),
    ({}, "point"),
    ({"address": "船山路63号", "point": {"lon": X0, "lat": Y0}}, "address"),
])
async def test_bad_input_names_the_field(api: Any, city: None, variables: dict[str, Any],
                                         field: str) -> None:
    result = await api.run(QUERY, variables)
    assert result.data == {"coverage": None} or result.data is None
    (error,) = result.errors
    assert error.extensions["field"] == field
    assert error.message.startswith(field)
    assert "Traceback" not in error.message


async def test_not_a_number_is_refused_by_graphql(api: Any, city: None) -> None:
    result = await api.run(QUERY, {"point": {"lon": "east", "lat": Y0}})
    (error,) = result.errors
    assert "lon" in error.message and "Float" in error.message


LINKS = """query ($address: String, $point: PointInput) {
  coverage(address: $address, point: $point) {
    building { code group { code } grid { code } } buildingGroup { code grid { code } }
    grid { code }
  }
}"""


def _counted(fetch: Any, count: Any) -> Any:
    async def counted(*args: Any, **kwargs: Any) -> Any:
        count()
        return await fetch(*args, **kwargs)

    return counted


@contextmanager
def database_use(engine: Any, monkeypatch: pytest.MonkeyPatch) -> Iterator[dict[str, int]]:
    """Connections checked out of the engine's pools (SQLAlchemy's and the autocommit one of
    domain.infra.autocommit_pool) and statements sent, while the block runs: those through
    SQLAlchemy and the prepared ones of domain.infra.rows, which go to psycopg."""
    seen = {"sessions": 0, "statements": 0}

    def checkout(*args: Any) -> None:
        seen["sessions"] += 1

    pool = autocommit_pool.pool_of(engine)
    take = pool.connection

    def counted_connection() -> Any:
        checkout()
        return take()

    def statement(*args: Any) -> None:
        seen["statements"] += 1

    for name in ("fetch_one", "fetch_all"):
        monkeypatch.setattr(rows, name, _counted(getattr(rows, name), statement))
    monkeypatch.setattr(pool, "connection", counted_connection)
    event.listen(engine.sync_engine.pool, "checkout", checkout)
    event.listen(engine.sync_engine, "before_cursor_execute", statement)
    try:
        yield seen
    finally:
        event.remove(engine.sync_engine.pool, "checkout", checkout)
        event.remove(engine.sync_engine, "before_cursor_execute", statement)


@pytest.mark.parametrize(("variables", "statements"), [
    ({"point": {"lon": X0 + 0.0051, "lat": Y0 + 0.0051}}, 1),
    ({"address": "船山路63号"}, 1),
    ({"address": "船山63号"}, 3),  # exact miss, fuzzy candidates, the chosen rows
])
async def test_coverage_and_its_rows_cost_one_session(api: Any, engine: Any, city: None,
                                                      variables: dict[str, Any],
                                                      statements: int,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    """The coverage statement brings the building, group and grid rows; the loaders are
    primed with them, so neither the fields nor their nested links open another session."""
    with database_use(engine, monkeypatch) as seen:
        data = await api.data(LINKS, variables, viewer=ANONYMOUS)
    found = data["coverage"]
    assert found["building"] == {"code": "B1", "group": {"code": "L1"}, "grid": {"code": "G1"}}
    assert found["buildingGroup"] == {"code": "L1", "grid": {"code": "G1"}}
    assert seen == {"sessions": 1, "statements": statements}


SHAPES = """
query ($point: PointInput) {
  coverage(point: $point) {
    grid { id boundary }
    building { id location footprint group { id } grid { boundary } }
    ...more
  }
}
fragment more on Coverage { buildingGroup { id grid { id } } }"""
NODES = """
query ($grid: ID!, $building: ID!) {
  grid: node(id: $grid) { ... on Grid { boundary } }
  building: node(id: $building) { ... on Building { location footprint } }
}"""


async def test_rows_come_with_the_geometry_asked_anywhere_inside(api: Any, city: None) -> None:
    """Look-ahead reads a geometry only when the query shows it, at any depth: the grid's
    boundary asked under `building { grid }` comes with the grid row the loaders are primed
    with; what comes back equals what node(id:) reads through the ORM."""
    found = (await api.data(SHAPES, {"point": {"lon": X0 + 0.0051, "lat": Y0 + 0.0051}},
                            viewer=ANONYMOUS))["coverage"]
    nodes = await api.data(NODES, {"grid": found["grid"]["id"],
                                   "building": found["building"]["id"]})
    assert found["grid"]["boundary"] == nodes["grid"]["boundary"]
    assert found["building"]["grid"]["boundary"] == nodes["grid"]["boundary"]
    assert found["building"]["location"] == nodes["building"]["location"]
    assert found["building"]["footprint"] == nodes["building"]["footprint"]
    assert found["building"]["location"]["type"] == "Point"
    assert found["buildingGroup"]["grid"]["id"] == found["grid"]["id"]


@pytest.mark.parametrize(("query", "read"), [
    (LINKS, set()),
    (QUERY, set()),
    (SHAPES, {"g.boundary", "b.location", "b.footprint"}),
    ("query ($point: PointInput) { coverage(point: $point) { building { grid { boundary } } } }",
     {"g.boundary"}),
])
async def test_geometry_is_read_only_when_shown(api: Any, city: None, query: str, read: set[str],
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    sent: list[str] = []
    fetch_one = rows.fetch_one

    async def capture(session: Any, sql: str, params: Any) -> Any:
        sent.append(sql)
        return await fetch_one(session, sql, params)

    monkeypatch.setattr(rows, "fetch_one", capture)
    await api.data(query, {"point": {"lon": X0 + 0.0051, "lat": Y0 + 0.0051}})
    (sql,) = sent
    columns = sql[:sql.index(" FROM (")]  # the select list of the rows joined to the ids
    shown = {"g.boundary", "b.location", "b.footprint"}
    assert {column for column in shown if column in columns} == read
