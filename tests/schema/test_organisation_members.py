"""updateMember (issue 11, point 1): only the fields given, createMember's checks, within the
caller's territories; a move to another community takes a caller holding both."""

from __future__ import annotations

from typing import Any

from sqlalchemy import text

from tests.organisation_factory import gid, load_organisation_places, member, refused, staff

UPDATE = """mutation($id: ID!, $input: MemberUpdateInput!) { updateMember(id: $id, input: $input) {
  member { name phone partyMember roles skills publishPhone building { code }
           group { code } organisation { name } }
  errors { code field } } }"""


async def _row(sessions: Any, member_id: int) -> Any:
    async with sessions() as session:
        return (await session.execute(text(
            "SELECT name, phone, building_id, group_id, roles FROM member WHERE id = :id"),
            {"id": member_id})).one()


async def test_only_the_fields_given_change(api: Any, sessions: Any) -> None:
    ids = await load_organisation_places(sessions)
    pk = await member(sessions, ids, "B1", phone="13812345678", skills=["MAINTENANCE"])
    answer = (await api.data(UPDATE, {"id": gid("Member", pk), "input": {
        "name": " 王红梅 ", "publishPhone": True}}, viewer=staff(ids, "C1")))["updateMember"]
    assert answer == {"errors": [], "member": {
        "name": "王红梅", "phone": "13812345678", "partyMember": True, "roles": ["STEWARD"],
        "skills": ["MAINTENANCE"], "publishPhone": True, "building": {"code": "B1"},
        "group": None, "organisation": None}}
    moved = (await api.data(UPDATE, {"id": gid("Member", pk), "input": {
        "buildingId": gid("Building", ids["B4"]), "phone": None}}))["updateMember"]
    assert moved["errors"] == [] and moved["member"]["building"] == {"code": "B4"}
    assert moved["member"]["phone"] is None
    async with sessions() as session:
        entry = (await session.execute(text(
            "SELECT detail FROM audit_entry WHERE action = 'MEMBER_UPDATED' ORDER BY id "
            "LIMIT 1"))).scalar_one()
    assert entry["before"]["name"] == "王红" and entry["after"]["name"] == "王红梅"
    assert entry["fields"] == ["name", "publish_phone"]


async def test_a_move_to_another_community_takes_a_caller_holding_both(
        api: Any, sessions: Any) -> None:
    ids = await load_organisation_places(sessions)
    pk = await member(sessions, ids, "B1")
    to_c2 = {"id": gid("Member", pk), "input": {"buildingId": gid("Building", ids["B5"])}}
    assert await refused(api, UPDATE, to_c2, staff(ids, "C1")) == ("FORBIDDEN",
                                                                     "input.buildingId")
    assert await refused(api, UPDATE, to_c2, staff(ids, "C2")) == ("FORBIDDEN", "id")
    assert (await _row(sessions, pk)).building_id == ids["B1"]
    both = (await api.data(UPDATE, to_c2, viewer=staff(ids, "C1", "C2")))["updateMember"]
    assert both["errors"] == [] and both["member"]["building"] == {"code": "B5"}
    back = {"id": gid("Member", pk), "input": {"buildingId": gid("Building", ids["B2"])}}
    above = (await api.data(UPDATE, back, viewer=staff(ids, "S1")))["updateMember"]
    assert above["errors"] == [] and above["member"]["building"] == {"code": "B2"}


async def test_bad_updates_name_the_field_and_change_nothing(api: Any, sessions: Any) -> None:
    ids = await load_organisation_places(sessions)
    pk = await member(sessions, ids, "B1", phone="13812345678")
    async with sessions.begin() as session:
        group = (await session.execute(text(
            "INSERT INTO building_group (code, name, grid_id) VALUES ('L9', '学宫巷党小组', :g) "
            "RETURNING id"), {"g": ids["G2"]})).scalar_one()
    cases = [
        ({"phone": "0734-8123456"}, "INVALID_PHONE", "input.phone"),
        ({"name": "  "}, "INVALID_VALUE", "input.name"),
        ({"buildingGroupId": gid("BuildingGroup", group)}, "INVALID_VALUE",
         "input.buildingGroupId"),
        ({"buildingId": gid("Building", 9999)}, "NOT_FOUND", "input.buildingId"),
        ({"organisationId": gid("Organisation", 5)}, "NOT_FOUND", "input.organisationId"),
        ({"buildingId": gid("Grid", 1)}, "INVALID_ID", "input.buildingId"),
    ]
    before = await _row(sessions, pk)
    for given, code, field in cases:
        answer = (await api.data(UPDATE, {"id": gid("Member", pk), "input": given}))
        assert answer["updateMember"] == {"member": None, "errors": [
            {"code": code, "field": field}]}, given
    assert await _row(sessions, pk) == before
    missing = await api.data(UPDATE, {"id": gid("Member", 999), "input": {"name": "x"}})
    assert missing["updateMember"]["errors"] == [{"code": "NOT_FOUND", "field": "id"}]
