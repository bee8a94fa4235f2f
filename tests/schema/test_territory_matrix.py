"""Issue #10 point 7: who sees what and who may change what, for every kind of caller.

Callers: anonymous, a member (M1, assigned request R1), a grid worker (W1, of grid G1), the
administrators of communities C1 and C2, of their subdistrict S1, and a city-wide one; each
signed in for real (a session, `load_viewer`). The world: subdistrict S1 holds C1 (grid G1,
building B1, group L1, member M1, request R1) and C2 (G2, B2, L2, M2, R2); S2 holds C3.

The read paths are checked against one module-wide world (built once: the callers only
read); each mutation gets a world of its own.
"""

from __future__ import annotations

import math
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from domain.access import ANONYMOUS, CITY_ADMIN, Viewer, load_viewer
from domain.calendar import ZONE
from domain.infra.db import session_factory, transaction
from domain.people.sessions import start_session
from domain.requests.feed import load_event, visible_to
from domain.requests.models import ServiceRequest as RequestRow
from domain.requests.queries import can_see
from domain.spatial.tiles import vector_tile
from domain.visibility import Kind, condition, visible_ids, visible_params
from schema.common.ids import decode_any, encode_id
from tests.conftest import TABLES, Api
from tests.factories import X0, Y0, box, collection, feature, load, point
from tests.people_factory import make_account, places

CALLERS = ("anonymous", "member", "worker", "c1", "c2", "s1", "city")
EVERYONE = {"M1", "M2", "W1"}
PHONES = {"M1": "13800000001", "M2": "13800000002", "W1": "15000000001"}
CREATE = """mutation ($input: MemberInput!) {
  createMember(input: $input) { member { id name } errors { code field } } }"""
SUBMIT = """mutation ($input: SubmitRequestInput!) {
  submitServiceRequest(input: $input) { request { id } errors { code field } } }"""
ASSIGN = """mutation ($id: ID!, $member: ID!) {
  assignServiceRequest(id: $id, memberId: $member) { request { status } errors { code } } }"""
CANCEL = """mutation ($id: ID!) {
  cancelServiceRequest(id: $id, reason: "duplicate") { request { status } errors { code } } }"""


def world() -> dict[str, Any]:
    """places() with a grid, a building and a group in each of C1 and C2."""
    extra = [
        feature("grid", box(X0, Y0, X0 + 0.02, Y0 + 0.01), code="G1", name="一网格",
                community="C1"),
        feature("grid", box(X0 + 0.02, Y0, X0 + 0.04, Y0 + 0.01), code="G2", name="二网格",
                community="C2"),
        feature("building", point(X0 + 0.005, Y0 + 0.005), code="B1", address="船山路63号",
                group="L1", groupName="船山路党小组"),
        feature("building", point(X0 + 0.025, Y0 + 0.005), code="B2", address="学宫巷3号",
                group="L2", groupName="学宫巷党小组"),
    ]
    data = places()
    data["features"] += extra
    return collection(*data["features"])


async def _ids(sessions: async_sessionmaker[AsyncSession]) -> dict[str, int]:
    async with sessions() as session:
        rows = await session.execute(text(
            "SELECT code, id FROM subdistrict UNION ALL SELECT code, id FROM community "
            "UNION ALL SELECT code, id FROM grid UNION ALL SELECT code, id FROM building "
            "UNION ALL SELECT code, id FROM building_group"))
        return {r.code: r.id for r in rows}


async def _viewer(sessions: async_sessionmaker[AsyncSession], *, account: int | None = None,
                  member: int | None = None) -> Viewer:
    """The caller a real session of this account or member makes."""
    async with transaction(sessions) as session:
        issued = await start_session(session, now=datetime.now(UTC), account_id=account,
                                     member_id=member)
    async with sessions() as session:
        return await load_viewer(session, admin=False, member_id=member, account_id=account,
                                 session_id=issued.session_id)


