"""The resident's side (issue 13) on a real PostGIS: the tracking code and view, the
confirmation and the notices, stopping them, waiting on the resident, and working-day time
limits with the communities' overrides."""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import text

from domain.access import ANONYMOUS, Territories, Viewer
from domain.calendar import ZONE
from domain.infra.db import transaction
from domain.requests.sweep import sweep
from domain.requests.tracking import VALID_AFTER_CLOSE, find_tracked, tracking_key
from domain.workdays import Limit, Unit, WorkCalendar, due, known_years, resumed_due
from schema.common.ids import decode_id, encode_id
from tests.schema.test_requests_api import IN_B1, World, build_world
from tests.settings import make_settings
from workers.channels import make_sender
from workers.jobs import deliver_job

TRACK = """query ($n: String!, $c: String!) { trackServiceRequest(number: $n, code: $c) {
  number category categoryName status description submittedAt dueAt groupName assigneeRole
  waitingReason surveyLink notices timeline { kind word note } } }"""
SUBMIT = """mutation ($input: SubmitRequestInput!) { submitServiceRequest(input: $input) {
  request { id number dueAt submittedAt } trackingCode replayed errors { code field } } }"""
REPLY = """mutation ($n: String!, $c: String!, $m: String!) {
  replyToServiceRequest(number: $n, code: $c, message: $m) {
    request { status dueAt timeline { kind word note } } errors { code field message } } }"""
STOP = """mutation ($n: String!, $c: String!) { stopServiceRequestNotices(number: $n, code: $c) {
  request { notices } errors { code field } } }"""
MESSAGES = """query ($id: ID) { outboundMessages(requestId: $id) { kind recipient body } }"""
OVERRIDE = """mutation ($c: ID!, $d: Date!, $w: Boolean!, $note: String) {
  setCalendarOverride(communityId: $c, date: $d, working: $w, note: $note) {
    override { date working note } errors { code field message } } }"""
PHONE = "13812345678"


@pytest.fixture
async def world(api: Any, sessions: Any) -> World:
    return await build_world(api, sessions)


async def submit(world: World, **fields: Any) -> dict[str, Any]:
    data = {"category": "MAINTENANCE", "description": "楼道灯坏了", "point": IN_B1,
            "contactPhone": PHONE, **fields}
    result = await world.api.data(SUBMIT, {"input": data}, viewer=ANONYMOUS)
    done = result["submitServiceRequest"]
    assert done["errors"] == [], done
    return dict(done)


async def track(world: World, number: str, code: str) -> Any:
    return (await world.api.data(TRACK, {"n": number, "c": code},
                                 viewer=ANONYMOUS))["trackServiceRequest"]


async def messages(world: World, request_id: str | None = None) -> list[dict[str, str]]:
    return list((await world.api.data(MESSAGES, {"id": request_id}))["outboundMessages"])


async def scalar(world: World, sql: str, **params: Any) -> Any:
    async with world.api.sessions() as session:
        return (await session.execute(text(sql), params)).scalar_one()


async def accept_and_start(world: World, request_id: str) -> None:
    await world.dispatch(request_id)
    for name in ("acceptServiceRequest", "startServiceRequest"):
        assert (await world.act(name, request_id, world.viewer("甲")))["errors"] == []


# ---------------------------------------------------------------- tracking code and view

async def test_the_tracking_code_is_long_stored_hashed_and_opens_a_public_view(
        world: World) -> None:
    done = await submit(world, contactName="王大妈")
    code, number = done["trackingCode"], done["request"]["number"]
    assert len(code) == 32 and len(code) * 5 >= 128  # base-32: 160 bits
    stored = await scalar(world, "SELECT tracking_hash FROM service_request")
    assert stored == hashlib.sha256(code.encode()).hexdigest()
    assert await scalar(world, "SELECT count(*) FROM service_request WHERE "
                        "tracking_hash = :c OR tracking_nonce = :c", c=code) == 0

    view = await track(world, number, code.lower())  # typed in lower case: still found
    assert (view["number"], view["status"], view["description"], view["categoryName"]) == (
        number, "SUBMITTED", "楼道灯坏了", "维修维护")
    assert view["groupName"] and view["assigneeRole"] is None and view["notices"] is True
    assert [(s["kind"], s["word"]) for s in view["timeline"]] == [("SUBMITTED", "受理")]

    await accept_and_start(world, done["request"]["id"])
    view = await track(world, number, code)
    assert [s["word"] for s in view["timeline"]] == ["受理", "派单", "接单", "服务中"]
    assert view["assigneeRole"] == "红色管家"
    text_of_view = json.dumps(view, ensure_ascii=False)
    assert "甲" not in text_of_view and "13800000001" not in text_of_view
    assert PHONE not in text_of_view and "王大妈" not in text_of_view


