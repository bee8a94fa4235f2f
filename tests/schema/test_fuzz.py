"""Fuzzing every query and mutation through `schema.execute` with a real context on the test
PostGIS: no input is ever a server error ("Unexpected error.", INTERNAL_SERVER_ERROR).

Two drivers, both reading the schema itself, so a field added tomorrow is fuzzed too:
- hostile values of each argument's type (NUL, lone surrogates, huge and out-of-range
  numbers, ids and cursors out of range, naive DateTimes, empty and very long strings,
  hostile GeoJSON), put into every argument and every input field, one at a time, the
  other arguments holding plain valid values;
- hypothesis-graphql's generated operations, a few per root field (more with FUZZ_EXAMPLES),
  mostly valid ones and some with one schema violation (Mode.NEGATIVE).
"""

from __future__ import annotations

import base64
import os
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
from graphql import (
    GraphQLEnumType,
    GraphQLInputObjectType,
    GraphQLInputType,
    GraphQLList,
    GraphQLNonNull,
    GraphQLScalarType,
    GraphQLSchema,
    NameNode,
    NullValueNode,
    ObjectFieldNode,
    Undefined,
)
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.errors import InvalidArgument
from hypothesis_graphql import Mode, nodes
from hypothesis_graphql import strategies as gql_st

from domain.access import ANONYMOUS, Viewer
from schema.app import schema as app_schema
from schema.common.ids import encode_cursor, encode_id
from tests.factories import X0, Y0
from tests.requests_factory import community_with_stewards, completed_request

ADMIN = Viewer(admin=True)
GRAPHQL: GraphQLSchema = app_schema._schema
ROOTS = {"query": GRAPHQL.query_type, "mutation": GRAPHQL.mutation_type}
FIELDS = [(kind, name) for kind, root in ROOTS.items() if root is not None
          for name in root.fields]


def _raw_id(text: str) -> str:
    """An id as the API encodes one, for any text (such as a number out of range)."""
    return base64.urlsafe_b64encode(text.encode()).decode().rstrip("=")


TEXT = ["", " ", "a\u0000b", "\ud800x", "x\udfff", "，。", "(", "null", "0", "-1", "1e20",
        "9" * 400, "路" * 5000, "x" * 100_000, "🏠\u202e\u200b", "<script>", "' OR 1=1 --",
        _raw_id("Member:2147483648"), _raw_id("Member:0"), _raw_id("Member:-1"),
        _raw_id("ServiceRequest:" + "9" * 5000), _raw_id("cursor:0"), "====", "%%%",
        encode_id("Member", 2147483647), encode_cursor(2147483647),
        "2026-01-01T00:00:00", "0000-01", "9999-Q4", "2026-Q5", "١٩٩٩-01"]
INTS = [0, -1, 1, 2**31 - 1, -(2**31), 2**31, -(2**31) - 1, 10**20]
FLOATS = [0.0, -0.0, 1e308, -1e308, 5e-324, 2.0**53 + 1, 10**20, 181.0, -91.0]
DATETIMES = ["2026-01-01T00:00:00", "0001-01-01T00:00:00+14:00", "9999-12-31T23:59:59-12:00",
             "2026-02-30T00:00:00Z", "", "2026-01-01T00:00:00+24:00", "a\u0000b", "now",
             "2026-01-01T00:00:00.123456789Z"]
#: What JSON variables can put where a file of a multipart request goes (an Upload).
UPLOADS: list[Any] = ["", "x" * 100_000, 0, 1e308, True, {}, {"filename": "a.jpg"}, [[]],
                      "data:image/jpeg;base64,/9j/4AAQ"]
DATES = ["2026-02-30", "", "0001-01-01", "9999-12-31", "2026-1-1", "a\u0000b", "now", 20261212,
         "2026-12-12T00:00:00"]
GEOJSON: list[Any] = [
    {}, [], "x", 1, None, {"type": "FeatureCollection"},
    {"type": "FeatureCollection", "features": "x"},
    {"type": "FeatureCollection", "features": [{"type": "Feature", "geometry": {
        "type": "Point", "coordinates": [1e308, -1e308]}, "properties": {
        "layer": "building", "code": "a\u0000", "address": "(", "households": 10**20}}]},
    {"type": "FeatureCollection", "features": [{"type": "Feature", "geometry": {
        "type": "Point", "coordinates": [X0, Y0]}, "properties": {
        "layer": {"x": 1}, "code": ["B"], "address": 5, "name": 7, "households": 1e20}}]},
    {"type": "FeatureCollection", "features": [{"type": "Feature", "geometry": {
        "type": "Polygon", "coordinates": [[[X0, Y0], [X0 + 1, Y0], [X0, Y0 + 1], [X0 + 1,
                                                                           Y0 + 1]]]},
        "properties": {"layer": "community", "code": "C" * 65, "name": "\ud800"}}]},
    {"type": "FeatureCollection", "features": [{"type": "Feature", "geometry": {
        "type": "Point", "coordinates": [float("nan"), float("inf")]}, "properties": {
        "layer": "building", "code": "B9", "address": "船山路9号"}}]},
    {"type": "Point", "coordinates": [[[[[[[[[[[[[[[[[[[[1]]]]]]]]]]]]]]]]]]]]},
]


