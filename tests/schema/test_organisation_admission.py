"""The admission cycle (issue 11, point 2): post → object (anonymous) → dismiss / uphold →
admit after the notice; suspend, reinstate, exit with hand-back of open requests and the end
of sessions; history and audit entries; the POOR-two-periods review."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import text

from domain.access import ANONYMOUS, Viewer
from domain.infra.db import transaction
from domain.people.sessions import start_session
from domain.requests.actions import accept_request
from domain.requests.submit import NewRequest, submit_request
from domain.requests.waiting import wait_for_resident
from tests.organisation_factory import gid, load_organisation_places, member, refused, staff
from tests.requests_factory import B1_POINT, TUNING, community_with_stewards, dispatch_request

MEMBER = "member { status joinedAt history { fromStatus toStatus actor reason } }"
POST = ("mutation($id: ID!, $d: Int!) { postCandidate(id: $id, noticeDays: $d) { member { "
        "status notice { postedAt endsAt objections { reason } } } errors { code field } } }")
OBJECT = """mutation($id: ID!, $r: String!, $p: String) {
  objectToCandidate(id: $id, reason: $r, contactPhone: $p) { received errors { code field } } }"""
NOTICE = """query($id: ID!) { node(id: $id) { ... on Member { notice { endsAt objections {
  id reason contactPhone status } } } } }"""
RESOLVE = """mutation($id: ID!, $r: String!) { %s(id: $id, reason: $r) {
  objection { status resolution } errors { code field } } }"""
ADMIT = f"mutation($id: ID!) {{ admitMember(id: $id) {{ {MEMBER} errors {{ code field }} }} }}"
STEP = """mutation($id: ID!, $r: String!) { %s(id: $id, reason: $r) { """ + MEMBER + \
    " errors { code field } } }"


async def _end_notice(sessions: Any) -> None:
    async with sessions.begin() as session:
        await session.execute(text("UPDATE candidate_notice SET posted_at = now() - "
                                   "interval '8 days', ends_at = now() - interval '1 day'"))


async def test_the_admission_cycle(api: Any, sessions: Any) -> None:
    ids = await load_organisation_places(sessions)
    pk = await member(sessions, ids, "B1", status="CANDIDATE")
    c1, who = staff(ids, "C1"), {"id": gid("Member", pk)}
    for days in (0, 31):
        denied = (await api.data(POST, {**who, "d": days}, viewer=c1))["postCandidate"]
        assert denied["errors"] == [{"code": "INVALID_VALUE", "field": "noticeDays"}]
    assert await refused(api, POST, {**who, "d": 7}, staff(ids, "C2")) == ("FORBIDDEN", "id")
    posted = (await api.data(POST, {**who, "d": 7}, viewer=c1))["postCandidate"]
    assert posted["errors"] == [] and posted["member"]["notice"]["objections"] == []
    early = (await api.data(ADMIT, who, viewer=c1))["admitMember"]
    assert early["errors"] == [{"code": "NOTICE_RUNNING", "field": "id"}]

    objected = (await api.data(OBJECT, {**who, "r": "曾拒绝参与楼道清扫", "p": "139 1234 5678"},
                               viewer=ANONYMOUS))["objectToCandidate"]
    assert objected == {"received": True, "errors": []}
    bad = (await api.data(OBJECT, {**who, "r": " ", "p": None}, viewer=ANONYMOUS))
    assert bad["objectToCandidate"]["errors"] == [{"code": "REQUIRED", "field": "reason"}]
    public = await api.data(NOTICE, who, viewer=Viewer(member_id=pk))
    assert public["node"]["notice"]["objections"] == []  # the public never sees them
    seen = (await api.data(NOTICE, who, viewer=c1))["node"]["notice"]["objections"]
    assert [(o["reason"], o["contactPhone"], o["status"]) for o in seen] == [
        ("曾拒绝参与楼道清扫", "13912345678", "OPEN")]

    await _end_notice(sessions)
    blocked = (await api.data(ADMIT, who, viewer=c1))["admitMember"]
    assert blocked["errors"] == [{"code": "OBJECTION_OPEN", "field": "id"}]
    dismissed = (await api.data(RESOLVE % "dismissObjection",
                                {"id": seen[0]["id"], "r": "经核实，已参与清扫"}, viewer=c1))
    assert dismissed["dismissObjection"] == {"errors": [], "objection": {
        "status": "DISMISSED", "resolution": "经核实，已参与清扫"}}
    again = (await api.data(RESOLVE % "upholdObjection", {"id": seen[0]["id"], "r": "x"},
                            viewer=c1))["upholdObjection"]
    assert again["errors"] == [{"code": "INVALID_STATUS", "field": "id"}]
    late = (await api.data(OBJECT, {**who, "r": "迟到的意见"}, viewer=ANONYMOUS))
    assert late["objectToCandidate"]["errors"] == [{"code": "NOT_ON_NOTICE", "field": "id"}]

    admitted = (await api.data(ADMIT, who, viewer=c1))["admitMember"]
    assert admitted["errors"] == [] and admitted["member"]["status"] == "ACTIVE"
    assert admitted["member"]["joinedAt"] is not None
    assert [(h["fromStatus"], h["toStatus"]) for h in admitted["member"]["history"]] == [
        (None, "CANDIDATE"), ("CANDIDATE", "CANDIDATE"), ("CANDIDATE", "ACTIVE")]
    async with sessions() as session:
        actions = list((await session.execute(text(
            "SELECT action FROM audit_entry WHERE subject_type = 'Member' ORDER BY id"))).scalars())
    assert actions == ["MEMBER_CREATED", "CANDIDATE_POSTED", "OBJECTION_RECEIVED",
                       "OBJECTION_DISMISSED", "MEMBER_ADMITTED"]


async def test_an_upheld_objection_bars_admission(api: Any, sessions: Any) -> None:
    ids = await load_organisation_places(sessions)
    pk = await member(sessions, ids, "B1", status="CANDIDATE")
    who = {"id": gid("Member", pk)}
    await api.data(POST, {**who, "d": 3})
    await api.data(OBJECT, {**who, "r": "不住本楼"}, viewer=ANONYMOUS)
    objection = (await api.data(NOTICE, who))["node"]["notice"]["objections"][0]
    upheld = await api.data(RESOLVE % "upholdObjection", {"id": objection["id"], "r": "属实"})
    assert upheld["upholdObjection"]["objection"]["status"] == "UPHELD"
    await _end_notice(sessions)
    denied = (await api.data(ADMIT, who))["admitMember"]
    assert denied["errors"] == [{"code": "OBJECTION_UPHELD", "field": "id"}]
    async with sessions() as session:
        assert (await session.execute(text("SELECT status FROM member WHERE id = :id"),
                                      {"id": pk})).scalar() == "CANDIDATE"


async def _dispatched_to(sessions: Any, now: datetime) -> tuple[int, int]:
    async with transaction(sessions) as session:
        made = await submit_request(session, NewRequest(
            category="MAINTENANCE", description="楼道灯不亮", point=B1_POINT,
            contact_phone="13912345678"), now=now, tuning=TUNING)
    async with transaction(sessions) as session:
        outcome = await dispatch_request(session, request_id=made.request_id, now=now)
    assert outcome.member_id is not None
    return made.request_id, outcome.member_id


async def test_suspension_and_exit_hand_requests_back(api: Any, sessions: Any) -> None:
    stewards = await community_with_stewards(sessions, 2)
    now = datetime.now(UTC)
    request_id, first = await _dispatched_to(sessions, now)
    async with transaction(sessions) as session:
        await accept_request(session, request_id=request_id, viewer=Viewer(member_id=first),
                             now=now)
    suspended = (await api.data(STEP % "suspendMember", {"id": gid("Member", first),
                                                         "r": "长期不接单"}))["suspendMember"]
    assert suspended["errors"] == [] and suspended["member"]["status"] == "SUSPENDED"
    (second,) = set(stewards) - {first}
    async with sessions() as session:
        row = (await session.execute(text(
            "SELECT status, assignee_id FROM service_request WHERE id = :id"),
            {"id": request_id})).one()
        kinds = list((await session.execute(text(
            "SELECT kind FROM request_event WHERE request_id = :id ORDER BY id"),
            {"id": request_id})).scalars())
    assert (row.status, row.assignee_id) == ("DISPATCHED", second)  # the next candidate
    assert kinds[-2:] == ["HANDED_BACK", "DISPATCHED"]
    reinstated = (await api.data(STEP % "reinstateMember", {"id": gid("Member", first),
                                                            "r": "已整改"}))["reinstateMember"]
    assert reinstated["member"]["status"] == "ACTIVE"

    async with transaction(sessions) as session:
        issued = await start_session(session, now=now, member_id=second)
    exited = (await api.data(STEP % "exitMember", {"id": gid("Member", second),
                                                   "r": "迁出本社区"}))["exitMember"]
    assert exited["errors"] == [] and exited["member"]["status"] == "EXITED"
    async with sessions() as session:
        revoked = (await session.execute(text(
            "SELECT revoked_reason FROM auth_session WHERE id = :id"),
            {"id": issued.session_id})).scalar()
        assignee = (await session.execute(text(
            "SELECT assignee_id FROM service_request WHERE id = :id"),
            {"id": request_id})).scalar()
    assert revoked == "MEMBER_EXITED" and assignee == first
    again = (await api.data(STEP % "suspendMember", {"id": gid("Member", second), "r": "x"}))
    assert again["suspendMember"]["errors"] == [{"code": "INVALID_STATUS", "field": "id"}]
    no_reason = (await api.data(STEP % "suspendMember", {"id": gid("Member", first), "r": ""}))
    assert no_reason["suspendMember"]["errors"] == [{"code": "REQUIRED", "field": "reason"}]
    history = exited["member"]["history"]
    assert (history[-1]["toStatus"], history[-1]["reason"]) == ("EXITED", "迁出本社区")


REVIEW = """query($p: String!) { membersForReview(period: $p) { period previousPeriod score
  member { name } } }"""


async def test_members_rated_poor_two_periods_running(api: Any, sessions: Any) -> None:
    ids = await load_organisation_places(sessions)
    poor, once = (await member(sessions, ids, "B1", name="甲"),
                  await member(sessions, ids, "B2", name="乙"))
    async with sessions.begin() as session:
        for period, member_id, tier, score in (("2026-10", poor, "POOR", 30.0),
                                               ("2026-11", poor, "POOR", 20.0),
                                               ("2026-10", once, "GOOD", 75.0),
                                               ("2026-11", once, "POOR", 40.0)):
            await session.execute(text("""
                INSERT INTO member_assessment (period, member_id, community_id, accepted,
                    completed, responses, score, tier, computed_at)
                VALUES (:p, :m, :c, 1, 1, 1, :s, :t, now())"""),
                {"p": period, "m": member_id, "c": ids["C1"], "s": score, "t": tier})
    found = (await api.data(REVIEW, {"p": "2026-11"}, viewer=staff(ids, "C1")))
    assert found["membersForReview"] == [{"period": "2026-11", "previousPeriod": "2026-10",
                                          "score": 20.0, "member": {"name": "甲"}}]
    assert (await api.data(REVIEW, {"p": "2026-11"}, viewer=staff(ids, "C2")))[
        "membersForReview"] == []
    bad = await api.run(REVIEW, {"p": "2026-13"})
    assert bad.errors and bad.errors[0].extensions["code"] == "INVALID_PERIOD"


async def test_a_request_waiting_on_the_resident_is_handed_back_with_its_pause(
        api: Any, sessions: Any) -> None:
    stewards = await community_with_stewards(sessions, 2)
    now = datetime.now(UTC)
    request_id, first = await _dispatched_to(sessions, now)
    async with transaction(sessions) as session:
        await accept_request(session, request_id=request_id, viewer=Viewer(member_id=first),
                             now=now)
        await wait_for_resident(session, request_id=request_id, viewer=Viewer(member_id=first),
                                reason="请告知方便上门的时间", now=now - timedelta(hours=2))
    suspended = (await api.data(STEP % "suspendMember", {"id": gid("Member", first),
                                                         "r": "长期不接单"}))["suspendMember"]
    assert suspended["errors"] == []
    (second,) = set(stewards) - {first}
    async with sessions() as session:
        row = (await session.execute(text(
            "SELECT status, assignee_id, waiting_since, due_at FROM service_request "
            "WHERE id = :id"), {"id": request_id})).one()
        events = (await session.execute(text(
            "SELECT kind, note FROM request_event WHERE request_id = :id ORDER BY id"),
            {"id": request_id})).all()
    assert (row.status, row.assignee_id, row.waiting_since) == ("DISPATCHED", second, None)
    assert [e.kind for e in events[-3:]] == ["RESUMED", "HANDED_BACK", "DISPATCHED"]
    assert events[-3].note.startswith("paused 120 min")  # the pause counted into its due time
