"""Lists, paging, node, map layers and the two mutations over GraphQL."""

from __future__ import annotations

from typing import Any

import pytest

from tests.factories import X0, Y0, two_grid_community

IMPORT = """
mutation ($c: GeoJSON!) {
  importFeatures(collection: $c) { communities grids buildings buildingGroups
                                   errors { code field message } }
}"""
CREATE = """
mutation ($input: MemberInput!) {
  createMember(input: $input) { member { name roles skills status group { code } }
                                errors { code field message } }
}"""


@pytest.fixture
async def city(api: Any) -> dict[str, Any]:
    data = await api.data(IMPORT, {"c": two_grid_community()})
    assert data["importFeatures"] == {"communities": 1, "grids": 2, "buildings": 2,
                                      "buildingGroups": 2, "errors": []}
    grids = await api.data("{ grids { edges { node { id code } } } }")
    return {e["node"]["code"]: e["node"]["id"] for e in grids["grids"]["edges"]}


async def test_import_errors_come_back_in_the_payload(api: Any) -> None:
    bad = two_grid_community()
    bad["features"][1]["geometry"]["coordinates"][0][1] = [X0 + 0.01, 95.0]
    data = await api.data(IMPORT, {"c": bad})
    payload = data["importFeatures"]
    assert payload["grids"] == 0 and payload["errors"]
    assert payload["errors"][0]["code"] == "INVALID_GEOMETRY"
    assert payload["errors"][0]["field"].startswith("collection.features[1].geometry")
    assert (await api.data("{ grids { totalCount } }"))["grids"]["totalCount"] == 0


async def test_grids_are_paged_in_sql(api: Any, city: dict[str, Any]) -> None:
    first = await api.data("{ grids(first: 1) { totalCount edges { node { code } } "
                           "pageInfo { hasNextPage hasPreviousPage endCursor } } }")
    page = first["grids"]
    assert page["totalCount"] == 2 and [e["node"]["code"] for e in page["edges"]] == ["G1"]
    assert page["pageInfo"]["hasNextPage"] and not page["pageInfo"]["hasPreviousPage"]
    second = await api.data("query ($a: String) { grids(first: 1, after: $a) { edges { node "
                            "{ code } } pageInfo { hasNextPage hasPreviousPage } } }",
                            {"a": page["pageInfo"]["endCursor"]})
    assert [e["node"]["code"] for e in second["grids"]["edges"]] == ["G2"]
    assert second["grids"]["pageInfo"] == {"hasNextPage": False, "hasPreviousPage": True}


async def test_first_is_capped_and_checked(api: Any, city: dict[str, Any]) -> None:
    data = await api.data("{ grids(first: 100000) { edges { cursor } } }")
    assert len(data["grids"]["edges"]) == 2
    result = await api.run("{ grids(first: -1) { totalCount } }")
    assert result.errors[0].extensions["field"] == "first"


async def test_bbox_filters_and_is_checked(api: Any, city: dict[str, Any]) -> None:
    box = {"west": X0 + 0.012, "south": Y0, "east": X0 + 0.018, "north": Y0 + 0.01}
    data = await api.data("query ($b: BBoxInput) { grids(bbox: $b) { edges { node { code } } }"
                          " buildings(bbox: $b) { edges { node { code } } } }", {"b": box})
    assert [e["node"]["code"] for e in data["grids"]["edges"]] == ["G2"]
    assert [e["node"]["code"] for e in data["buildings"]["edges"]] == ["B2"]
    inverted = {**box, "west": box["east"], "east": box["west"]}
    result = await api.run("query ($b: BBoxInput) { grids(bbox: $b) { totalCount } }",
                           {"b": inverted})
    assert result.errors[0].extensions["field"] == "bbox.west"


