"""Who may use the organisation area (issue 11 with the permission layer of issue 10): every
staff mutation and query for a matrix of callers — anonymous, a member, the administrators of
C1, of C2, of their subdistrict S1, city-wide — on rows of community C1. Each mutation is
given a bad input, so that a caller let through is answered the domain's error (and nothing
changes) while one outside gets the layer's FORBIDDEN."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import text

from domain.access import ANONYMOUS, Viewer
from tests.factories import X0, Y0
from tests.organisation_factory import CITY_STAFF, gid, load_organisation_places, member, staff

BOWTIE = {"type": "Polygon", "coordinates": [[[X0, Y0], [X0 + 0.001, Y0 + 0.001],
                                              [X0 + 0.001, Y0], [X0, Y0 + 0.001], [X0, Y0]]]}
#: (operation, variables from the world, the error a caller let through gets).
MUTATIONS = {
    "createOrganisation": ('mutation($c: ID!) { createOrganisation(input: {name: " ", kind: '
                           'OTHER, communityId: $c}) { errors { code } } }',
                           lambda w: {"c": gid("Community", w["C1"])}, "REQUIRED"),
    "updateMember": ('mutation($m: ID!) { updateMember(id: $m, input: {name: " "}) '
                     '{ errors { code } } }', lambda w: {"m": gid("Member", w["member"])},
                     "INVALID_VALUE"),
    "postCandidate": ("mutation($m: ID!) { postCandidate(id: $m, noticeDays: 0) "
                      "{ errors { code } } }", lambda w: {"m": gid("Member", w["member"])},
                      "INVALID_VALUE"),
    "admitMember": ("mutation($m: ID!) { admitMember(id: $m) { errors { code } } }",
                    lambda w: {"m": gid("Member", w["member"])}, "INVALID_STATUS"),
    "suspendMember": ('mutation($m: ID!) { suspendMember(id: $m, reason: "") '
                      '{ errors { code } } }', lambda w: {"m": gid("Member", w["member"])},
                      "REQUIRED"),
    "reinstateMember": ('mutation($m: ID!) { reinstateMember(id: $m, reason: "") '
                        '{ errors { code } } }', lambda w: {"m": gid("Member", w["member"])},
                        "REQUIRED"),
    "exitMember": ('mutation($m: ID!) { exitMember(id: $m, reason: "") { errors { code } } }',
                   lambda w: {"m": gid("Member", w["member"])}, "REQUIRED"),
    "createBuildingGroup": ('mutation($g: ID!, $b: ID!) { createBuildingGroup(input: {code: '
                            '" ", name: "x", gridId: $g, buildingIds: [$b]}) '
                            '{ errors { code } } }',
                            lambda w: {"g": gid("Grid", w["G1"]), "b": gid("Building", w["B2"])},
                            "INVALID_VALUE"),
    "updateBuildingGroup": ('mutation($g: ID!) { updateBuildingGroup(id: $g, input: {name: " "})'
                            ' { errors { code } } }',
                            lambda w: {"g": gid("BuildingGroup", w["group"])}, "INVALID_VALUE"),
    "setGridWorkers": ("mutation($g: ID!, $m: ID!) { setGridWorkers(gridId: $g, memberIds: [$m])"
                       " { errors { code } } }",
                       lambda w: {"g": gid("Grid", w["G1"]), "m": gid("Member", w["exited"])},
                       "INVALID_STATUS"),
    "updateGridBoundary": ("mutation($g: ID!, $b: GeoJSON!) { updateGridBoundary(gridId: $g, "
                           "boundary: $b) { errors { code } } }",
                           lambda w: {"g": gid("Grid", w["G1"]), "b": BOWTIE},
                           "INVALID_GEOMETRY"),
}
CALLERS = ("anonymous", "member", "C1", "C2", "S1", "city")
LET_THROUGH = {"C1", "S1", "city"}


@pytest.fixture
async def world(sessions: Any) -> dict[str, Any]:
    ids = await load_organisation_places(sessions)
    ids["member"] = await member(sessions, ids, "B1", name="甲")
    ids["exited"] = await member(sessions, ids, "B3", name="乙")
    async with sessions.begin() as session:
        await session.execute(text("UPDATE member SET status = 'EXITED' WHERE id = :id"),
                              {"id": ids["exited"]})
        ids["group"] = (await session.execute(text(
            "INSERT INTO building_group (code, name, grid_id) VALUES ('L1', '组', :g) "
            "RETURNING id"), {"g": ids["G1"]})).scalar_one()
    return ids


def _caller(name: str, ids: dict[str, Any]) -> Viewer:
    return {"anonymous": ANONYMOUS, "member": Viewer(member_id=ids["member"]),
            "city": CITY_STAFF}.get(name) or staff(ids, name)


@pytest.mark.parametrize("name", sorted(MUTATIONS))
async def test_mutations_by_caller(api: Any, sessions: Any, world: dict[str, Any],
                                   name: str) -> None:
    query, variables, domain_error = MUTATIONS[name]
    for caller in CALLERS:
        result = await api.run(query, variables(world), viewer=_caller(caller, world))
        if caller in LET_THROUGH:
            assert result.errors is None, (caller, result.errors)
            assert result.data[name]["errors"][0]["code"] == domain_error, caller
        else:
            assert result.errors and result.errors[0].extensions["code"] == "FORBIDDEN", (
                caller, result)
    async with sessions() as session:  # nothing changed, for anyone
        assert (await session.execute(text(
            "SELECT count(*) FROM member_status_change WHERE to_status <> 'ACTIVE'"))).scalar() == 0
        assert (await session.execute(text("SELECT name FROM member WHERE id = :id"),
                                      {"id": world["member"]})).scalar() == "甲"


QUERIES = {
    "organisations": "{ organisations { totalCount } }",
    "groupSuggestions": "{ groupSuggestions { partyMembers } }",
    "membersForReview": '{ membersForReview(period: "2026-11") { score } }',
    "coverageAt": ('{ coverageAt(point: {lon: 112.6051, lat: 26.9051}, '
                   'at: "2026-11-01T00:00:00Z") { grid { code } } }'),
}


@pytest.mark.parametrize("name", sorted(QUERIES))
async def test_staff_queries_by_caller(api: Any, world: dict[str, Any], name: str) -> None:
    for caller in CALLERS:
        result = await api.run(QUERIES[name], viewer=_caller(caller, world))
        staff_caller = caller not in {"anonymous", "member"}
        assert (result.errors is None) == staff_caller, (caller, result.errors)


async def test_the_board_is_for_anyone(api: Any, world: dict[str, Any]) -> None:
    query = "query($g: ID!) { noticeBoard(buildingGroupId: $g) { buildingGroup { code } } }"
    for caller in CALLERS:
        answer = await api.data(query, {"g": gid("BuildingGroup", world["group"])},
                                viewer=_caller(caller, world))
        assert answer == {"noticeBoard": {"buildingGroup": {"code": "L1"}}}, caller
