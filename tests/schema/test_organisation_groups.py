"""Building groups and grid workers (issue 11, point 4): createBuildingGroup,
updateBuildingGroup, setGridWorkers, groupSuggestions; bad input named and nothing changed;
two staff changing one group at once (one wins, the other a clear error)."""

from __future__ import annotations

import asyncio
from typing import Any

from sqlalchemy import text

from domain.errors import InvalidInput
from domain.infra.db import transaction
from domain.organisation.groups import (
    GroupChange,
    NewGroup,
    create_building_group,
    update_building_group,
)
from tests.organisation_factory import (
    CITY_STAFF,
    gid,
    load_organisation_places,
    member,
    refused,
    staff,
)

CREATE = """mutation($input: BuildingGroupInput!) { createBuildingGroup(input: $input) {
  buildingGroup { id code name grid { code } leader { name roles } buildings { code }
                  members { name } }
  errors { code field } } }"""
UPDATE = """mutation($id: ID!, $input: BuildingGroupUpdateInput!) {
  updateBuildingGroup(id: $id, input: $input) {
    buildingGroup { name leader { name } buildings { code } members { name } }
    errors { code field } } }"""
WORKERS = """mutation($g: ID!, $m: [ID!]!) { setGridWorkers(gridId: $g, memberIds: $m) {
  grid { code gridWorkers { name roles } } errors { code field } } }"""
SUGGEST = """query($n: Int) { groupSuggestions(minPartyMembers: $n) { partyMembers
  building { code } currentGroup { code } } }"""


def _group(ids: dict[str, int], *codes: str, leader: int | None = None,
           **over: Any) -> dict[str, Any]:
    return {"code": "L1", "name": "船山路党小组", "gridId": gid("Grid", ids["G1"]),
            "buildingIds": [gid("Building", ids[c]) for c in codes],
            "leaderId": gid("Member", leader) if leader else None, **over}


async def _count(sessions: Any, sql: str) -> int:
    async with sessions() as session:
        return int((await session.execute(text(sql))).scalar_one())


async def test_create_and_change_a_group(api: Any, sessions: Any) -> None:
    ids = await load_organisation_places(sessions)
    leader = await member(sessions, ids, "B2", name="组长甲")
    await member(sessions, ids, "B1", name="管家乙")
    made = (await api.data(CREATE, {"input": _group(ids, "B1", "B2", leader=leader)},
                           viewer=staff(ids, "C1")))["createBuildingGroup"]
    assert made["errors"] == []
    group = made["buildingGroup"]
    assert (group["grid"], group["leader"]) == ({"code": "G1"},
                                                {"name": "组长甲", "roles": ["GROUP_LEADER",
                                                                            "STEWARD"]})
    assert [b["code"] for b in group["buildings"]] == ["B1", "B2"]
    assert sorted(m["name"] for m in group["members"]) == ["管家乙", "组长甲"]
    changed = (await api.data(UPDATE, {"id": group["id"], "input": {
        "name": "船山路第一党小组", "buildingIds": [gid("Building", ids["B2"]),
                                                 gid("Building", ids["B3"])]}}))
    answer = changed["updateBuildingGroup"]
    assert answer["errors"] == []
    assert [b["code"] for b in answer["buildingGroup"]["buildings"]] == ["B2", "B3"]
    assert [m["name"] for m in answer["buildingGroup"]["members"]] == ["组长甲"]  # 乙 left
    no_leader = (await api.data(UPDATE, {"id": group["id"], "input": {"leaderId": None}}))
    assert no_leader["updateBuildingGroup"]["buildingGroup"]["leader"] is None
    async with sessions() as session:
        entry = (await session.execute(text(
            "SELECT detail FROM audit_entry WHERE action = 'BUILDING_GROUP_UPDATED' "
            "ORDER BY id LIMIT 1"))).scalar_one()
    assert entry["before"]["buildings"] == [ids["B1"], ids["B2"]]
    assert entry["after"]["buildings"] == [ids["B2"], ids["B3"]]


async def test_bad_groups_name_the_field_and_change_nothing(api: Any, sessions: Any) -> None:
    ids = await load_organisation_places(sessions)
    elsewhere = await member(sessions, ids, "B3", name="别楼")
    suspended = await member(sessions, ids, "B1", name="停职")
    async with sessions.begin() as session:
        await session.execute(text("UPDATE member SET status = 'SUSPENDED' WHERE id = :id"),
                              {"id": suspended})
    first = (await api.data(CREATE, {"input": _group(ids, "B1")}))["createBuildingGroup"]
    assert first["errors"] == []
    cases = [
        (_group(ids, "B2", leader=elsewhere, code="L2"), None,
         ("NOT_RESIDENT", "input.leaderId")),
        (_group(ids, "B2", leader=suspended, code="L2", buildingIds=[
            gid("Building", ids["B1"]), gid("Building", ids["B2"])]), None,
         ("IN_ANOTHER_GROUP", "input.buildingIds[0]")),
        (_group(ids, "B2", "B4", code="L2"), None, ("OTHER_GRID", "input.buildingIds[1]")),
        (_group(ids, "B2", "B6", code="L2"), None, ("NOT_ADJACENT", "input.buildingIds[1]")),
        (_group(ids, "B2", code="L1"), None, ("CODE_TAKEN", "input.code")),
        (_group(ids, code="L2"), None, ("REQUIRED", "input.buildingIds")),
    ]
    for given, viewer, (code, field) in cases:
        answer = (await api.data(CREATE, {"input": given}, viewer=viewer or CITY_STAFF))
        errors = answer["createBuildingGroup"]["errors"]
        assert {"code": code, "field": field} in errors, (given, errors)
        assert answer["createBuildingGroup"]["buildingGroup"] is None
    assert await refused(api, CREATE, {"input": _group(ids, "B2", code="L2")},
                         staff(ids, "C2")) == ("FORBIDDEN", "input.gridId")
    assert await _count(sessions, "SELECT count(*) FROM building_group") == 1
    assert await _count(sessions, "SELECT count(*) FROM building WHERE group_id IS NOT NULL") == 1


