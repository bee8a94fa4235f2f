"""What fuzzing found, class by class: each input is a clear error naming its field (a GraphQL
error with extensions.code and extensions.field, or a payload error) and changes nothing."""

from __future__ import annotations

import base64
from typing import Any

import pytest
from sqlalchemy import text

from domain.access import ANONYMOUS
from schema.common.decoding import may_hold_checked
from schema.common.ids import encode_cursor, encode_id
from tests.factories import X0, Y0, box, collection, feature, load, two_grid_community

NUL, SURROGATE = "a\u0000b", "\ud800x"
COUNTS = ("SELECT (SELECT count(*) FROM community), (SELECT count(*) FROM building), "
          "(SELECT count(*) FROM member), (SELECT count(*) FROM service_request), "
          "(SELECT count(*) FROM request_event), (SELECT count(*) FROM outbound_message)")
SUBMIT = """mutation ($input: SubmitRequestInput!) { submitServiceRequest(input: $input) {
  request { number } errors { code field message } } }"""
IMPORT = """mutation ($c: GeoJSON!) { importFeatures(collection: $c) {
  errors { code field message } } }"""


def _encode_raw(raw: str) -> str:
    """An id as this API would encode "Type:number", for any text after the colon."""
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


async def _counts(api: Any) -> tuple[int, ...]:
    async with api.sessions() as session:
        return tuple((await session.execute(text(COUNTS))).one())


def _graphql_error(result: Any) -> tuple[str, str]:
    assert result.errors, result.data
    (error,) = result.errors
    assert error.message != "Unexpected error.", error
    return error.extensions["code"], error.extensions["field"]


def _payload_error(data: dict[str, Any]) -> tuple[str, str]:
    (payload,) = data.values()
    first = payload["errors"][0]
    return first["code"], first["field"]


@pytest.fixture
async def loaded(api: Any, sessions: Any) -> Any:
    await load(sessions)
    return api


@pytest.mark.parametrize("address", ["，。", "(", "（ ）", "、"])
async def test_an_address_that_normalises_to_nothing(loaded: Any, address: str) -> None:
    before = await _counts(loaded)
    result = await loaded.run("query ($address: String) { coverage(address: $address) { "
                              "matchedAddress } }", {"address": address}, viewer=ANONYMOUS)
    assert _graphql_error(result) == ("INVALID_ADDRESS", "address")
    submitted = await loaded.data(SUBMIT, {"input": {
        "category": "MAINTENANCE", "description": "灯坏了", "address": address}},
        viewer=ANONYMOUS)
    assert _payload_error(submitted) == ("INVALID_ADDRESS", "input.address")
    assert await _counts(loaded) == before


STRING_ARGUMENTS = [  # (operation with $v, variables around $v, field named)
    ("query ($v: String) { coverage(address: $v) { matchedAddress } }", lambda v: v, "v"),
    ("query ($v: String) { buildings(search: $v) { totalCount } }", lambda v: v, "v"),
    ("query ($v: String) { outboundMessages(kind: $v) { id } }", lambda v: v, "v"),
    ("query ($v: String!) { assessments(period: $v) { tier } }", lambda v: v, "v"),
    ("query ($v: ID!) { node(id: $v) { id } }", lambda v: v, "v"),
    ("query ($v: String) { grids(after: $v) { totalCount } }", lambda v: v, "v"),
    ("query ($v: ScopeInput) { members(scope: $v) { totalCount } }",
     lambda v: {"gridId": v}, "v.gridId"),
    ("mutation ($v: SubmitRequestInput!) { submitServiceRequest(input: $v) { errors { code } } }",
     lambda v: {"category": "CULTURE", "description": v, "address": "船山路63号"},
     "v.description"),
    ("mutation ($v: SubmitRequestInput!) { submitServiceRequest(input: $v) { errors { code } } }",
     lambda v: {"category": "CULTURE", "description": "x", "address": "船山路63号",
                "contactName": "张三", "idempotencyKey": v}, "v.idempotencyKey"),
    ("mutation ($v: MemberInput!) { createMember(input: $v) { errors { code } } }",
     lambda v: {"name": "张三", "gridIds": ["x", v]}, "v.gridIds[1]"),
    ("mutation ($v: String!) { declineServiceRequest(id: \"x\", reason: $v) { errors { code } } }",
     lambda v: v, "v"),
    ("mutation ($v: String!) { cancelServiceRequest(id: \"x\", reason: $v) { errors { code } } }",
     lambda v: v, "v"),
    ("mutation ($v: String!) { completeServiceRequest(id: \"x\", resolution: $v) { "
     "errors { code } } }", lambda v: v, "v"),
    ("mutation ($v: String) { submitSurveyResponse(token: \"t\", score: 5, comment: $v) { "
     "errors { code } } }", lambda v: v, "v"),
]