async def build(api: Api) -> dict[str, Any]:
    """The world, its people and requests; ids by code and the callers by name."""
    sessions = api.sessions
    await load(sessions, world())
    ids = await _ids(sessions)
    people: list[tuple[str, str, dict[str, Any]]] = [
            ("M1", PHONES["M1"], {"buildingGroupId": encode_id("BuildingGroup", ids["L1"])}),
            ("M2", PHONES["M2"], {"buildingGroupId": encode_id("BuildingGroup", ids["L2"])}),
            ("W1", PHONES["W1"], {"roles": ["GRID_WORKER"],
                                  "gridIds": [encode_id("Grid", ids["G1"])]})]
    for name, phone, extra in people:
        made = await api.data(CREATE, {"input": {"name": name, "phone": phone, **extra}},
                              viewer=CITY_ADMIN)
        ids[name] = decode_any(made["createMember"]["member"]["id"], "id")[1]
    for name, address, phone in [("R1", "船山路63号", "13900000001"),
                                 ("R2", "学宫巷3号", "13900000002")]:
        made = await api.data(SUBMIT, {"input": {
            "category": "MAINTENANCE", "description": f"{name}: 水管漏水", "address": address,
            "contactName": "居民", "contactPhone": phone}}, viewer=ANONYMOUS)
        ids[name] = decode_any(made["submitServiceRequest"]["request"]["id"], "id")[1]
    await api.data(ASSIGN, {"id": encode_id("ServiceRequest", ids["R1"]),
                            "member": encode_id("Member", ids["M1"])}, viewer=CITY_ADMIN)
    accounts = {code: await make_account(sessions, ids, f"{code}admin",
                                         code.upper() if code != "city" else "city")
                for code in ("c1", "c2", "s1", "city")}
    callers = {"anonymous": ANONYMOUS,
               "member": await _viewer(sessions, member=ids["M1"]),
               "worker": await _viewer(sessions, member=ids["W1"]),
               **{code: await _viewer(sessions, account=pk) for code, pk in accounts.items()}}
    return {"ids": ids, "callers": callers, "accounts": accounts}


@pytest.fixture(scope="module")
async def shared(engine: AsyncEngine, gql_schema: Any) -> AsyncIterator[dict[str, Any]]:
    """One world for every read test of this module (they change nothing)."""
    async with engine.begin() as conn:
        await conn.execute(text(f"TRUNCATE {TABLES} RESTART IDENTITY CASCADE"))
    api = Api(gql_schema, session_factory(engine))
    built = await build(api)
    yield {**built, "api": api}


def _code(ids: dict[str, int], kind: str, global_id: str) -> str:
    pk = decode_any(global_id, "id")[1]
    return next(code for code, v in ids.items() if v == pk and code[0] == kind)


async def _read(shared: dict[str, Any], caller: str, query: str,
                variables: dict[str, Any] | None = None) -> Any:
    """The data, or the error code of a refused call."""
    result = await shared["api"].run(query, variables, viewer=shared["callers"][caller])
    if result.errors:
        return result.errors[0].extensions["code"]
    return result.data


# ---------------------------------------------------------------- lists

MEMBERS = "{ members { totalCount edges { node { name phone } } } }"


@pytest.mark.parametrize(("caller", "seen"), [
    ("anonymous", "UNAUTHENTICATED"), ("member", EVERYONE), ("worker", EVERYONE),
    ("c1", {"M1", "W1"}), ("c2", {"M2"}), ("s1", EVERYONE), ("city", EVERYONE)])
async def test_members(shared: dict[str, Any], caller: str, seen: Any) -> None:
    data = await _read(shared, caller, MEMBERS)
    if isinstance(seen, str):
        assert data == seen
        return
    assert {e["node"]["name"] for e in data["members"]["edges"]} == seen
    assert data["members"]["totalCount"] == len(seen)


@pytest.mark.parametrize(("caller", "seen"), [("c1", {"M1", "W1"}), ("c2", {"M2"}),
                                            ("s1", EVERYONE)])