async def test_a_wrong_code_an_unknown_number_and_another_requests_code_answer_the_same(
        world: World) -> None:
    first, second = await submit(world), await submit(world, description="漏水")
    number = first["request"]["number"]
    assert await track(world, number, second["trackingCode"]) is None
    assert await track(world, number, "A" * 32) is None
    assert await track(world, "GS000000000000", first["trackingCode"]) is None
    assert await track(world, number, "x" * 10_000) is None
    before = await world.counts()
    result = (await world.api.data(STOP, {"n": number, "c": second["trackingCode"]},
                                   viewer=ANONYMOUS))["stopServiceRequestNotices"]
    assert result == {"request": None, "errors": [{"code": "NOT_FOUND", "field": "code"}]}
    unknown = (await world.api.data(STOP, {"n": "GS000000000000", "c": first["trackingCode"]},
                                    viewer=ANONYMOUS))["stopServiceRequestNotices"]
    assert unknown == result
    assert await world.counts() == before
    assert await scalar(world, "SELECT bool_and(notify) FROM service_request") is True


async def test_the_code_expires_thirty_days_after_the_request_closes(world: World) -> None:
    done = await submit(world)
    request_id = decode_id(done["request"]["id"], "ServiceRequest", "id")
    code, number = done["trackingCode"], done["request"]["number"]
    cancelled = await world.act("cancelServiceRequest", done["request"]["id"],
                                Viewer(admin=True), reason="居民已自行解决")
    assert cancelled["errors"] == []
    closed = await scalar(world, "SELECT updated_at FROM service_request")
    async with world.api.sessions() as session:
        assert await find_tracked(session, number, code,
                                  closed + VALID_AFTER_CLOSE - timedelta(minutes=1)) == request_id
        assert await find_tracked(session, number, code,
                                  closed + VALID_AFTER_CLOSE + timedelta(minutes=1)) is None
    view = await track(world, number, code)
    assert view["status"] == "CANCELLED" and view["timeline"][-1]["word"] == "撤销"


async def test_a_replayed_submission_gives_no_code(world: World) -> None:
    first = await submit(world, idempotencyKey="app-1")
    again = await submit(world, idempotencyKey="app-1")
    assert first["trackingCode"] and again["trackingCode"] is None and again["replayed"]


# ---------------------------------------------------------------- messages

async def test_confirmation_and_one_notice_each_with_links_written_in_on_delivery(
        world: World, sessions: Any) -> None:
    done = await submit(world)
    request_id, code = done["request"]["id"], done["trackingCode"]
    number = done["request"]["number"]
    await accept_and_start(world, request_id)
    assert (await world.act("completeServiceRequest", request_id, world.viewer("甲"),
                            resolution="换了灯泡"))["errors"] == []
    resident = [m for m in await messages(world, request_id) if m["recipient"] == PHONE]
    assert [m["kind"] for m in resident] == ["REQUEST_RECEIVED", "REQUEST_ACCEPTED",
                                             "REQUEST_COMPLETED"]
    received = resident[0]["body"]
    assert number in received and "维修维护" in received and "{track}" in received
    assert code not in json.dumps(resident, ensure_ascii=False)  # never in clear in the outbox

    settings = make_settings(TRACKING_LINK="https://gs.example/track")
    sent: list[dict[str, Any]] = []
    ids = [int(i) for i in (await scalar(world, "SELECT array_agg(id ORDER BY id) FROM "
                                         "outbound_message WHERE recipient = :p", p=PHONE))]
    await deliver_job(sessions, ids, sent.append, secret_key=settings.secret_key,
                      tracking_link=settings.tracking_link)
    link = f"https://gs.example/track?n={number}&c={code}"
    assert all(link in m["body"] and f"{link}&stop=1" in m["body"] for m in sent), sent
    assert make_sender(settings) is not None
    due_text = sent[0]["body"]
    assert "前办结" in due_text and "{" not in due_text