async def test_two_staff_change_one_group_at_once(api: Any, sessions: Any) -> None:
    """The first holds the group until it commits and wins; the second is told CONFLICT at
    once and changes nothing."""
    ids = await load_organisation_places(sessions)
    made = (await api.data(CREATE, {"input": _group(ids, "B1")}))["createBuildingGroup"]
    group_id = int(await _count(sessions, "SELECT id FROM building_group"))
    async with transaction(sessions) as first:
        await update_building_group(first, viewer=staff(ids, "C1"), group_id=group_id,
                                    change=GroupChange(name="甲改的名字"), actor="account:1")
        second = (await api.data(UPDATE, {"id": made["buildingGroup"]["id"],
                                          "input": {"name": "乙改的名字"}},
                                 viewer=staff(ids, "S1", account_id=2)))["updateBuildingGroup"]
        assert second == {"buildingGroup": None,
                          "errors": [{"code": "CONFLICT", "field": "id"}]}
    async with sessions() as session:
        name = (await session.execute(text("SELECT name FROM building_group"))).scalar()
    assert name == "甲改的名字"
    later = (await api.data(UPDATE, {"id": made["buildingGroup"]["id"],
                                     "input": {"name": "乙改的名字"}}))["updateBuildingGroup"]
    assert later["errors"] == []  # after the first committed, the second may try again


async def test_conflict_is_an_input_error_in_the_domain(sessions: Any) -> None:
    ids = await load_organisation_places(sessions)
    async with sessions.begin() as session:
        group_id = (await session.execute(text(
            "INSERT INTO building_group (code, name, grid_id) VALUES ('L1', 'x', :g) "
            "RETURNING id"), {"g": ids["G1"]})).scalar_one()
    async with transaction(sessions) as first, sessions() as other:
        await first.execute(text("SELECT 1 FROM building_group WHERE id = :id FOR UPDATE"),
                            {"id": group_id})
        try:
            async with other.begin():
                await update_building_group(other, viewer=CITY_STAFF, group_id=group_id,
                                            change=GroupChange(name="y"), actor="cli")
        except InvalidInput as exc:
            assert exc.errors[0].code == "CONFLICT"
        else:
            raise AssertionError("the second change went through")


async def test_grid_workers_and_suggestions(api: Any, sessions: Any) -> None:
    ids = await load_organisation_places(sessions)
    worker = await member(sessions, ids, "B4", name="网格员甲")
    other = await member(sessions, ids, "B5", name="东湖乙")
    set_ = (await api.data(WORKERS, {"g": gid("Grid", ids["G1"]), "m": [gid("Member", worker)]},
                           viewer=staff(ids, "C1")))["setGridWorkers"]
    assert set_ == {"errors": [], "grid": {"code": "G1", "gridWorkers": [
        {"name": "网格员甲", "roles": ["GRID_WORKER", "STEWARD"]}]}}
    denied = (await api.data(WORKERS, {"g": gid("Grid", ids["G1"]),
                                        "m": [gid("Member", other)]}))["setGridWorkers"]
    assert denied == {"grid": None, "errors": [{"code": "OTHER_COMMUNITY",
                                                 "field": "memberIds[0]"}]}
    assert await refused(api, WORKERS, {"g": gid("Grid", ids["G3"]), "m": []},
                         staff(ids, "C1")) == ("FORBIDDEN", "gridId")
    assert await _count(sessions, "SELECT count(*) FROM grid_worker") == 1

    for n in range(5):
        await member(sessions, ids, "B3", name=f"党员{n}")
    await member(sessions, ids, "B2", name="群众", party_member=False)
    shared = (await api.data(CREATE, {"input": _group(ids, "B2", "B3")}))["createBuildingGroup"]
    assert shared["errors"] == []
    suggested = (await api.data(SUGGEST, {}, viewer=staff(ids, "C1")))["groupSuggestions"]
    assert suggested == [{"partyMembers": 5, "building": {"code": "B3"},
                          "currentGroup": {"code": "L1"}}]
    assert (await api.data(SUGGEST, {"n": 6}))["groupSuggestions"] == []
    assert (await api.data(SUGGEST, {}, viewer=staff(ids, "C2")))["groupSuggestions"] == []
    bad = await api.run(SUGGEST, {"n": 0})
    assert bad.errors[0].extensions["field"] == "minPartyMembers"


async def test_two_staff_put_one_building_into_two_groups(api: Any, sessions: Any) -> None:
    """The second waits for the first's building row, then reads its group: a clear error."""
    ids = await load_organisation_places(sessions)
    async with transaction(sessions) as first:
        await create_building_group(first, viewer=CITY_STAFF, actor="cli", new=NewGroup(
            code="L1", name="甲的小组", grid_id=ids["G1"], building_ids=[ids["B1"]]))
        second = asyncio.create_task(api.data(CREATE, {"input": _group(ids, "B1", code="L2")}))
        await asyncio.sleep(0.5)
        assert not second.done()  # waiting for the first
    answer = (await second)["createBuildingGroup"]
    assert answer == {"buildingGroup": None, "errors": [{"code": "IN_ANOTHER_GROUP",
                                                         "field": "input.buildingIds[0]"}]}
    assert await _count(sessions, "SELECT count(*) FROM building_group") == 1