async def test_members_of_a_territory_too_large_to_bind(shared: dict[str, Any], caller: str,
                                                         seen: set[str],
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    """Beyond AMONG_LIMIT members a territory's list filters by its rule in each statement,
    not by the ids bound as values: the same members either way."""
    from domain.spatial import directory
    monkeypatch.setattr(directory, "AMONG_LIMIT", 1)
    data = await _read(shared, caller, MEMBERS)
    assert {e["node"]["name"] for e in data["members"]["edges"]} == seen
    assert data["members"]["totalCount"] == len(seen)


async def test_a_territorys_member_count_is_its_ids_unless_filtered(shared: dict[str, Any],
                                                                   engine: AsyncEngine) -> None:
    """Staff of a territory: totalCount of their members is the ids the page was found among
    (no count statement); with a filter, it is counted."""
    from tests.schema.test_n_plus_one import counting
    with counting(engine) as sent:
        whole = await _read(shared, "c1", "{ members { totalCount totalCountExact } }")
    assert whole["members"] == {"totalCount": 2, "totalCountExact": True}
    assert not [s for s in sent if "count(" in s.lower()]
    with counting(engine) as sent:
        workers = await _read(shared, "c1", "{ members(role: GRID_WORKER) { totalCount "
                                            "edges { node { name } } } }")
    assert workers["members"] == {"totalCount": 1, "edges": [{"node": {"name": "W1"}}]}
    assert len([s for s in sent if "count(" in s.lower()]) == 1


@pytest.mark.parametrize(("caller", "whole"), [
    ("member", {"M1"}), ("worker", {"M1", "W1"}), ("c1", {"M1", "W1"}), ("c2", {"M2"}),
    ("s1", EVERYONE), ("city", EVERYONE)])
async def test_member_phones(shared: dict[str, Any], caller: str, whole: set[str]) -> None:
    data = await _read(shared, caller, MEMBERS)
    shown = {e["node"]["name"]: e["node"]["phone"] for e in data["members"]["edges"]}
    for name, phone in shown.items():
        assert phone == (PHONES[name] if name in whole else PHONES[name][:3] + "****"
                         + PHONES[name][-4:]), name


async def test_contacts_of_coverage_are_masked_for_anonymous_callers(
        shared: dict[str, Any]) -> None:
    data = await _read(shared, "anonymous",
                       '{ coverage(address: "船山路63号") { contacts { name phone } } }')
    assert data["coverage"]["contacts"] == [{"name": "W1", "phone": "150****0001"}]


REQUESTS = """{ serviceRequests { totalCount edges { node {
  description contactPhone community { code } } } } }"""


@pytest.mark.parametrize(("caller", "seen"), [
    ("anonymous", "UNAUTHENTICATED"), ("member", {"R1"}), ("worker", {"R1"}), ("c1", {"R1"}),
    ("c2", {"R2"}), ("s1", {"R1", "R2"}), ("city", {"R1", "R2"})])
async def test_service_requests(shared: dict[str, Any], caller: str, seen: Any) -> None:
    data = await _read(shared, caller, REQUESTS)
    if isinstance(seen, str):
        assert data == seen
        return
    nodes = [e["node"] for e in data["serviceRequests"]["edges"]]
    assert {n["description"][:2] for n in nodes} == seen
    assert {n["contactPhone"] for n in nodes} == {f"1390000000{r[1]}" for r in seen}
    assert data["serviceRequests"]["totalCount"] == len(seen)


@pytest.mark.parametrize(("caller", "seen"), [
    ("member", {"G1", "G2"}), ("worker", {"G1", "G2"}), ("c1", {"G1"}), ("c2", {"G2"}),
    ("s1", {"G1", "G2"}), ("city", {"G1", "G2"})])
async def test_grids_and_buildings(shared: dict[str, Any], caller: str, seen: set[str]) -> None:
    data = await _read(shared, caller, "{ grids { edges { node { code } } } "
                       "buildings { edges { node { code } } } }")
    assert {e["node"]["code"] for e in data["grids"]["edges"]} == seen
    assert {e["node"]["code"] for e in data["buildings"]["edges"]} == {
        "B" + code[1] for code in seen}


@pytest.mark.parametrize(("caller", "seen"), [
    ("member", {"S1", "S2"}), ("c1", {"S1"}), ("c2", {"S1"}), ("s1", {"S1"}),
    ("city", {"S1", "S2"})])
async def test_subdistricts(shared: dict[str, Any], caller: str, seen: set[str]) -> None:
    data = await _read(shared, caller, "{ subdistricts { edges { node { code communities "
                       "{ code } } } } }")
    found = {e["node"]["code"]: {c["code"] for c in e["node"]["communities"]}
             for e in data["subdistricts"]["edges"]}
    assert set(found) == seen
    if caller == "c1":
        assert found["S1"] == {"C1"}  # the subdistrict's other communities are left out


# ---------------------------------------------------------------- node look-ups

@pytest.mark.parametrize("caller", CALLERS[1:])
@pytest.mark.parametrize("code", ["R1", "R2", "M2", "G2", "C2", "B2", "L2"])
async def test_node(shared: dict[str, Any], caller: str, code: str) -> None:
    type_name = {"R": "ServiceRequest", "M": "Member", "G": "Grid", "C": "Community",
                 "B": "Building", "L": "BuildingGroup"}[code[0]]
    node_id = encode_id(type_name, shared["ids"][code])
    data = await _read(shared, caller, "query ($id: ID!) { node(id: $id) { id } }",
                       {"id": node_id})
    outside = {"c1": {"R2", "M2", "G2", "C2", "B2", "L2"}, "c2": {"R1"},
               "member": {"R2"}, "worker": {"R2"}}.get(caller, set())
    assert data["node"] == (None if code in outside else {"id": node_id})


@pytest.mark.parametrize(("caller", "seen"), [
    ("member", set()), ("c1", {"c1admin"}), ("c2", {"c2admin"}),
    ("s1", {"c1admin", "c2admin", "s1admin"}),
    ("city", {"c1admin", "c2admin", "s1admin", "cityadmin"})])
async def test_staff_account_nodes(shared: dict[str, Any], caller: str, seen: set[str]) -> None:
    for code, pk in shared["accounts"].items():
        data = await _read(shared, caller, "query ($id: ID!) { node(id: $id) { "
                           "... on StaffAccount { login } } }",
                           {"id": encode_id("StaffAccount", pk)})
        assert (data["node"] is not None) == (f"{code}admin" in seen), code


# ---------------------------------------------------------------- figures, layers, outbox

@pytest.mark.parametrize(("caller", "submitted"), [
    ("anonymous", "UNAUTHENTICATED"), ("member", 1), ("worker", 1), ("c1", 1), ("c2", 1),
    ("s1", 2), ("city", 2)])
async def test_request_stats_and_satisfaction(shared: dict[str, Any], caller: str,
                                              submitted: Any) -> None:
    data = await _read(shared, caller, "{ requestStats { submitted } "
                       "satisfaction { surveysSent } }")
    if isinstance(submitted, str):
        assert data == submitted
        return
    assert data["requestStats"]["submitted"] == submitted
    assert data["satisfaction"]["surveysSent"] == 0


BOX = "{west: 112.5, south: 26.8, east: 112.8, north: 27.0}"


@pytest.mark.parametrize(("caller", "seen"), [
    ("member", {"R1", "G1", "G2"}), ("worker", {"R1", "G1", "G2"}), ("c1", {"R1", "G1"}),
    ("c2", {"R2", "G2"}), ("s1", {"R1", "R2", "G1", "G2"}),
    ("city", {"R1", "R2", "G1", "G2"})])
async def test_map_features(shared: dict[str, Any], caller: str, seen: set[str]) -> None:
    data = await _read(shared, caller, f"{{ mapFeatures(bbox: {BOX}, "
                       "layers: [OPEN_REQUESTS, GRIDS]) }")
    ids = shared["ids"]
    found = {_code(ids, "R" if f["properties"]["layer"] == "open_requests" else "G",
                   f["properties"]["id"]) for f in data["mapFeatures"]["features"]}
    assert found == seen


@pytest.mark.parametrize(("caller", "seen"), [
    ("member", True), ("worker", True), ("c1", True), ("c2", False), ("s1", True),
    ("city", True)])
async def test_open_request_tiles(shared: dict[str, Any], caller: str, seen: bool) -> None:
    """The z16 tile holding R1 (at B1): R1 drawn or not (R2, in C2, lies in another)."""
    z, lon, lat = 16, X0 + 0.005, Y0 + 0.005
    x = int((lon + 180) / 360 * (1 << z))
    y = int((1 - math.asinh(math.tan(math.radians(lat))) / math.pi) / 2 * (1 << z))
    async with shared["api"].sessions() as session:
        tile = await vector_tile(session, layer="open_requests", z=z, x=x, y=y,
                                 viewer=shared["callers"][caller])
    assert (tile != b"") == seen


@pytest.mark.parametrize(("caller", "seen"), [
    ("anonymous", "FORBIDDEN"), ("member", "FORBIDDEN"), ("worker", "FORBIDDEN"),
    ("c1", 1), ("c2", 0), ("s1", 1), ("city", 1)])
async def test_outbound_messages(shared: dict[str, Any], caller: str, seen: Any) -> None:
    data = await _read(shared, caller, '{ outboundMessages(kind: "DISPATCH_NOTICE") '
                       "{ recipient } }")
    if isinstance(seen, str):
        assert data == seen
        return
    assert data["outboundMessages"] == [{"recipient": PHONES["M1"]}] * seen


@pytest.mark.parametrize(("caller", "seen"), [
    ("member", "FORBIDDEN"), ("worker", "FORBIDDEN"), ("c1", 1), ("c2", 0), ("s1", 1),
    ("city", 1)])
async def test_audit_log(shared: dict[str, Any], caller: str, seen: Any) -> None:
    data = await _read(shared, caller, '{ auditLog(action: "REQUEST_ASSIGNED") { totalCount '
                       "edges { node { id } } } }")
    if isinstance(seen, str):
        assert data == seen
        return
    assert data["auditLog"]["totalCount"] == seen
    assert len(data["auditLog"]["edges"]) == seen


@pytest.mark.parametrize(("caller", "seen"), [
    ("member", "FORBIDDEN"), ("c1", {"c1admin"}), ("c2", {"c2admin"}),
    ("s1", {"c1admin", "c2admin", "s1admin"}),
    ("city", {"c1admin", "c2admin", "s1admin", "cityadmin"})])
async def test_staff_accounts(shared: dict[str, Any], caller: str, seen: Any) -> None:
    data = await _read(shared, caller, "{ staffAccounts { edges { node { login } } } }")
    if isinstance(seen, str):
        assert data == seen
        return
    assert {e["node"]["login"] for e in data["staffAccounts"]["edges"]} == seen


@pytest.mark.parametrize(("caller", "seen"), [
    ("member", {"M1"}), ("worker", {"M1", "W1"}), ("c1", {"M1"}), ("c2", {"M2"}),
    ("s1", {"M1", "M2"}), ("city", EVERYONE)])
async def test_assessments(shared: dict[str, Any], caller: str, seen: set[str]) -> None:
    period = datetime.now(ZONE).strftime("%Y-%m")
    data = await _read(shared, caller, "query ($p: String!) { assessments(period: $p) "
                       "{ member { name } } }", {"p": period})
    assert {a["member"]["name"] for a in data["assessments"]} == seen


# ---------------------------------------------------------------- rules in Python and SQL

@pytest.mark.parametrize("caller", CALLERS)
async def test_the_python_twin_agrees_with_the_sql_rule(shared: dict[str, Any],
                                                        caller: str) -> None:
    viewer = shared["callers"][caller]
    async with shared["api"].sessions() as session:
        rows = (await session.execute(text("SELECT * FROM service_request"))).all()
        seen = await visible_ids(session, viewer, Kind.SERVICE_REQUEST, [r.id for r in rows])
    for row in rows:
        request = RequestRow(**row._mapping)
        assert can_see(viewer, request) == (row.id in seen)


#: Members besides the world's, each reaching a community one way: a home in B2 only (C2),
#: a group in L1 and a home in B2 (C1 and C2), the grid work of G2 only (C2), nothing.
_REACHED = {"H2": ("B2", None, None), "L1H2": ("B2", "L1", None), "W2": (None, None, "G2"),
            "N0": (None, None, None)}
#: Which of the world's members and those staff see, by either rule (and whose phones).
_BY_ROW_SEEN = {"c1": {"M1", "W1", "L1H2"},
                "c2": {"M2", "H2", "L1H2", "W2"}, "s1": EVERYONE | {"H2", "L1H2", "W2"},
                "city": EVERYONE | set(_REACHED)}


@pytest.mark.parametrize("caller", CALLERS)
@pytest.mark.parametrize("kind", [Kind.MEMBER, Kind.MEMBER_PHONE])
async def test_the_row_by_row_check_agrees_with_the_list_rule(shared: dict[str, Any],
                                                              caller: str, kind: Kind) -> None:
    """`visible_ids` checks members row by row (`_ROW_BY_ROW`); lists find them from the
    territory down. Both must name the same members, however each reaches its community."""
    ids, viewer = shared["ids"], shared["callers"][caller]
    async with shared["api"].sessions() as session:  # rolled back: the world stays as it is
        names = {ids[code]: code for code in EVERYONE}
        for name, (home, group, grid) in _REACHED.items():
            pk = (await session.execute(text(
                "INSERT INTO member (name, status, party_member, building_id, group_id) "
                "VALUES (:name, 'ACTIVE', true, :home, :group) RETURNING id"),
                {"name": name, "home": ids.get(home or ""),
                 "group": ids.get(group or "")})).scalar_one()
            if grid:
                await session.execute(text("INSERT INTO grid_worker (grid_id, member_id) "
                                           "VALUES (:grid, :member)"),
                                      {"grid": ids[grid], "member": pk})
            names[pk] = name
        listed_sql = condition(viewer, kind, "a")
        listed = {names[pk] for pk in (await session.execute(
            text(f"SELECT a.id FROM member a WHERE {listed_sql}"),
            visible_params(viewer))).scalars()}
        checked = {names[pk] for pk in await visible_ids(session, viewer, kind, list(names))}
    assert checked == listed
    if caller in _BY_ROW_SEEN:
        assert checked == _BY_ROW_SEEN[caller]


@pytest.mark.parametrize("caller", ["c1", "s1", "worker"])
async def test_a_page_of_members_and_their_phones_is_one_check(shared: dict[str, Any],
                                                              engine: AsyncEngine,
                                                              caller: str) -> None:
    """Staff of territories: the page's members and their phones are checked by one
    statement (the two rules are one for them); a grid worker's phones by one too."""
    from tests.schema.test_n_plus_one import counting
    with counting(engine) as statements:
        data = await _read(shared, caller, MEMBERS)
    assert data["members"]["edges"]
    checks = [s for s in statements if s.startswith("SELECT a.id FROM member a")]
    assert len(checks) == 1


@pytest.mark.parametrize(("caller", "seen"), [
    ("anonymous", set()), ("member", {"R1"}), ("worker", {"R1"}), ("c1", {"R1"}),
    ("c2", {"R2"}), ("s1", {"R1", "R2"}), ("city", {"R1", "R2"})])
async def test_subscription_events(shared: dict[str, Any], caller: str, seen: set[str]) -> None:
    ids, viewer = shared["ids"], shared["callers"][caller]
    async with shared["api"].sessions() as session:
        events = (await session.execute(text(
            "SELECT id, request_id FROM request_event WHERE kind = 'SUBMITTED'"))).all()
        received = set()
        for event in events:
            row = await load_event(session, event_id=event.id)
            assert row is not None
            if visible_to(viewer, row):
                received.add(next(c for c in ("R1", "R2") if ids[c] == event.request_id))
    assert received == seen


async def test_a_subdistrict_administrator_holds_its_communities(shared: dict[str, Any]) -> None:
    ids = shared["ids"]
    assert shared["callers"]["s1"].communities == {ids["C1"], ids["C2"]}
    assert shared["callers"]["c1"].communities == {ids["C1"]}


# ---------------------------------------------------------------- who may change what

@pytest.fixture
async def fresh(api: Api) -> dict[str, Any]:
    return {**await build(api), "api": api}


async def _change(fresh: dict[str, Any], caller: str, query: str,
                  variables: dict[str, Any]) -> str:
    """DONE, or the code that refused it (a top-level error or the payload's)."""
    result = await fresh["api"].run(query, variables, viewer=fresh["callers"][caller])
    if result.errors:
        return str(result.errors[0].extensions["code"])
    payload = next(iter(result.data.values()))
    return payload["errors"][0]["code"] if payload["errors"] else "DONE"


@pytest.mark.parametrize(("caller", "outcome"), [
    ("anonymous", "UNAUTHENTICATED"), ("member", "FORBIDDEN"), ("worker", "FORBIDDEN"),
    ("c1", "FORBIDDEN"), ("c2", "DONE"), ("s1", "DONE"), ("city", "DONE")])
async def test_cancel_a_request_of_c2(fresh: dict[str, Any], caller: str, outcome: str) -> None:
    got = await _change(fresh, caller, CANCEL,
                        {"id": encode_id("ServiceRequest", fresh["ids"]["R2"])})
    assert got == outcome
    async with fresh["api"].sessions() as session:
        status = (await session.execute(text("SELECT status FROM service_request WHERE id = "
                                              ":id"), {"id": fresh["ids"]["R2"]})).scalar()
    assert (status == "CANCELLED") == (outcome == "DONE")


@pytest.mark.parametrize(("caller", "outcome"), [
    ("worker", "FORBIDDEN"), ("c1", "FORBIDDEN"), ("c2", "DONE"), ("s1", "DONE"),
    ("city", "DONE")])
async def test_assign_a_request_of_c2(fresh: dict[str, Any], caller: str, outcome: str) -> None:
    ids = fresh["ids"]
    got = await _change(fresh, caller, ASSIGN, {"id": encode_id("ServiceRequest", ids["R2"]),
                                                "member": encode_id("Member", ids["M2"])})
    assert got == outcome


@pytest.mark.parametrize(("caller", "group", "outcome"), [
    ("anonymous", "L2", "FORBIDDEN"), ("member", "L2", "FORBIDDEN"),
    ("c1", "L2", "FORBIDDEN"), ("c1", "L1", "DONE"), ("c1", None, "FORBIDDEN"),
    ("c2", "L2", "DONE"), ("s1", "L2", "DONE"), ("city", None, "DONE")])
async def test_create_a_member(fresh: dict[str, Any], caller: str, group: str | None,
                               outcome: str) -> None:
    data: dict[str, Any] = {"name": "赵六", "phone": "13700000009"}
    if group:
        data["buildingGroupId"] = encode_id("BuildingGroup", fresh["ids"][group])
    assert await _change(fresh, caller, CREATE, {"input": data}) == outcome
    async with fresh["api"].sessions() as session:
        made = (await session.execute(text("SELECT count(*) FROM member WHERE name = '赵六'"))
                ).scalar()
    assert made == (1 if outcome == "DONE" else 0)


async def test_a_member_of_another_community_is_no_target(fresh: dict[str, Any]) -> None:
    """C2's administrator may not hand C2's request to C1's member: the member is named."""
    ids = fresh["ids"]
    result = await fresh["api"].run(ASSIGN, {"id": encode_id("ServiceRequest", ids["R2"]),
                                             "member": encode_id("Member", ids["M1"])},
                                    viewer=fresh["callers"]["c2"])
    (error,) = result.errors
    assert error.extensions == {"code": "FORBIDDEN", "field": "memberId"}


async def test_a_recipient_shown_is_a_phone_revealed(shared: dict[str, Any]) -> None:
    await _read(shared, "c1", '{ outboundMessages(kind: "DISPATCH_NOTICE") { recipient } }')
    actor = f"account:{shared['accounts']['c1']}"
    async with shared["api"].sessions() as session:
        entries = (await session.execute(text(
            "SELECT subject_type, subject_id, detail FROM audit_entry WHERE actor = :actor "
            "AND action = 'PHONE_REVEALED' AND detail->>'whose' = 'recipient'"),
            {"actor": actor})).all()
    assert entries and all((e.subject_type, e.subject_id) == ("Member", shared["ids"]["M1"])
                           for e in entries)
    assert entries[0].detail["path"] == "outboundMessages.0.recipient"


async def _statements(fresh: dict[str, Any], engine: AsyncEngine, caller: str) -> int:
    from sqlalchemy import event
    seen = [0]

    def count(*args: Any) -> None:
        seen[0] += 1
    event.listen(engine.sync_engine, "before_cursor_execute", count)
    try:
        data = await fresh["api"].data(
            "{ members(first: 500) { edges { node { phone group { code } grids { code } "
            "building { code } } } } }", viewer=fresh["callers"][caller])
    finally:
        event.remove(engine.sync_engine, "before_cursor_execute", count)
    assert data["members"]["edges"]
    return seen[0]


@pytest.mark.parametrize("caller", ["c1", "worker"])
async def test_checks_cost_statements_per_level_not_per_row(fresh: dict[str, Any],
                                                            engine: AsyncEngine,
                                                            caller: str) -> None:
    """Ten more members in C1 cost no more statements: the layer's checks are batched."""
    before = await _statements(fresh, engine, caller)
    async with transaction(fresh["api"].sessions) as session:
        for n in range(10):
            await session.execute(text(
                "INSERT INTO member (name, phone, status, party_member, group_id) "
                "VALUES (:name, :phone, 'ACTIVE', true, :group)"),
                {"name": f"M{n + 10}", "phone": f"1380000{n + 10:04d}",
                 "group": fresh["ids"]["L1"]})
    assert await _statements(fresh, engine, caller) == before
