"""GET /tiles/{layer}/{z}/{x}/{y}.mvt on the real PostGIS, the tiles decoded with the
`mapbox-vector-tile` package: every layer's features with their Node ids and labels, who may
see open requests, bad addresses, empty tiles, ETags."""

from __future__ import annotations

import math
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

import httpx
import mapbox_vector_tile
import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from domain.infra.db import transaction
from domain.requests.submit import NewRequest, submit_request
from domain.settings import Settings
from domain.spatial.tiles import gcj02_shift, node_id_sql
from geo.crs import CoordSystem, from_wgs84
from schema.common.ids import encode_id
from server.app import create_app
from server.auth import issue_token
from tests.factories import load
from tests.requests_factory import B1_POINT, TUNING

SECRET = "tiles-unit-secret-used-only-by-these-tests-0123456789"
NO_BROKER = "redis://127.0.0.1:1/0"
ADMIN = {"Authorization": f"Bearer {issue_token(SECRET, admin=True)}"}


def tile_of(lon: float, lat: float, z: int) -> str:
    """The z/x/y of the XYZ tile holding the point."""
    n = 1 << z
    x = int((lon + 180) / 360 * n)
    y = int((1 - math.asinh(math.tan(math.radians(lat))) / math.pi) / 2 * n)
    return f"{z}/{x}/{y}"


B1_TILE_Z12 = tile_of(*B1_POINT, 12)
B1_TILE_Z16 = tile_of(*B1_POINT, 16)


def features(response: httpx.Response, layer: str) -> list[dict[str, Any]]:
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "application/vnd.mapbox-vector-tile"
    decoded = mapbox_vector_tile.decode(response.content)
    assert list(decoded) == [layer]
    assert decoded[layer]["extent"] == 4096
    return list(decoded[layer]["features"])


@pytest.fixture
async def client(database_url: str, sessions: async_sessionmaker[AsyncSession]
                 ) -> AsyncIterator[httpx.AsyncClient]:
    """The whole app on the test database holding the two-grid community."""
    await load(sessions)
    app = create_app(Settings(DATABASE_URL=database_url, BROKER_URL=NO_BROKER,
                              SECRET_KEY=SECRET, GRIDSTEWARD_ENV="test"))
    async with app.router.lifespan_context(app), httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://api") as client:
        yield client


async def _submit(sessions: async_sessionmaker[AsyncSession]) -> int:
    async with transaction(sessions) as session:
        made = await submit_request(session, NewRequest(
            category="MAINTENANCE", description="楼道灯不亮", point=B1_POINT,
            contact_phone="13912345678"), now=datetime.now(UTC), tuning=TUNING)
    return made.request_id


async def _pk(session: AsyncSession, table: str, code: str) -> int:
    row = await session.execute(text(f"SELECT id FROM {table} WHERE code = :c"), {"c": code})
    return int(row.scalar_one())


async def test_node_ids_computed_in_sql_are_encode_id(session: AsyncSession) -> None:
    for type_name, pk in (("Grid", 1), ("BuildingGroup", 12345), ("ServiceRequest", 2**31 - 1),
                          ("Community", 7)):
        sql = f"SELECT {node_id_sql(type_name, ':pk')}"
        value = (await session.execute(text(sql), {"pk": pk})).scalar_one()
        assert value == encode_id(type_name, pk)


@pytest.mark.parametrize(("layer", "address", "labels"), [
    ("communities", B1_TILE_Z12, {"测试社区"}),
    ("grids", B1_TILE_Z12, {"第一网格", "第二网格"}),
    ("buildings", B1_TILE_Z16, {"船山路63号"}),
    ("building_groups", B1_TILE_Z16, {"船山路63号党小组"}),
])
async def test_each_static_layer_carries_node_ids_and_labels(
        client: httpx.AsyncClient, session: AsyncSession, layer: str, address: str,
        labels: set[str]) -> None:
    answer = await client.get(f"/tiles/{layer}/{address}.mvt")
    found = features(answer, layer)
    assert {f["properties"]["label"] for f in found} == labels
    kind, table = {"communities": ("Community", "community"), "grids": ("Grid", "grid"),
                   "buildings": ("Building", "building"),
                   "building_groups": ("BuildingGroup", "building_group")}[layer]
    code = {"测试社区": "C1", "第一网格": "G1", "第二网格": "G2", "船山路63号": "B1",
            "船山路63号党小组": "L1"}
    for feature in found:
        pk = await _pk(session, table, code[feature["properties"]["label"]])
        assert feature["properties"]["id"] == encode_id(kind, pk)
        assert feature["geometry"]["type"] in ("Polygon", "MultiPolygon")
    assert answer.headers["cache-control"] == "public, max-age=300"
    assert answer.headers["etag"].startswith('"')