def _named(type_: Any) -> Any:
    while isinstance(type_, GraphQLNonNull | GraphQLList):
        type_ = type_.of_type
    return type_


def hostile(type_: GraphQLInputType) -> list[Any]:
    """Hostile values for a value of `type_`; for a list, also lists of one hostile item and
    a list of a thousand plain ones."""
    named = _named(type_)
    values = _hostile_of(named)
    if isinstance(_unwrap_non_null(type_), GraphQLList):
        return [*values, *([value] for value in values), [plain(named)] * 1000]
    return values


def _hostile_of(named: Any) -> list[Any]:
    if isinstance(named, GraphQLEnumType):
        return ["NOPE", "", 0]
    if isinstance(named, GraphQLInputObjectType):
        return ["x", [], {"nope": 1}]
    by_scalar: dict[str, list[Any]] = {
        "String": TEXT, "ID": TEXT, "Int": INTS, "Float": FLOATS, "Boolean": ["true", 0],
        "DateTime": DATETIMES, "Date": DATES, "GeoJSON": GEOJSON, "Upload": UPLOADS}
    return by_scalar[named.name]


def _unwrap_non_null(type_: Any) -> Any:
    return type_.of_type if isinstance(type_, GraphQLNonNull) else type_


#: Plain values where one of the type alone would be refused (a box with west == east, the id
#: of a Grid where a Member's is expected), by input type or argument name.
PLAIN: dict[str, Any] = {
    "BBoxInput": {"west": X0, "south": Y0, "east": X0 + 0.02, "north": Y0 + 0.01},
    "PointInput": {"lon": X0 + 0.0051, "lat": Y0 + 0.0051}, "period": "2026-11",
    "id": encode_id("ServiceRequest", 1), "memberId": encode_id("Member", 1)}


def plain(type_: GraphQLInputType, name: str = "") -> Any:
    """A plain valid value of `type_` (or of the argument `name`): what the other arguments
    hold meanwhile."""
    type_ = _unwrap_non_null(type_)
    for key in (name, getattr(type_, "name", "")):
        if key in PLAIN:
            return PLAIN[key]
    if isinstance(type_, GraphQLList):
        return [plain(type_.of_type)]
    if isinstance(type_, GraphQLEnumType):
        return next(iter(type_.values))
    if isinstance(type_, GraphQLInputObjectType):
        return {key: plain(field.type, key) for key, field in type_.fields.items()
                if _required(field)}
    assert isinstance(type_, GraphQLScalarType)
    return {"String": "船山路63号", "ID": encode_id("Grid", 1), "Int": 1, "Float": 1.0,
            "Boolean": True, "DateTime": "2026-01-01T00:00:00+08:00",
            "Date": "2026-12-12",
            "GeoJSON": {"type": "FeatureCollection", "features": []}, "Upload": None,
            }[type_.name]


def cases(kind: str, name: str) -> Iterator[tuple[str, dict[str, Any]]]:
    """(operation, variables) with one hostile value at a time, in each argument and each
    field of an input argument."""
    field = ROOTS[kind].fields[name]  # type: ignore[union-attr]
    declared = ", ".join(f"${arg}: {_declared(spec)}" for arg, spec in field.args.items())
    passed = ", ".join(f"{arg}: ${arg}" for arg in field.args)
    operation = (f"{kind} {f'({declared})' if declared else ''} "
                 f"{{ {name}{f'({passed})' if passed else ''} {{ __typename }} }}")
    if _is_leaf(field.type):
        operation = operation.replace(" { __typename }", "")
    base = {arg: plain(spec.type, arg) for arg, spec in field.args.items() if _required(spec)}
    for arg, spec in field.args.items():
        for value in hostile(spec.type):
            yield operation, {**base, arg: value}
        inner = _named(spec.type)
        if isinstance(inner, GraphQLInputObjectType):
            for key, input_field in inner.fields.items():
                for value in hostile(input_field.type):
                    yield operation, {**base, arg: {**plain(inner), key: value}}


def _declared(spec: Any) -> Any:
    """The variable type for an argument: nullable where the argument has a default, so
    that leaving the variable out leaves the default."""
    has_default = spec.default_value is not Undefined
    return _unwrap_non_null(spec.type) if has_default else spec.type


def _required(spec: Any) -> bool:
    """An argument or input field that must be given (non-null, no default)."""
    return isinstance(spec.type, GraphQLNonNull) and spec.default_value is Undefined