async def test_escalated_and_cancelled_notices_and_none_after_stopping(world: World) -> None:
    done = await submit(world)
    request_id = done["request"]["id"]
    async with transaction(world.api.sessions) as session:
        await session.execute(text("UPDATE service_request SET due_at = now() - interval '1 h'"))
        await sweep(session, now=datetime.now(UTC), accept_timeout=timedelta(minutes=30))
    assert (await world.act("cancelServiceRequest", request_id, Viewer(admin=True),
                            reason="重复提交"))["errors"] == []
    kinds = [m["kind"] for m in await messages(world, request_id) if m["recipient"] == PHONE]
    assert kinds == ["REQUEST_RECEIVED", "REQUEST_ESCALATED", "REQUEST_CANCELLED"]
    cancelled = next(m for m in await messages(world, request_id)
                     if m["kind"] == "REQUEST_CANCELLED")
    assert "重复提交" in cancelled["body"]

    quiet = await submit(world, description="漏水", notices=False)
    await accept_and_start(world, quiet["request"]["id"])
    kinds = [m["kind"] for m in await messages(world, quiet["request"]["id"])
             if m["recipient"] == PHONE]
    assert kinds == ["REQUEST_RECEIVED"]  # the confirmation only

    stopped = await submit(world, description="门锁坏了")
    result = (await world.api.data(STOP, {"n": stopped["request"]["number"],
                                          "c": stopped["trackingCode"]}, viewer=ANONYMOUS))
    assert result["stopServiceRequestNotices"] == {"request": {"notices": False},
                                                   "errors": []}
    await accept_and_start(world, stopped["request"]["id"])
    kinds = [m["kind"] for m in await messages(world, stopped["request"]["id"])
             if m["recipient"] == PHONE]
    assert kinds == ["REQUEST_RECEIVED"]


async def test_no_phone_no_messages_but_a_code(world: World) -> None:
    done = await submit(world, contactPhone=None)
    assert done["trackingCode"]
    assert [m for m in await messages(world, done["request"]["id"])
            if m["kind"].startswith("REQUEST_")] == []


# ---------------------------------------------------------------- waiting on the resident

async def test_waiting_stops_the_clock_and_the_residents_reply_resumes_it(world: World) -> None:
    done = await submit(world)
    request_id, code = done["request"]["id"], done["trackingCode"]
    number = done["request"]["number"]
    await accept_and_start(world, request_id)
    waited = await world.act("waitForResident", request_id, world.viewer("甲"),
                             reason="请告知哪一层的灯")
    assert waited["errors"] == [] and waited["request"]["status"] == "WAITING_RESIDENT"
    view = await track(world, number, code)
    assert view["waitingReason"] == "请告知哪一层的灯"
    assert view["timeline"][-1] == {"kind": "WAITING_RESIDENT", "word": "等待居民补充",
                                    "note": "请告知哪一层的灯"}
    assert "REQUEST_WAITING" in [m["kind"] for m in await messages(world, request_id)]

    # pretend the request has waited two hours, in office hours or not
    async with transaction(world.api.sessions) as session:
        await session.execute(text(
            "UPDATE service_request SET waiting_since = waiting_since - interval '2 hours'"))
    row_before = await scalar(world, "SELECT json_build_object('due', due_at, 'since', "
                              "waiting_since) FROM service_request")
    # while it waits, the sweep does not escalate it, however late
    async with transaction(world.api.sessions) as session:
        result = await sweep(session, now=datetime.now(UTC) + timedelta(days=30),
                             accept_timeout=timedelta(minutes=30))
    assert result.escalated == 0

    replied = (await world.api.data(REPLY, {"n": number, "c": code, "m": "三楼"},
                                    viewer=ANONYMOUS))["replyToServiceRequest"]
    assert replied["errors"] == [] and replied["request"]["status"] == "IN_PROGRESS"
    assert [(s["kind"], s["note"]) for s in replied["request"]["timeline"][-2:]] == [
        ("RESIDENT_REPLIED", "三楼"), ("RESUMED", None)]
    due_before = datetime.fromisoformat(row_before["due"])
    since = datetime.fromisoformat(row_before["since"])
    due_after = datetime.fromisoformat(replied["request"]["dueAt"])
    resumed_at = await scalar(world, "SELECT at FROM request_event WHERE kind = 'RESUMED'")
    # the working time paused is added (none when it waited outside office hours)
    assert due_after == resumed_due(Limit(3, Unit.WORKING_DAYS), due_before, since,
                                    resumed_at, WorkCalendar()).at >= due_before
    assert await scalar(world, "SELECT waiting_since IS NULL AND waiting_from IS NULL "
                        "FROM service_request") is True


