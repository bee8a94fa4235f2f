"""Service requests over GraphQL: the whole lifecycle, submission rules, bad input that changes
nothing, the accept race, who sees what, and a guard against N+1 on nested lists."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import text

from domain.access import ANONYMOUS, Viewer
from domain.infra.db import transaction
from domain.spatial.members import NewMember, create_member
from domain.workdays import Limit, Unit, WorkCalendar, due
from schema.common.context import Context
from schema.common.ids import decode_id, encode_id
from tests.factories import X0, Y0, load
from tests.requests_factory import dispatch_request
from tests.schema.test_n_plus_one import counting
from tests.settings import make_settings

ADMIN = Viewer(admin=True)
IN_B1 = {"lon": X0 + 0.0051, "lat": Y0 + 0.0051}   # inside B1's footprint (G1, group L1)
AT_B2 = {"lon": X0 + 0.015, "lat": Y0 + 0.005}      # B2's point (G2, group L2)
FIELDS = """id number status category escalationLevel contactName contactPhone address
  submittedAt dueAt completedAt overdue resolution location building { code }
  buildingGroup { code } grid { code } community { code } assignee { name }"""
SUBMIT = f"""mutation ($input: SubmitRequestInput!) {{ submitServiceRequest(input: $input) {{
  request {{ {FIELDS} }} possibleDuplicates {{ number contactName contactPhone }}
  errors {{ code field message }} }} }}"""


def act_query(name: str, **args: str) -> str:
    """The mutation `name` with its arguments written inline (JSON strings are GraphQL's)."""
    inline = ", ".join(f"{k}: {json.dumps(v, ensure_ascii=False)}" for k, v in args.items())
    return (f"mutation {{ {name}({inline}) {{ request {{ status assignee {{ name }} "
            "resolution } errors { code field message } } }")


LIST = """query ($scope: ScopeInput, $status: [RequestStatus!], $category: ServiceCategory,
  $bbox: BBoxInput, $overdue: Boolean, $first: Int, $after: String) {
  serviceRequests(scope: $scope, status: $status, category: $category, bbox: $bbox,
                  overdue: $overdue, first: $first, after: $after) {
    totalCount pageInfo { hasNextPage endCursor } edges { node { number contactPhone } } } }"""
PEOPLE = [  # name, phone, group, skills, status, grids served
    ("甲", "13800000001", "L1", ["MAINTENANCE"], "ACTIVE", []),
    ("乙", "13800000002", "L1", ["CULTURE"], "ACTIVE", []),
    ("丙", "13800000003", "L1", ["MAINTENANCE"], "SUSPENDED", []),
    ("丁", "13800000004", "L2", ["MAINTENANCE"], "ACTIVE", []),
    ("网格一", "15000000001", None, [], "ACTIVE", ["G1"]),
    ("网格二", "15000000002", None, [], "ACTIVE", ["G1"]),
    ("网格三", "15000000003", None, [], "ACTIVE", ["G2"]),
]


class World:
    """The two-grid community with members, and helpers to act as them."""

    def __init__(self, api: Any, ids: dict[str, int], people: dict[str, int]) -> None:
        self.api, self.ids, self.people = api, ids, people

    def viewer(self, name: str) -> Viewer:
        grids = next(p[5] for p in PEOPLE if p[0] == name)
        return Viewer(member_id=self.people[name],
                      grid_ids=frozenset(self.ids[g] for g in grids))

    def member_id(self, name: str) -> str:
        return encode_id("Member", self.people[name])

    async def submit(self, viewer: Viewer = ANONYMOUS, **fields: Any) -> dict[str, Any]:
        data = {"category": "MAINTENANCE", "description": "楼道灯坏了", "point": IN_B1, **fields}
        result = await self.api.data(SUBMIT, {"input": data}, viewer=viewer)
        return result["submitServiceRequest"]

    async def act(self, name: str, request_id: str, viewer: Viewer,
                  **args: str) -> dict[str, Any]:
        result = await self.api.data(act_query(name, id=request_id, **args), viewer=viewer)
        return result[name]

    async def dispatch(self, request_id: str, now: datetime | None = None) -> Any:
        async with transaction(self.api.sessions) as session:
            return await dispatch_request(
                session, request_id=decode_id(request_id, "ServiceRequest", "id"),
                now=now or datetime.now(UTC), accept_timeout=timedelta(minutes=30))

    async def counts(self) -> tuple[int, ...]:
        async with self.api.sessions() as session:
            row = (await session.execute(text(
                "SELECT (SELECT count(*) FROM service_request), (SELECT count(*) FROM "
                "request_event), (SELECT count(*) FROM outbound_message), (SELECT "
                "string_agg(status || coalesce(assignee_id::text, '-'), ',' ORDER BY id) "
                "FROM service_request)"))).one()
        return tuple(row)


@pytest.fixture
async def world(api: Any, sessions: Any) -> World:
    return await build_world(api, sessions)


async def build_world(api: Any, sessions: Any) -> World:
    """The two-grid community with PEOPLE in it."""
    await load(sessions)
    async with sessions() as session:
        ids = dict((await session.execute(text(
            "SELECT code, id FROM grid UNION ALL SELECT code, id FROM building_group"))).all())
    people = {}
    async with transaction(sessions) as session:
        for name, phone, group, skills, status, grids in PEOPLE:
            member = await create_member(session, NewMember(
                name=name, phone=phone, skills=skills, status=status,
                group_id=ids[group] if group else None,
                roles=["GRID_WORKER"] if grids else ["STEWARD"],
                grid_ids=[ids[g] for g in grids]))
            people[name] = member.id or 0
    return World(api, ids, people)


def _allowed(request: dict[str, Any]) -> timedelta:
    """The time limit a request was given."""
    return (datetime.fromisoformat(request["dueAt"]) -
            datetime.fromisoformat(request["submittedAt"]))


async def test_the_whole_lifecycle(world: World) -> None:
    submitted = await world.submit(contactName="王大妈", contactPhone="138 1234 5678")
    request = submitted["request"]
    assert submitted["errors"] == [] and submitted["possibleDuplicates"] == []
    assert (request["status"], request["building"], request["buildingGroup"], request["grid"],
            request["community"]) == ("SUBMITTED", {"code": "B1"}, {"code": "L1"},
                                      {"code": "G1"}, {"code": "C1"})
    assert request["contactPhone"] == "13812345678" and request["contactName"] == "王大妈"
    assert datetime.fromisoformat(request["dueAt"]) == due(  # MAINTENANCE: 3 working days
        Limit(3, Unit.WORKING_DAYS), datetime.fromisoformat(request["submittedAt"]),
        WorkCalendar()).at
    assert request["overdue"] is False
    assert request["location"]["coordinates"] == pytest.approx([IN_B1["lon"], IN_B1["lat"]])

    outcome = await world.dispatch(request["id"])
    assert (outcome.action, outcome.member_id) == ("DISPATCHED", world.people["甲"])
    me = world.viewer("甲")
    assert (await world.act("acceptServiceRequest", request["id"], me))["request"][
        "status"] == "ACCEPTED"
    assert (await world.act("startServiceRequest", request["id"], me))["request"][
        "status"] == "IN_PROGRESS"
    done = await world.act("completeServiceRequest", request["id"], me, resolution="换了灯泡")
    assert done == {"request": {"status": "COMPLETED", "assignee": {"name": "甲"},
                                "resolution": "换了灯泡"}, "errors": []}

    data = await world.api.data(
        "query ($id: ID!) { serviceRequests { edges { node { id contactPhone completedAt "
        "timeline { kind fromStatus toStatus actor note member { name } request { id } } } } }"
        " outboundMessages(requestId: $id) { id kind recipient requestId } }",
        {"id": request["id"]})
    (node,) = [e["node"] for e in data["serviceRequests"]["edges"]]
    assert node["contactPhone"] == "13812345678" and node["completedAt"]
    member = f"member:{world.people['甲']}"
    assert [(e["kind"], e["fromStatus"], e["toStatus"], e["actor"]) for e in node["timeline"]] == [
        ("SUBMITTED", None, "SUBMITTED", "resident"), ("LOCATED", None, None, "coverage"),
        ("DISPATCHED", "SUBMITTED", "DISPATCHED", "dispatcher"),
        ("ACCEPTED", "DISPATCHED", "ACCEPTED", member),
        ("STARTED", "ACCEPTED", "IN_PROGRESS", member),
        ("COMPLETED", "IN_PROGRESS", "COMPLETED", member)]
    assert node["timeline"][2]["member"] == {"name": "甲"}
    assert node["timeline"][-1]["note"] == "换了灯泡"
    assert {e["request"]["id"] for e in node["timeline"]} == {request["id"]}
    resident, steward = "13812345678", "13800000001"
    assert [(m["kind"], m["recipient"], m["requestId"]) for m in data["outboundMessages"]] == [
        ("REQUEST_RECEIVED", resident, request["id"]),
        ("DISPATCH_NOTICE", steward, request["id"]),
        ("REQUEST_ACCEPTED", resident, request["id"]),
        ("REQUEST_COMPLETED", resident, request["id"])]
    after = await world.api.data("query ($a: String) { outboundMessages(after: $a) { id } }",
                                 {"a": data["outboundMessages"][-1]["id"]})
    assert after["outboundMessages"] == []


async def test_due_hours_come_from_the_settings(world: World) -> None:
    settings = make_settings(DUE_HOURS={"MAINTENANCE": 6})
    result = await world.api.run(SUBMIT, {"input": {"category": "MAINTENANCE",
                                                    "description": "漏水", "point": IN_B1}},
                                 viewer=ANONYMOUS, settings=settings)
    assert _allowed(result.data["submitServiceRequest"]["request"]) == timedelta(hours=6)


async def test_a_retried_submission_returns_the_first_request(world: World) -> None:
    first = await world.submit(idempotencyKey="app-7f3a")
    before = await world.counts()
    again = await world.submit(idempotencyKey="app-7f3a", description="again")
    assert again["request"]["id"] == first["request"]["id"] and again["errors"] == []
    assert await world.counts() == before


async def test_nearby_open_requests_are_offered_as_duplicates(world: World) -> None:
    first = await world.submit(contactName="王大妈", contactPhone="13812345678")
    near = {"lon": IN_B1["lon"] + 0.0003, "lat": IN_B1["lat"]}  # about 30 m east
    far = {"lon": IN_B1["lon"] - 0.0008, "lat": IN_B1["lat"]}   # about 80 m west
    offered = await world.submit(point=near)
    assert offered["possibleDuplicates"] == [{"number": first["request"]["number"],
                                              "contactName": None, "contactPhone": None}]
    assert (await world.submit(point=near, category="CULTURE"))["possibleDuplicates"] == []
    assert (await world.submit(point=far))["possibleDuplicates"] == []


@pytest.mark.parametrize(("where", "field"), [
    ({"point": {"lon": 100.0, "lat": 30.0}}, "input.point"),
    ({"point": None, "address": "不存在的路99号"}, "input.address"),
])
async def test_a_place_no_grid_covers_is_out_of_area(world: World, where: dict[str, Any],
                                                     field: str) -> None:
    payload = await world.submit(**where)
    assert payload["request"] is None
    assert [(e["code"], e["field"]) for e in payload["errors"]] == [("OUT_OF_AREA", field)]
    assert (await world.counts())[0] == 0


@pytest.mark.parametrize(("fields", "code", "field"), [
    ({"description": "  "}, "REQUIRED", "input.description"),
    ({"description": "灯" * 4001}, "TOO_LONG", "input.description"),
    ({"contactPhone": "12345"}, "INVALID_PHONE", "input.contactPhone"),
    ({"contactName": "名" * 101}, "TOO_LONG", "input.contactName"),
    ({"address": "船山路63号"}, "INVALID_ARGUMENTS", "input.address"),
    ({"point": {"lon": 200, "lat": 0}}, "INVALID_COORDINATES", "input.point.lon"),
])
async def test_bad_submissions_name_the_field(world: World, fields: dict[str, Any], code: str,
                                              field: str) -> None:
    payload = await world.submit(**fields)
    assert payload["request"] is None
    assert (payload["errors"][0]["code"], payload["errors"][0]["field"]) == (code, field)
    assert (await world.counts())[:3] == (0, 0, 0)


async def test_an_unknown_category_is_refused_before_anything_runs(world: World) -> None:
    result = await world.api.run(SUBMIT, {"input": {"category": "PLUMBING", "description": "x",
                                                    "point": IN_B1}}, viewer=ANONYMOUS)
    message = result.errors[0].message
    assert "$input" in message and ".category" in message and "PLUMBING" in message
    assert (await world.counts())[0] == 0


@pytest.fixture
async def dispatched(world: World) -> str:
    """A MAINTENANCE request in L1, dispatched to 甲."""
    request_id = (await world.submit(contactPhone="13812345678"))["request"]["id"]
    await world.dispatch(request_id)
    return str(request_id)


@pytest.mark.parametrize(("mutation", "actor", "args", "code", "field", "says"), [
    ("startServiceRequest", "甲", {}, "INVALID_TRANSITION", "id", "DISPATCHED"),
    ("completeServiceRequest", "甲", {"resolution": "好了"}, "INVALID_TRANSITION", "id",
     "DISPATCHED"),
    ("acceptServiceRequest", "乙", {}, "NOT_ASSIGNEE", "id", "dispatched to"),
    ("declineServiceRequest", "乙", {"reason": "忙"}, "NOT_ASSIGNEE", "id", "dispatched to"),
    ("declineServiceRequest", "甲", {"reason": " "}, "REQUIRED", "reason", "empty"),
    ("assignServiceRequest", "网格一", {"memberId": "丙"}, "INACTIVE_MEMBER", "memberId",
     "SUSPENDED"),
    ("assignServiceRequest", "网格一", {"memberId": "丁"}, "OUTSIDE_SCOPE", "memberId", "grid"),
    ("assignServiceRequest", "网格三", {"memberId": "乙"}, "FORBIDDEN", "id", "grid workers"),
    ("assignServiceRequest", "网格一", {"memberId": "nonsense"}, "INVALID_ID", "memberId", "id"),
    ("cancelServiceRequest", "乙", {"reason": "重复"}, "FORBIDDEN", "id", "grid workers"),
])
async def test_wrong_actions_change_nothing(world: World, dispatched: str, mutation: str,
                                            actor: str, args: dict[str, str], code: str,
                                            field: str, says: str) -> None:
    before = await world.counts()
    args = {k: world.member_id(v) if v in world.people else v for k, v in args.items()}
    payload = await world.act(mutation, dispatched, world.viewer(actor), **args)
    assert payload["request"] is None
    (error,) = payload["errors"]
    assert (error["code"], error["field"]) == (code, field) and says in error["message"]
    assert await world.counts() == before


async def test_only_the_assignee_completes(world: World, dispatched: str) -> None:
    for step in ("acceptServiceRequest", "startServiceRequest"):
        await world.act(step, dispatched, world.viewer("甲"))
    before = await world.counts()
    payload = await world.act("completeServiceRequest", dispatched, world.viewer("乙"),
                              resolution="好了")
    assert payload["errors"][0]["code"] == "NOT_ASSIGNEE" and await world.counts() == before
    empty = await world.act("completeServiceRequest", dispatched, world.viewer("甲"),
                            resolution=" ")
    assert empty["errors"][0]["field"] == "resolution" and await world.counts() == before


class Recorder(list[int]):
    """A Background that remembers the requests it was asked to dispatch."""

    def dispatch(self, request_id: int) -> None:
        self.append(request_id)

    def send(self, message_id: int) -> None:
        raise AssertionError("no message is sent by these mutations")


async def test_new_submissions_and_declines_go_to_the_dispatcher(world: World,
                                                                 dispatched: str) -> None:
    recorder = Recorder()

    async def run(query: str, variables: dict[str, Any], viewer: Viewer) -> Any:
        context = Context(sessions=world.api.sessions, settings=world.api.settings,
                          viewer=viewer, background=recorder)
        return (await world.api.schema.execute(query, variable_values=variables,
                                               context_value=context)).data

    new = await run(SUBMIT, {"input": {"category": "CULTURE", "description": "想学书法",
                                       "point": AT_B2}}, ANONYMOUS)
    await run(act_query("declineServiceRequest", id=dispatched, reason="出差"), {},
              world.viewer("甲"))
    await run(act_query("acceptServiceRequest", id=dispatched), {}, world.viewer("甲"))  # no
    ids = [decode_id(i, "ServiceRequest", "id")
           for i in (new["submitServiceRequest"]["request"]["id"], dispatched)]
    assert recorder == ids


async def test_two_grid_workers_race_for_an_escalated_request(world: World) -> None:
    request_id = (await world.submit(category="EMERGENCY"))["request"]["id"]
    assert (await world.dispatch(request_id)).action == "ESCALATED"  # nobody in L1 has it
    one, two = await asyncio.gather(
        world.act("acceptServiceRequest", request_id, world.viewer("网格一")),
        world.act("acceptServiceRequest", request_id, world.viewer("网格二")))
    winners = [p for p in (one, two) if p["request"]]
    losers = [p for p in (one, two) if p["errors"]]
    assert len(winners) == 1 and len(losers) == 1
    assert winners[0]["request"]["status"] == "ACCEPTED"
    error = losers[0]["errors"][0]
    assert (error["code"], error["field"]) == ("INVALID_TRANSITION", "id")
    assert "ACCEPTED" in error["message"]
    async with world.api.sessions() as session:
        accepted = (await session.execute(text(
            "SELECT count(*) FROM request_event WHERE kind = 'ACCEPTED'"))).scalar_one()
    assert accepted == 1


@pytest.fixture
async def three(world: World) -> dict[str, str]:
    """R1 in G1 dispatched to 甲, R2 in G1 waiting (CULTURE, declined by 乙), R3 in G2 with 丁."""
    made = {}
    for key, fields in (("R1", {}), ("R2", {"category": "CULTURE"}), ("R3", {"point": AT_B2})):
        made[key] = (await world.submit(contactPhone="13912345678", **fields))["request"]["id"]
        await world.dispatch(made[key])
    await world.act("declineServiceRequest", made["R2"], world.viewer("乙"), reason="没空")
    return made


async def _numbers(world: World, viewer: Viewer, **variables: Any) -> list[str]:
    data = await world.api.data(LIST, variables, viewer=viewer)
    return [e["node"]["number"] for e in data["serviceRequests"]["edges"]]


async def test_who_sees_which_requests(world: World, three: dict[str, str]) -> None:
    numbers = await _numbers(world, ADMIN)
    assert len(numbers) == 3
    r1, r2, r3 = numbers
    assert await _numbers(world, world.viewer("网格一")) == [r1, r2]
    assert await _numbers(world, world.viewer("甲")) == [r1]
    assert await _numbers(world, world.viewer("丁")) == [r3]
    assert await _numbers(world, world.viewer("乙")) == []
    result = await world.api.run(LIST, viewer=ANONYMOUS)
    assert result.errors[0].extensions["code"] == "UNAUTHENTICATED"
    admin_only = await world.api.run("{ outboundMessages { id } }", viewer=world.viewer("网格一"))
    assert admin_only.errors[0].extensions["code"] == "FORBIDDEN"


async def test_contact_phones_are_hidden_from_others(world: World, three: dict[str, str]) -> None:
    async def phone(viewer: Viewer) -> str:
        data = await world.api.data(LIST, {"scope": {"gridId": encode_id("Grid", world.ids[
            "G1"])}, "first": 1}, viewer=viewer)
        return str(data["serviceRequests"]["edges"][0]["node"]["contactPhone"])
    for viewer in (ADMIN, world.viewer("网格一"), world.viewer("甲")):
        assert await phone(viewer) == "13912345678"
    duplicate = await world.submit(viewer=world.viewer("丁"))
    assert duplicate["possibleDuplicates"][0]["contactPhone"] is None  # 丁 may not see it


async def test_filters_and_paging(world: World, three: dict[str, str]) -> None:
    r1, r2, r3 = await _numbers(world, ADMIN)
    g2 = encode_id("Grid", world.ids["G2"])
    assert await _numbers(world, ADMIN, scope={"gridId": g2}) == [r3]
    assert await _numbers(world, ADMIN, scope={"memberId": world.member_id("甲")}) == [r1]
    assert await _numbers(world, ADMIN, status=["SUBMITTED"]) == [r2]
    assert await _numbers(world, ADMIN, category="CULTURE") == [r2]
    assert await _numbers(world, ADMIN, bbox={"west": X0 + 0.012, "south": Y0,
                                               "east": X0 + 0.02, "north": Y0 + 0.01}) == [r3]
    assert await _numbers(world, ADMIN, overdue=True) == []
    assert await _numbers(world, ADMIN, overdue=False) == [r1, r2, r3]
    page = (await world.api.data(LIST, {"first": 2}))["serviceRequests"]
    assert page["totalCount"] == 3 and page["pageInfo"]["hasNextPage"]
    rest = await _numbers(world, ADMIN, first=2, after=page["pageInfo"]["endCursor"])
    assert rest == [r3]
    both = await world.api.run(LIST, {"scope": {"gridId": g2, "memberId": world.member_id(
        "甲")}})
    assert both.errors[0].extensions["field"] == "scope"


async def test_request_stats(world: World, three: dict[str, str]) -> None:
    query = """query ($since: DateTime, $until: DateTime) { requestStats(since: $since,
      until: $until) { submitted dispatched completed overdue byCategory { category count } } }"""
    stats = (await world.api.data(query))["requestStats"]
    assert (stats["submitted"], stats["dispatched"], stats["completed"], stats["overdue"]) == (
        3, 3, 0, 0)
    assert {c["category"]: c["count"] for c in stats["byCategory"] if c["count"]} == {
        "MAINTENANCE": 2, "CULTURE": 1}
    assert (await world.api.data(query, viewer=world.viewer("甲")))["requestStats"][
        "submitted"] == 1
    later = datetime.now(UTC) + timedelta(hours=1)
    wrong = await world.api.run(query, {"since": later.isoformat(),
                                        "until": datetime.now(UTC).isoformat()})
    assert wrong.errors[0].extensions["field"] == "until"


MAP = """{ mapFeatures(bbox: {west: 112.5, south: 26.8, east: 112.7, north: 27.0},
                       layers: [OPEN_REQUESTS]) }"""


async def test_open_requests_layer_hides_requests_from_members(world: World,
                                                               three: dict[str, str]) -> None:
    data = await world.api.data(MAP, viewer=world.viewer("乙"))
    assert data["mapFeatures"]["features"] == []


async def test_open_requests_layer_over_graphql(world: World, three: dict[str, str]) -> None:
    features = (await world.api.data(MAP))["mapFeatures"]["features"]
    assert len(features) == 3 and features[0]["properties"]["id"] == three["R1"]


NESTED = """{ serviceRequests(first: 100) { edges { node { number
  timeline { kind member { name } request { number } } assignee { name phone }
  building { code } buildingGroup { name } grid { code } community { code } } } } }"""


async def _statements(world: World, engine: Any, requests: int) -> int:
    for i in range(requests):
        point = AT_B2 if i % 2 else IN_B1
        request_id = (await world.submit(point=point))["request"]["id"]
        await world.dispatch(request_id)
    with counting(engine) as statements:
        data = await world.api.data(NESTED)
    assert len(data["serviceRequests"]["edges"]) == requests
    return len(statements)


async def test_nested_request_lists_cost_one_statement_per_level(world: World,
                                                                 engine: Any) -> None:
    small = await _statements(world, engine, 2)
    async with engine.begin() as conn:
        await conn.execute(text("TRUNCATE service_request, request_event, outbound_message "
                                "RESTART IDENTITY CASCADE"))
    large = await _statements(world, engine, 12)
    assert small == large, f"{small} statements for 2 requests, {large} for 12"
    # count + page, then events, members, buildings, groups, grids, communities; and the one
    # INSERT of the operation's PHONE_REVEALED entries (contact phones shown to an admin)
    assert large <= 9, large
