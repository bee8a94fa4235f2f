"""Partner organisations (issue 11, point 3): created within the caller's territories, the
contact phone masked as member phones are, listed by community and kind, a member's
organisation."""

from __future__ import annotations

from typing import Any

from sqlalchemy import text

from tests.organisation_factory import gid, load_organisation_places, member, refused, staff

CREATE = """mutation($input: OrganisationInput!) { createOrganisation(input: $input) {
  organisation { id name kind contactName contactPhone community { code } }
  errors { code field } } }"""
LIST = """query($c: ID, $k: OrganisationKind) { organisations(communityId: $c, kind: $k) {
  totalCount edges { node { name kind members { name organisation { name } } } } } }"""
CREATE_MEMBER = """mutation($input: MemberInput!) { createMember(input: $input) {
  member { name publishPhone organisation { name } history { toStatus reason } }
  errors { code field } } }"""


def _input(ids: dict[str, int], **over: Any) -> dict[str, Any]:
    return {"name": "衡阳市安居物业", "kind": "PROPERTY_COMPANY",
            "communityId": gid("Community", ids["C1"]), "contactName": "李经理",
            "contactPhone": "138 1234 5678", **over}


async def test_staff_create_and_list_an_organisation(api: Any, sessions: Any) -> None:
    ids = await load_organisation_places(sessions)
    c1 = staff(ids, "C1")
    made = (await api.data(CREATE, {"input": _input(ids)}, viewer=c1))["createOrganisation"]
    assert made["errors"] == []
    # whole for staff of its community (as members' phones are), masked for anyone else
    assert made["organisation"]["contactPhone"] == "13812345678"
    assert made["organisation"]["community"] == {"code": "C1"}
    city = (await api.data(CREATE, {"input": _input(ids, name="业主委员会", kind="OWNERS_COMMITTEE",
                                                     contactPhone=None)}))
    assert city["createOrganisation"]["errors"] == []
    org_id = made["organisation"]["id"]
    created = (await api.data(CREATE_MEMBER, {"input": {
        "name": "张三", "buildingId": gid("Building", ids["B1"]), "organisationId": org_id,
        "publishPhone": True}}))["createMember"]
    assert created == {"errors": [], "member": {
        "name": "张三", "publishPhone": True, "organisation": {"name": "衡阳市安居物业"},
        "history": [{"toStatus": "ACTIVE", "reason": "created"}]}}
    listed = (await api.data(LIST, {"k": "PROPERTY_COMPANY"}, viewer=c1))["organisations"]
    assert listed == {"totalCount": 1, "edges": [{"node": {
        "name": "衡阳市安居物业", "kind": "PROPERTY_COMPANY",
        "members": [{"name": "张三", "organisation": {"name": "衡阳市安居物业"}}]}}]}
    assert (await api.data(LIST, {}, viewer=staff(ids, "C2")))["organisations"]["totalCount"] == 0
    assert (await api.data(LIST, {}, viewer=staff(ids, "S1")))["organisations"]["totalCount"] == 2
    node = await api.data("query($id: ID!) { node(id: $id) { id } }", {"id": org_id},
                          viewer=staff(ids, "C2"))
    assert node == {"node": None}
    async with sessions() as session:
        entry = (await session.execute(text(
            "SELECT actor, detail FROM audit_entry WHERE action = 'ORGANISATION_CREATED' "
            "ORDER BY id LIMIT 1"))).one()
    assert entry.actor == "account:900"
    assert entry.detail["after"]["contactPhone"] == "138****5678"


async def test_bad_organisations_change_nothing(api: Any, sessions: Any) -> None:
    ids = await load_organisation_places(sessions)
    c2 = staff(ids, "C2")
    assert await refused(api, CREATE, {"input": _input(ids)}, c2) == ("FORBIDDEN",
                                                                        "input.communityId")
    cases = [
        (_input(ids, name=" "), [{"code": "REQUIRED", "field": "input.name"}]),
        (_input(ids, contactPhone="12345"),
         [{"code": "INVALID_PHONE", "field": "input.contactPhone"}]),
        (_input(ids, communityId=gid("Community", 999)),
         [{"code": "NOT_FOUND", "field": "input.communityId"}]),
        (_input(ids, communityId=gid("Grid", 1)),
         [{"code": "INVALID_ID", "field": "input.communityId"}]),
    ]
    for given, errors in cases:
        answer = (await api.data(CREATE, {"input": given}))["createOrganisation"]
        assert answer == {"organisation": None, "errors": errors}, given
    unknown = (await api.data(CREATE_MEMBER, {"input": {
        "name": "张三", "organisationId": gid("Organisation", 7)}}))["createMember"]
    assert unknown["errors"] == [{"code": "NOT_FOUND", "field": "input.organisationId"}]
    assert await member(sessions, ids, "B1") > 0
    async with sessions() as session:
        assert (await session.execute(text("SELECT count(*) FROM organisation"))).scalar() == 0