async def test_staff_resume_a_waiting_request_back_to_accepted(world: World) -> None:
    done = await submit(world)
    request_id = done["request"]["id"]
    await world.dispatch(request_id)
    await world.act("acceptServiceRequest", request_id, world.viewer("甲"))
    assert (await world.act("waitForResident", request_id, world.viewer("甲"),
                            reason="需要进门查看"))["errors"] == []
    other = await world.act("resumeServiceRequest", request_id, world.viewer("乙"))
    assert other["errors"][0]["code"] == "FORBIDDEN"
    resumed = await world.act("resumeServiceRequest", request_id, world.viewer("网格一"))
    assert resumed["errors"] == [] and resumed["request"]["status"] == "ACCEPTED"


async def test_waiting_from_any_other_state_is_refused_and_changes_nothing(
        world: World) -> None:
    done = await submit(world)
    request_id = done["request"]["id"]
    await world.dispatch(request_id)  # DISPATCHED: not accepted yet
    before = await world.counts()
    refused = await world.act("waitForResident", request_id, world.viewer("甲"),
                              reason="请补充")
    assert refused["request"] is None
    assert [(e["code"], e["field"]) for e in refused["errors"]] == [
        ("INVALID_TRANSITION", "id")]
    assert "ACCEPTED, IN_PROGRESS" in refused["errors"][0]["message"]
    empty = await world.act("waitForResident", request_id, world.viewer("甲"), reason=" ")
    assert [(e["code"], e["field"]) for e in empty["errors"]] == [("REQUIRED", "reason")]
    not_waiting = (await world.api.data(REPLY, {"n": done["request"]["number"],
                                                "c": done["trackingCode"], "m": "在家"},
                                        viewer=ANONYMOUS))["replyToServiceRequest"]
    assert [(e["code"], e["field"]) for e in not_waiting["errors"]] == [
        ("INVALID_TRANSITION", "number")]
    assert await world.counts() == before


# ---------------------------------------------------------------- working days and overrides

async def test_due_at_counts_working_days_with_the_communitys_overrides(world: World) -> None:
    community = await scalar(world, "SELECT id FROM community")
    today = datetime.now(ZONE)  # China's date: from 16:00 UTC on, the UTC date is yesterday's
    next_days = [(today + timedelta(days=i)).date() for i in range(1, 8)]
    working = [d for d in next_days if WorkCalendar().working(d)]
    result = await world.api.data(OVERRIDE, {"c": encode_id("Community", community),
                                             "d": working[0].isoformat(), "w": False,
                                             "note": "社区文化节"})
    assert result["setCalendarOverride"]["errors"] == []
    assert await scalar(world, "SELECT count(*) FROM audit_entry WHERE action = "
                        "'CALENDAR_OVERRIDE_SET'") == 1
    done = await submit(world, category="CONSULTATION")  # 2 working days
    submitted = datetime.fromisoformat(done["request"]["submittedAt"])
    expected = due(Limit(2, Unit.WORKING_DAYS), submitted,
                   WorkCalendar({working[0]: False})).at
    assert datetime.fromisoformat(done["request"]["dueAt"]) == expected
    assert expected > due(Limit(2, Unit.WORKING_DAYS), submitted, WorkCalendar()).at
    emergency = await submit(world, category="EMERGENCY", description="燃气泄漏")
    allowed = (datetime.fromisoformat(emergency["request"]["dueAt"])
               - datetime.fromisoformat(emergency["request"]["submittedAt"]))
    assert allowed == timedelta(hours=4)