async def test_open_requests_need_a_token_and_follow_visibility(
        client: httpx.AsyncClient, sessions: async_sessionmaker[AsyncSession]) -> None:
    request_id = await _submit(sessions)
    url = f"/tiles/open_requests/{B1_TILE_Z16}.mvt"
    assert (await client.get(url)).status_code == 401
    found = features(await client.get(url, headers=ADMIN), "open_requests")
    assert len(found) == 1
    props = found[0]["properties"]
    assert props["id"] == encode_id("ServiceRequest", request_id)
    assert props["status"] == "SUBMITTED" and props["category"] == "MAINTENANCE"
    assert props["categoryName"] == "维修维护" and props["label"].endswith(" 维修维护")
    assert props["overdue"] is False and props["escalationLevel"] == 0
    assert abs(props["submittedAt"] - datetime.now(UTC).timestamp()) < 120
    assert props["dueAt"] > props["submittedAt"]
    # a member to whom it is not assigned, serving no grid, sees nothing
    member = {"Authorization": f"Bearer {issue_token(SECRET, member_id=1)}"}
    async with transaction(sessions) as session:
        await session.execute(text(
            "INSERT INTO member (id, name, phone, party_member, roles, skills, status) "
            "VALUES (1, '李四', '13800000001', false, '{}', '{}', 'ACTIVE')"))
    unseen = await client.get(url, headers=member)
    assert unseen.status_code == 204
    assert unseen.headers["cache-control"] == "private, no-cache"


async def test_a_bad_token_is_401_on_every_layer(client: httpx.AsyncClient) -> None:
    expired = issue_token(SECRET, admin=True, ttl_seconds=1, now=0)
    for layer in ("grids", "open_requests"):
        answer = await client.get(f"/tiles/{layer}/{B1_TILE_Z12}.mvt",
                                  headers={"Authorization": f"Bearer {expired}"})
        assert answer.status_code == 401


@pytest.mark.parametrize(("address", "reason"), [
    ("23/0/0", "z must be from 0 to 22, not 23"),
    ("-1/0/0", "z must be from 0 to 22, not -1"),
    ("1/2/0", "at z 1, x and y must be from 0 to 1, not 2 and 0"),
    ("3/0/-1", "at z 3, x and y must be from 0 to 7, not 0 and -1"),
    ("a/0/0", "z, x and y must be whole numbers"),
])
async def test_tiles_out_of_range_are_400_with_the_reason(
        client: httpx.AsyncClient, address: str, reason: str) -> None:
    answer = await client.get(f"/tiles/grids/{address}.mvt")
    assert answer.status_code == 400
    assert answer.json() == {"code": "INVALID_TILE", "message": reason}


async def test_an_unknown_layer_is_404(client: httpx.AsyncClient) -> None:
    answer = await client.get(f"/tiles/members/{B1_TILE_Z12}.mvt")
    assert answer.status_code == 404
    assert answer.json()["code"] == "UNKNOWN_LAYER"


async def test_empty_tiles_and_zooms_below_a_layer_are_204(client: httpx.AsyncClient) -> None:
    assert (await client.get("/tiles/grids/12/0/0.mvt")).status_code == 204
    assert (await client.get(f"/tiles/buildings/{B1_TILE_Z12}.mvt")).status_code == 204


async def test_a_held_etag_is_304(client: httpx.AsyncClient) -> None:
    url = f"/tiles/grids/{B1_TILE_Z12}.mvt"
    etag = (await client.get(url)).headers["etag"]
    again = await client.get(url, headers={"If-None-Match": f'"other", {etag}'})
    assert again.status_code == 304 and again.content == b""
    assert (await client.get(url, headers={"If-None-Match": '"other"'})).status_code == 200


async def test_gcj02_tiles_are_shifted_by_the_offset_at_their_centre(
        client: httpx.AsyncClient, sessions: async_sessionmaker[AsyncSession]) -> None:
    await _submit(sessions)
    z, x, y = (int(v) for v in B1_TILE_Z16.split("/"))
    dlon, dlat = gcj02_shift(z, x, y)
    glon, glat = from_wgs84(*B1_POINT, CoordSystem.GCJ02)
    assert (dlon, dlat) == pytest.approx((glon - B1_POINT[0], glat - B1_POINT[1]), abs=2e-6)
    # the point shifted is in the tile east (and north) of its WGS-84 tile, at z16
    shifted = tile_of(B1_POINT[0] + dlon, B1_POINT[1] + dlat, z)
    url = "/tiles/open_requests/{}.mvt?crs=GCJ02"
    found = features(await client.get(url.format(shifted), headers=ADMIN), "open_requests")
    assert len(found) == 1
    assert (await client.get(url.format(B1_TILE_Z16), headers=ADMIN)).status_code == 204
    bad = await client.get(f"/tiles/grids/{B1_TILE_Z12}.mvt?crs=BD09")
    assert bad.status_code == 400 and bad.json()["code"] == "INVALID_CRS"