def _is_leaf(type_: Any) -> bool:
    return isinstance(_named(type_), GraphQLScalarType | GraphQLEnumType)


def assert_no_server_error(result: Any, operation: str, variables: Any) -> None:
    for error in result.errors or ():
        code = (error.extensions or {}).get("code")
        assert code != "INTERNAL_SERVER_ERROR" and error.message != "Unexpected error.", (
            f"server error for {operation} with {str(variables)[:300]}")


@pytest.fixture
async def community(api: Any, sessions: Any) -> Any:
    """The two-grid community, two stewards (Member:1, Member:2) and a completed request
    (ServiceRequest:1) with its survey, so that ids in plain values name real rows."""
    await community_with_stewards(sessions)
    await completed_request(sessions, at=datetime(2026, 11, 2, tzinfo=UTC))
    return api


@pytest.mark.parametrize(("kind", "name"), FIELDS, ids=[n for _, n in FIELDS])
async def test_hostile_values_in_every_argument(community: Any, kind: str, name: str) -> None:
    for operation, variables in cases(kind, name):
        result = await community.run(operation, variables, viewer=ADMIN)
        assert_no_server_error(result, operation, variables)


def test_every_root_field_is_fuzzed() -> None:
    assert len(FIELDS) >= 20 and ("mutation", "importFeatures") in FIELDS


def _json_node(value: Any) -> Any:
    """A JSON value as a GraphQL literal, for the GeoJSON scalar."""
    if isinstance(value, dict):
        return nodes.Object([ObjectFieldNode(name=NameNode(value=k), value=_json_node(v))
                             for k, v in value.items()])
    if isinstance(value, list):
        return nodes.List([_json_node(v) for v in value])
    if isinstance(value, bool):
        return nodes.Boolean(value)
    if isinstance(value, int):
        return nodes.Int(value)
    if isinstance(value, float):
        return nodes.Float(value)
    return NullValueNode() if value is None else nodes.String(value)


_NAMES = st.sampled_from(["layer", "code", "name", "address", "community", "group",
                          "groupName", "households", "type", "features", "properties"])
_JSON = st.recursive(st.none() | st.booleans() | st.integers() | st.text(max_size=20)
                     | st.floats(allow_nan=False, allow_infinity=False),
                     lambda inner: st.lists(inner, max_size=4)
                     | st.dictionaries(_NAMES, inner, max_size=4), max_leaves=12)
_FEATURE = st.fixed_dictionaries({
    "type": st.just("Feature"),
    "geometry": st.fixed_dictionaries({"type": st.sampled_from(["Point", "Polygon"]),
                                       "coordinates": _JSON}),
    "properties": st.dictionaries(_NAMES, _JSON, max_size=6)})
SCALARS = {
    "Date": st.one_of(st.dates().map(lambda d: d.isoformat()),
                      st.text(max_size=12)).map(nodes.String),
    "DateTime": st.one_of(st.datetimes().map(lambda d: d.isoformat()),
                          st.datetimes(timezones=st.timezones()).map(lambda d: d.isoformat()),
                          st.text(max_size=30)).map(nodes.String),
    "Upload": st.one_of(st.text(max_size=20).map(nodes.String), st.just(nodes.Null)),
    "GeoJSON": st.one_of(_JSON, st.fixed_dictionaries({
        "type": st.just("FeatureCollection"),
        "features": st.lists(_FEATURE, max_size=3)})).map(_json_node),
}
#: Generated operations per root field: a few, always the same ones, in the suite;
#: `FUZZ_EXAMPLES=500 pytest tests/schema/test_fuzz.py` fuzzes deeper, with fresh examples.
EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "8"))
VIEWERS = st.sampled_from([ADMIN, ANONYMOUS, Viewer(member_id=1, grid_ids=frozenset({1}))])


@pytest.mark.parametrize(("kind", "name"), FIELDS, ids=[n for _, n in FIELDS])
@settings(max_examples=EXAMPLES, deadline=None, derandomize="FUZZ_EXAMPLES" not in os.environ,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(data=st.data())
async def test_generated_operations(community: Any, kind: str, name: str,
                                    data: st.DataObject) -> None:
    make = gql_st.queries if kind == "query" else gql_st.mutations
    mode = data.draw(st.sampled_from([Mode.POSITIVE, Mode.POSITIVE, Mode.NEGATIVE]))
    try:
        operation = data.draw(make(GRAPHQL, fields=[name], custom_scalars=SCALARS, mode=mode))
    except InvalidArgument:  # nothing to violate in this field's arguments
        operation = data.draw(make(GRAPHQL, fields=[name], custom_scalars=SCALARS))
    result = await community.run(operation, viewer=data.draw(VIEWERS))
    assert_no_server_error(result, operation, None)