@pytest.mark.parametrize("bad", [NUL, SURROGATE], ids=["NUL", "surrogate"])
@pytest.mark.parametrize(("query", "wrap", "field"), STRING_ARGUMENTS,
                         ids=[q.split("(")[1].split("{")[-1].strip() + f"-{f}"
                              for q, _, f in STRING_ARGUMENTS])
async def test_nul_and_lone_surrogates_in_variables(loaded: Any, query: str, wrap: Any,
                                                    field: str, bad: str) -> None:
    before = await _counts(loaded)
    result = await loaded.run(query, {"v": wrap(bad)})
    assert _graphql_error(result) == ("INVALID_TEXT", field)
    assert await _counts(loaded) == before


async def test_nul_in_literals_names_the_argument_path(loaded: Any) -> None:
    result = await loaded.run('mutation { createMember(input: {name: "a\\u0000b"}) { '
                              "errors { code } } }")
    assert _graphql_error(result) == ("INVALID_TEXT", "input.name")
    result = await loaded.run('{ coverage(address: "\\u0000") { matchedAddress } }')
    assert _graphql_error(result) == ("INVALID_TEXT", "address")
    result = await loaded.run('query ($s: String = "\\u0000") { buildings(search: $s) { '
                              "totalCount } }")
    assert _graphql_error(result) == ("INVALID_TEXT", "s")


@pytest.mark.parametrize("bad", [NUL, SURROGATE, "x" * 65], ids=["NUL", "surrogate", "long"])
async def test_hostile_text_in_imported_properties(loaded: Any, bad: str) -> None:
    before = await _counts(loaded)
    data = collection(feature("community", box(X0 + 1, Y0, X0 + 1.01, Y0 + 0.01), code=bad,
                              name="社区"))
    assert _payload_error(await loaded.data(IMPORT, {"c": data}))[1] == \
        "collection.features[0].properties.code"
    assert await _counts(loaded) == before


@pytest.mark.parametrize("households", [10**20, 1e20, -1, 2**31], ids=str)
async def test_households_out_of_range(api: Any, households: Any) -> None:
    data = two_grid_community()
    data["features"][3]["properties"]["households"] = households
    result = await api.data(IMPORT, {"c": data})
    assert _payload_error(result) == ("INVALID_VALUE",
                                      "collection.features[3].properties.households")
    assert await _counts(api) == (0, 0, 0, 0, 0, 0)
    literal = await api.run('mutation { importFeatures(collection: {type: "FeatureCollection", '
                            'features: [{type: "Feature", geometry: {type: "Point", coordinates: '
                            '[112.6, 26.9]}, properties: {layer: "building", code: "B", '
                            'address: "船山路1号", households: 100000000000000000000}}]}) { '
                            "errors { code field } } }")
    assert literal.data["importFeatures"]["errors"][0]["field"] == \
        "collection.features[0].properties.households"


OUT_OF_RANGE = ["Member:2147483648", "Member:0", "Member:-1", "Member:+1", "Member: 1",
                "Member:" + "9" * 5000, "Member:١٢"]


@pytest.mark.parametrize("raw", OUT_OF_RANGE)
async def test_ids_out_of_range(loaded: Any, raw: str) -> None:
    bad = _encode_raw(raw)
    before = await _counts(loaded)
    for query, field in [
        ("query ($v: ID!) { node(id: $v) { id } }", "id"),
        ("query ($v: ID) { members(scope: {memberId: $v}) { totalCount } }", "scope.memberId"),
        ("query ($v: ID) { serviceRequests(scope: {memberId: $v}) { totalCount } }",
         "scope.memberId"),
        ("query ($v: ID) { requestStats(scope: {memberId: $v}) { submitted } }",
         "scope.memberId"),
    ]:
        assert _graphql_error(await loaded.run(query, {"v": bad})) == ("INVALID_ID", field)
    mutation = ("mutation ($v: ID!) { assignServiceRequest(id: $v, memberId: $v) { "
                "errors { code field } } }")
    assert _payload_error(await loaded.data(mutation, {"v": bad})) == ("INVALID_ID", "id")
    assert await _counts(loaded) == before