async def test_an_override_outside_the_calendar_or_the_territory_is_refused(
        world: World) -> None:
    community = encode_id("Community", await scalar(world, "SELECT id FROM community"))
    beyond = date(known_years().stop, 2, 1).isoformat()
    result = await world.api.data(OVERRIDE, {"c": community, "d": beyond, "w": False})
    errors = result["setCalendarOverride"]["errors"]
    assert [(e["code"], e["field"]) for e in errors] == [("OUT_OF_RANGE", "date")]
    elsewhere = Viewer(account_id=1, territories=Territories(community_ids=frozenset({999})),
                       communities=frozenset({999}))
    outside = await world.api.run(OVERRIDE, {"c": community, "d": "2026-12-12", "w": True},
                                  viewer=elsewhere)
    (refused,) = outside.errors  # the permission layer's target check (PERMISSIONS.md)
    assert (refused.extensions["code"], refused.extensions["field"]) == (
        "FORBIDDEN", "communityId")
    assert await scalar(world, "SELECT count(*) FROM calendar_override") == 0
    assert await scalar(world, "SELECT count(*) FROM audit_entry "
                        "WHERE action LIKE 'CALENDAR%'") == 0
    anonymous = await world.api.run(OVERRIDE, {"c": community, "d": "2026-12-12", "w": True},
                                    viewer=ANONYMOUS)
    assert anonymous.errors


async def test_an_unknown_year_falls_back_and_shows_in_the_figures(world: World) -> None:
    done = await submit(world)
    async with transaction(world.api.sessions) as session:
        await session.execute(text("UPDATE service_request SET due_fallback = true"))
    stats = await world.api.data("{ requestStats { submitted calendarFallback "
                                 "calendarKnownUntil } }")
    assert stats["requestStats"] == {"submitted": 1, "calendarFallback": 1,
                                     "calendarKnownUntil": known_years().stop - 1}
    assert done["request"]["number"]


async def test_the_overdue_sweep_uses_the_working_due_time(world: World) -> None:
    done = await submit(world)  # MAINTENANCE: 3 working days
    due_at = datetime.fromisoformat(done["request"]["dueAt"])
    async with transaction(world.api.sessions) as session:
        early = await sweep(session, now=due_at - timedelta(minutes=1),
                            accept_timeout=timedelta(hours=1000))
        assert early.escalated == 0
        late = await sweep(session, now=due_at + timedelta(minutes=1),
                           accept_timeout=timedelta(hours=1000))
    assert late.escalated == 1
    assert tracking_key("x") != tracking_key("y")


async def test_overrides_are_listed_replaced_and_removed_with_their_audit(world: World) -> None:
    community = encode_id("Community", await scalar(world, "SELECT id FROM community"))
    for working in (False, True):  # the second replaces the first
        result = await world.api.data(OVERRIDE, {"c": community, "d": "2026-12-12",
                                                 "w": working, "note": "社区活动"})
        assert result["setCalendarOverride"]["override"] == {
            "date": "2026-12-12", "working": working, "note": "社区活动"}
    listed = await world.api.data("query ($c: ID!) { calendarOverrides(communityId: $c) "
                                  "{ date working } }", {"c": community})
    assert listed["calendarOverrides"] == [{"date": "2026-12-12", "working": True}]
    remove = """mutation ($c: ID!, $d: Date!) { removeCalendarOverride(communityId: $c, date: $d)
      { removed errors { code } } }"""
    first = await world.api.data(remove, {"c": community, "d": "2026-12-12"})
    again = await world.api.data(remove, {"c": community, "d": "2026-12-12"})
    assert (first["removeCalendarOverride"]["removed"],
            again["removeCalendarOverride"]["removed"]) == (True, False)
    actions = await scalar(world, "SELECT string_agg(action, ',' ORDER BY id) FROM audit_entry "
                           "WHERE action LIKE 'CALENDAR%'")
    assert actions == ("CALENDAR_OVERRIDE_SET,CALENDAR_OVERRIDE_SET,"
                       "CALENDAR_OVERRIDE_REMOVED")