@pytest.mark.parametrize(("search", "codes"), [
    ("船山", ["B1"]), ("六十三号", ["B1"]), ("B2", ["B2"]), ("不存在", []),
])
async def test_building_search(api: Any, city: dict[str, Any], search: str,
                               codes: list[str]) -> None:
    data = await api.data("query ($s: String) { buildings(search: $s) { edges { node { code } }"
                          " } }", {"s": search})
    assert [e["node"]["code"] for e in data["buildings"]["edges"]] == codes


async def test_node_round_trip(api: Any, city: dict[str, Any]) -> None:
    data = await api.data("query ($id: ID!) { node(id: $id) { id ... on Grid { code "
                          "community { code } buildingGroups { code } } } }", {"id": city["G2"]})
    assert data["node"] == {"id": city["G2"], "code": "G2", "community": {"code": "C1"},
                            "buildingGroups": [{"code": "L2"}]}
    result = await api.run('{ node(id: "not-an-id") { id } }')
    assert result.errors[0].extensions["code"] == "INVALID_ID"


async def test_map_features_in_one_round_trip(api: Any, city: dict[str, Any]) -> None:
    data = await api.data("""{ mapFeatures(bbox: {west: 112.5, south: 26.8, east: 112.7,
        north: 27.0}, layers: [GRIDS, BUILDINGS, BUILDING_GROUPS, COMMUNITIES], crs: GCJ02) }""")
    collection = data["mapFeatures"]
    assert collection["type"] == "FeatureCollection"
    layers = sorted({f["properties"]["layer"] for f in collection["features"]})
    assert layers == ["building_groups", "buildings", "communities", "grids"]
    grid = next(f for f in collection["features"] if f["properties"].get("code") == "G1")
    assert grid["properties"]["id"] == city["G1"] and grid["properties"]["label"] == "第一网格"
    west = grid["geometry"]["coordinates"][0][0][0][0]
    assert west != pytest.approx(X0, abs=1e-4)  # converted to GCJ-02, a few hundred metres off


async def test_unknown_layer_is_refused(api: Any, city: dict[str, Any]) -> None:
    result = await api.run("{ mapFeatures(bbox: {west: 0, south: 0, east: 1, north: 1}, "
                           "layers: [RIVERS]) }")
    assert "RIVERS" in result.errors[0].message


async def test_create_member_joins_the_building_group(api: Any, city: dict[str, Any]) -> None:
    buildings = await api.data("{ buildings { edges { node { id code } } } }")
    b1 = next(e["node"]["id"] for e in buildings["buildings"]["edges"]
              if e["node"]["code"] == "B1")
    data = await api.data(CREATE, {"input": {"name": "刘红梅", "phone": "138 1234 5678",
                                             "buildingId": b1, "skills": ["ASSISTANCE"]}})
    assert data["createMember"] == {"member": {
        "name": "刘红梅", "roles": ["STEWARD"], "skills": ["ASSISTANCE"], "status": "ACTIVE",
        "group": {"code": "L1"}}, "errors": []}


@pytest.mark.parametrize(("fields", "code", "field"), [
    ({"name": " "}, "REQUIRED", "input.name"),
    ({"name": "赵六", "phone": "12345"}, "INVALID_PHONE", "input.phone"),
    ({"name": "赵六", "buildingId": "R3JpZDox"}, "INVALID_ID", "input.buildingId"),
    ({"name": "赵六", "gridIds": ["R3JpZDox"]}, "INVALID_VALUE", "input.gridIds"),
    ({"name": "赵六", "roles": ["GRID_WORKER"], "gridIds": ["R3JpZDo5OTk"]}, "NOT_FOUND",
     "input.gridIds[0]"),
])
async def test_create_member_bad_input(api: Any, city: dict[str, Any], fields: dict[str, Any],
                                       code: str, field: str) -> None:
    data = await api.data(CREATE, {"input": fields})
    assert data["createMember"]["member"] is None
    assert (data["createMember"]["errors"][0]["code"],
            data["createMember"]["errors"][0]["field"]) == (code, field)
    count = await api.data("{ members { totalCount } }")
    assert count["members"]["totalCount"] == 0