@pytest.mark.parametrize("pk", [0, -1, 2147483648])
async def test_cursors_out_of_range(loaded: Any, pk: int) -> None:
    cursor = _encode_raw(f"cursor:{pk}")
    for query in ["query ($v: String) { grids(after: $v) { totalCount } }",
                  "query ($v: String) { buildings(after: $v) { totalCount } }",
                  "query ($v: String) { members(after: $v) { totalCount } }",
                  "query ($v: String) { serviceRequests(after: $v) { totalCount } }"]:
        assert _graphql_error(await loaded.run(query, {"v": cursor})) == ("INVALID_ID", "after")
    messages = "query ($v: String) { outboundMessages(after: $v) { id } }"
    bad = _encode_raw(f"OutboundMessage:{pk}")
    assert _graphql_error(await loaded.run(messages, {"v": bad})) == ("INVALID_ID", "after")
    assert encode_cursor(2147483647)  # the largest is fine


async def test_create_member_with_building_zero_is_not_found_not_a_crash(loaded: Any) -> None:
    before = await _counts(loaded)
    for field, value in [("buildingId", _encode_raw("Building:0")),
                         ("buildingGroupId", _encode_raw("BuildingGroup:0")),
                         ("buildingId", encode_id("Building", 999_999))]:
        result = await loaded.data("mutation ($i: MemberInput!) { createMember(input: $i) { "
                                   "member { id } errors { code field } } }",
                                   {"i": {"name": "张三", field: value}})
        assert result["createMember"]["member"] is None
        assert _payload_error(result)[1] == f"input.{field}"
    assert await _counts(loaded) == before


@pytest.mark.parametrize(("since", "until", "field"), [
    ("2026-01-01T00:00:00", "2026-02-01T00:00:00+00:00", "since"),
    ("2026-01-01T00:00:00Z", "2026-02-01T00:00:00", "until"),
    ("2026-01-01", None, "since"),
    ("0001-01-01T00:00:00+08:00", None, "since"),
    ("9999-12-31T23:00:00-05:00", None, "since"),
    ("yesterday", None, "since"),
])
async def test_datetimes_without_an_offset_or_out_of_range(loaded: Any, since: str,
                                                           until: str | None,
                                                           field: str) -> None:
    for name in ("requestStats", "satisfaction"):
        variables = {"since": since, "until": until}
        query = (f"query ($since: DateTime, $until: DateTime) {{ {name}(since: $since, "
                 "until: $until) { __typename } }")
        assert _graphql_error(await loaded.run(query, variables)) == ("INVALID_DATETIME", field)
        literal = (f'{{ {name}(since: "{since}"' + (f', until: "{until}"' if until else "")
                   + ") { __typename } }")
        assert _graphql_error(await loaded.run(literal)) == ("INVALID_DATETIME", field)


async def test_aware_datetimes_still_work(loaded: Any) -> None:
    data = await loaded.data('{ requestStats(since: "2026-01-01T00:00:00+08:00", '
                             'until: "2026-02-01T00:00:00Z") { submitted } }')
    assert data == {"requestStats": {"submitted": 0}}


@pytest.mark.parametrize("period", ["0000-01", "9999-Q4", "0001-Q1", "١٩٩٩-01"])
async def test_period_years_out_of_range(loaded: Any, period: str) -> None:
    result = await loaded.run("query ($p: String!) { assessments(period: $p) { tier } }",
                              {"p": period})
    assert _graphql_error(result) == ("INVALID_PERIOD", "period")


@pytest.mark.parametrize(("name", "walked"), [
    ("PointInput", False), ("BBoxInput", False), ("CoordSystem", False), ("Float", False),
    ("ScopeInput", True), ("SubmitRequestInput", True), ("String", True), ("DateTime", True),
])
def test_only_variables_that_may_hold_text_or_times_are_walked(gql_schema: Any, name: str,
                                                               walked: bool) -> None:
    assert may_hold_checked(gql_schema._schema.type_map[name]) is walked

