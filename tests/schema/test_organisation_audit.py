"""Every staff write of the organisation area is in the audit trail (issue 11): who, the
subject, its community, before and after; the phones in it masked."""

from __future__ import annotations

from typing import Any

from sqlalchemy import text

from tests.factories import X0, Y0, box
from tests.organisation_factory import gid, load_organisation_places, member, staff

WRITES = [
    ("""mutation($c: ID!) { createOrganisation(input: {name: "安居物业", kind: PROPERTY_COMPANY,
        communityId: $c, contactPhone: "13807340901"}) { errors { code } } }""",
     lambda ids, m: {"c": gid("Community", ids["C1"])}),
    ("""mutation($m: ID!) { updateMember(id: $m, input: {name: "王红梅"}) { errors { code } } }""",
     lambda ids, m: {"m": gid("Member", m)}),
    ("""mutation($g: ID!, $b: ID!, $l: ID!) { createBuildingGroup(input: {code: "L1",
        name: "船山路党小组", gridId: $g, buildingIds: [$b], leaderId: $l}) {
        errors { code } } }""",
     lambda ids, m: {"g": gid("Grid", ids["G1"]), "b": gid("Building", ids["B1"]),
                     "l": gid("Member", m)}),
    ("""mutation($g: ID!) { updateBuildingGroup(id: $g, input: {name: "第一党小组"}) {
        errors { code } } }""", lambda ids, m: {"g": gid("BuildingGroup", 1)}),
    ("""mutation($g: ID!, $m: ID!) { setGridWorkers(gridId: $g, memberIds: [$m]) {
        errors { code } } }""", lambda ids, m: {"g": gid("Grid", ids["G1"]),
                                                "m": gid("Member", m)}),
    ("""mutation($g: ID!, $b: GeoJSON!) { updateGridBoundary(gridId: $g, boundary: $b) {
        errors { code } } }""", lambda ids, m: {"g": gid("Grid", ids["G1"]), "b": box(
        X0 + 0.001, Y0, X0 + 0.01, Y0 + 0.01)}),
    ("""mutation($m: ID!) { suspendMember(id: $m, reason: "长期不接单") { errors { code } } }""",
     lambda ids, m: {"m": gid("Member", m)}),
    ("""mutation($m: ID!) { reinstateMember(id: $m, reason: "已整改") { errors { code } } }""",
     lambda ids, m: {"m": gid("Member", m)}),
    ("""mutation($m: ID!) { exitMember(id: $m, reason: "迁出") { errors { code } } }""",
     lambda ids, m: {"m": gid("Member", m)}),
]
ACTIONS = {"ORGANISATION_CREATED": "C", "MEMBER_UPDATED": "U", "BUILDING_GROUP_CREATED": "C",
           "BUILDING_GROUP_UPDATED": "U", "GRID_WORKERS_SET": "U", "GRID_BOUNDARY_UPDATED": "U",
           "MEMBER_SUSPENDED": "U", "MEMBER_REINSTATED": "U", "MEMBER_EXITED": "U"}


async def test_every_staff_write_is_audited_before_and_after(api: Any, sessions: Any) -> None:
    ids = await load_organisation_places(sessions)
    pk = await member(sessions, ids, "B1", phone="13812345678")
    c1 = staff(ids, "C1", account_id=77)
    for query, variables in WRITES:
        answer = await api.data(query, variables(ids, pk), viewer=c1)
        assert next(iter(answer.values()))["errors"] == [], query
    async with sessions() as session:
        rows = (await session.execute(text(
            "SELECT actor, action, community_id, detail FROM audit_entry "
            "WHERE action = ANY(:a) ORDER BY id"), {"a": list(ACTIONS)})).all()
    assert [r.action for r in rows] == list(ACTIONS)
    for row in rows:
        assert row.actor == "account:77" and row.community_id == ids["C1"], row.action
        assert "after" in row.detail, row.action
        assert ("before" in row.detail) == (ACTIONS[row.action] == "U"), row.action
    assert "13812345678" not in str([r.detail for r in rows])
    assert "13807340901" not in str([r.detail for r in rows])
