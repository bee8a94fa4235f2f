"""The notice board (issue 11, point 6): for anyone, what the printed board shows — the
leader, ACTIVE members with roles and services, candidates on notice with the day it ends, a
phone whole only where the member agreed."""

from __future__ import annotations

from typing import Any

from sqlalchemy import text

from domain.access import ANONYMOUS
from tests.organisation_factory import gid, load_organisation_places, member

BOARD = """query($g: ID!) { noticeBoard(buildingGroupId: $g) {
  buildingGroup { code name }
  leader { name phone }
  entries { name roles services phone noticeEndsAt }
  candidates { name phone noticeEndsAt } } }"""
POST = "mutation($id: ID!) { postCandidate(id: $id, noticeDays: 5) { errors { code } } }"


async def board_group(sessions: Any, ids: dict[str, int]) -> tuple[int, int]:
    """Group L1 of buildings B1 and B2 (grid G1), with a leader, two members (one publishing
    the phone), a suspended one, a candidate and one more not posted; (its id, the first
    candidate's)."""
    async with sessions.begin() as session:
        group = (await session.execute(text(
            "INSERT INTO building_group (code, name, grid_id) VALUES ('L1', '船山路党小组', :g) "
            "RETURNING id"), {"g": ids["G1"]})).scalar_one()
        await session.execute(text("UPDATE building SET group_id = :g WHERE id IN (:a, :b)"),
                              {"g": group, "a": ids["B1"], "b": ids["B2"]})
    leader = await member(sessions, ids, "B1", name="组长甲", phone="13800000001",
                          roles=["GROUP_LEADER"], publish_phone=True)
    await member(sessions, ids, "B2", name="管家乙", phone="13800000002",
                 skills=["MAINTENANCE", "CULTURE"])
    suspended = await member(sessions, ids, "B2", name="停职丙", phone="13800000003")
    candidate = await member(sessions, ids, "B1", name="候选丁", phone="13800000004",
                             status="CANDIDATE")
    await member(sessions, ids, "B1", name="未公示戊", status="CANDIDATE")
    await member(sessions, ids, "B4", name="别组己")
    async with sessions.begin() as session:
        await session.execute(text("UPDATE member SET status = 'SUSPENDED' WHERE id = :id"),
                              {"id": suspended})
    assert leader
    return int(group), candidate


async def test_the_board_shows_what_a_printed_board_would(api: Any, sessions: Any) -> None:
    ids = await load_organisation_places(sessions)
    group, candidate = await board_group(sessions, ids)
    await api.data(POST, {"id": gid("Member", candidate)})
    board = (await api.data(BOARD, {"g": gid("BuildingGroup", group)},
                            viewer=ANONYMOUS))["noticeBoard"]
    assert board["buildingGroup"] == {"code": "L1", "name": "船山路党小组"}
    assert board["leader"] == {"name": "组长甲", "phone": "13800000001"}
    assert board["entries"] == [
        {"name": "组长甲", "roles": ["GROUP_LEADER"], "services": [], "phone": "13800000001",
         "noticeEndsAt": None},
        {"name": "管家乙", "roles": ["STEWARD"], "services": ["CULTURE", "MAINTENANCE"],
         "phone": "138****0002", "noticeEndsAt": None}]
    (posted,) = board["candidates"]
    assert (posted["name"], posted["phone"]) == ("候选丁", "138****0004")
    assert posted["noticeEndsAt"] is not None
    missing = await api.data(BOARD, {"g": gid("BuildingGroup", 999)}, viewer=ANONYMOUS)
    assert missing == {"noticeBoard": None}
    bad = await api.run(BOARD, {"g": gid("Grid", 1)}, viewer=ANONYMOUS)
    assert bad.errors[0].extensions["field"] == "buildingGroupId"


async def test_history_is_not_for_the_public(api: Any, sessions: Any) -> None:
    ids = await load_organisation_places(sessions)
    group, _ = await board_group(sessions, ids)
    query = """query($g: ID!) { noticeBoard(buildingGroupId: $g) { buildingGroup {
      members { history { reason } } } } }"""
    seen = (await api.data(query, {"g": gid("BuildingGroup", group)}, viewer=ANONYMOUS))
    assert all(m["history"] == [] for m in seen["noticeBoard"]["buildingGroup"]["members"])
