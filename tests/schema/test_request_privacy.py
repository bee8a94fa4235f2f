"""What a caller learns of other residents' requests: possibleDuplicates and a replayed
idempotencyKey give those who may not see a request its public part only; those who may see
it (administrators, the grid workers of its grid, its assignee) get it whole."""

from __future__ import annotations

from typing import Any

import pytest

from domain.access import ANONYMOUS, Viewer
from tests.schema.test_requests_api import ADMIN, IN_B1, World, build_world

NEAR = {"lon": IN_B1["lon"] + 0.0003, "lat": IN_B1["lat"]}  # about 30 m east
FULL = """id number category status escalationLevel submittedAt dueAt overdue description
  address location building { code } buildingGroup { code } grid { code } community { code }
  assignee { name } contactName contactPhone timeline { kind note actor } survey { score }
  resolution completedAt dispatchedAt acceptDeadline"""
SUBMIT = f"""mutation ($input: SubmitRequestInput!) {{ submitServiceRequest(input: $input) {{
  request {{ {FULL} }} replayed possibleDuplicates {{ {FULL} }}
  possibleDuplicatesPublic {{ number category status distanceMetres submittedAt }}
  errors {{ code field }} }} }}"""


@pytest.fixture
async def world(api: Any, sessions: Any) -> World:
    return await build_world(api, sessions)


PRIVATE_NULL = ("address", "location", "building", "buildingGroup", "grid", "community",
                "assignee", "contactName", "contactPhone", "survey", "resolution",
                "completedAt", "dispatchedAt", "acceptDeadline")


async def _submit(world: World, viewer: Viewer, **fields: Any) -> dict[str, Any]:
    data = {"category": "MAINTENANCE", "description": "楼道灯坏了", "point": NEAR, **fields}
    result = await world.api.data(SUBMIT, {"input": data}, viewer=viewer)
    payload: dict[str, Any] = result["submitServiceRequest"]
    assert payload["errors"] == []
    return payload


async def _theirs(world: World, **fields: Any) -> dict[str, Any]:
    """Someone else's request near NEAR, dispatched to 甲, with a contact and a timeline."""
    data = {"description": "张家三楼漏水，老人独居", "contactName": "王大妈",
            "contactPhone": "13812345678", "point": IN_B1, **fields}
    theirs = (await _submit(world, ANONYMOUS, **data))["request"]
    await world.dispatch(theirs["id"])
    return theirs


def _assert_public_only(seen: dict[str, Any], theirs: dict[str, Any]) -> None:
    assert {k: seen[k] for k in ("id", "number", "category", "status", "submittedAt")} == {
        "id": theirs["id"], "number": theirs["number"], "category": "MAINTENANCE",
        "status": "DISPATCHED", "submittedAt": theirs["submittedAt"]}
    assert seen["description"] == "" and seen["timeline"] == []
    assert {k: seen[k] for k in PRIVATE_NULL} == dict.fromkeys(PRIVATE_NULL)


def _assert_whole(seen: dict[str, Any]) -> None:
    assert seen["description"] == "张家三楼漏水，老人独居"
    assert (seen["contactName"], seen["contactPhone"]) == ("王大妈", "13812345678")
    assert seen["assignee"] == {"name": "甲"} and seen["building"] == {"code": "B1"}
    assert [e["kind"] for e in seen["timeline"]][:3] == ["SUBMITTED", "LOCATED", "DISPATCHED"]


async def test_an_anonymous_submitter_sees_only_the_public_view_of_duplicates(
        world: World) -> None:
    theirs = await _theirs(world)
    mine = await _submit(world, ANONYMOUS, contactName="李四", contactPhone="13900000000")
    _assert_public_only(mine["possibleDuplicates"][0], theirs)
    (public,) = mine["possibleDuplicatesPublic"]
    assert {k: v for k, v in public.items() if k != "distanceMetres"} == {
        "number": theirs["number"], "category": "MAINTENANCE", "status": "DISPATCHED",
        "submittedAt": theirs["submittedAt"]}
    assert 25 <= public["distanceMetres"] <= 35
    own = mine["request"]  # what the submitter just wrote is theirs to see
    assert (own["description"], own["contactName"], own["contactPhone"]) == (
        "楼道灯坏了", "李四", "13900000000")
    assert mine["replayed"] is False


def _that_one(payload: dict[str, Any], theirs: dict[str, Any]) -> dict[str, Any]:
    """`theirs` among the payload's duplicates (each submission adds one more nearby)."""
    numbers = [d["number"] for d in payload["possibleDuplicatesPublic"]]
    assert numbers == [d["number"] for d in payload["possibleDuplicates"]]
    return payload["possibleDuplicates"][numbers.index(theirs["number"])]


async def test_those_who_may_see_a_duplicate_see_it_whole(world: World) -> None:
    theirs = await _theirs(world)
    for viewer in (ADMIN, world.viewer("网格一"), world.viewer("甲")):
        _assert_whole(_that_one(await _submit(world, viewer), theirs))
    for viewer in (world.viewer("网格三"), world.viewer("丁")):  # another grid, another group
        _assert_public_only(_that_one(await _submit(world, viewer), theirs), theirs)


async def test_a_replayed_idempotency_key_answers_the_public_view(world: World) -> None:
    theirs = await _theirs(world, idempotencyKey="app-7f3a")
    before = await world.counts()
    replay = await _submit(world, ANONYMOUS, idempotencyKey="app-7f3a", description="给我看看")
    assert replay["replayed"] is True
    _assert_public_only(replay["request"], theirs)
    admin = await _submit(world, ADMIN, idempotencyKey="app-7f3a")
    assert admin["replayed"] is True
    _assert_whole(admin["request"])
    assert await world.counts() == before


async def test_timeline_events_do_not_lead_back_to_a_hidden_request(world: World) -> None:
    theirs = await _theirs(world)
    query = """query ($id: ID!) { node(id: $id) { ... on ServiceRequest {
      timeline { request { description contactName } } } } }"""
    admin = await world.api.data(query, {"id": theirs["id"]}, viewer=ADMIN)
    assert admin["node"]["timeline"][0]["request"]["contactName"] == "王大妈"
    hidden = await world.api.data(query, {"id": theirs["id"]}, viewer=world.viewer("丁"))
    assert hidden == {"node": None}
