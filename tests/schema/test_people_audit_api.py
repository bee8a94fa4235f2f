"""An audit entry for each kind of action, through the API: sign-ins (both kinds, failed
ones too), refresh and reuse, sign-out, staff accounts, members, imports, assignment and
cancellation; and, after a whole sign-in flow, not one password, code or token anywhere in
the trail."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import text

from domain.access import ANONYMOUS, Viewer
from domain.infra.db import transaction
from domain.people import codes
from domain.requests.submit import NewRequest, submit_request
from schema.common.ids import encode_id
from tests.conftest import TOKENS
from tests.factories import two_grid_community
from tests.people_factory import GOOD_PASSWORD, load_places, make_account, make_member
from tests.requests_factory import B1_POINT, TUNING, community_with_stewards
from tests.schema.test_people_api import CREATE, REFRESH, SIGN_IN, SIGN_OUT, UPDATE

PHONE = "13800001111"
CODE_REQUEST = """mutation($phone: String!) { requestSignInCode(phone: $phone) { sentTo } }"""
CODE_SIGN_IN = """mutation($phone: String!, $code: String!) {
  signInWithCode(phone: $phone, code: $code) {
    session { accessToken refreshToken } errors { code } } }"""


async def entries(sessions: Any, action: str | None = None) -> list[Any]:
    """The trail (of one action), oldest first."""
    async with sessions() as session:
        return list(await session.execute(text(
            "SELECT id, actor, action, subject_type, subject_id, community_id, detail "
            "FROM audit_entry WHERE CAST(:action AS text) IS NULL OR action = :action "
            "ORDER BY id"), {"action": action}))


async def _password_flow(api: Any) -> list[str]:
    """Sign in wrongly and rightly, refresh, reuse, sign in again and out; the secrets."""
    wrong = "not-the-password-at-all"
    failed = await api.data(SIGN_IN, {"login": "zhaolei", "password": wrong}, viewer=ANONYMOUS)
    assert failed["signInWithPassword"]["errors"][0]["code"] == "SIGN_IN_FAILED"
    first = (await api.data(SIGN_IN, {"login": "ZhaoLei", "password": GOOD_PASSWORD},
                            viewer=ANONYMOUS))["signInWithPassword"]["session"]
    second = (await api.data(REFRESH, {"t": first["refreshToken"]}))["refreshSession"]
    reused = (await api.data(REFRESH, {"t": first["refreshToken"]}))["refreshSession"]
    assert reused["errors"][0]["code"] == "REUSED"
    third = (await api.data(SIGN_IN, {"login": "zhaolei", "password": GOOD_PASSWORD},
                            viewer=ANONYMOUS))["signInWithPassword"]["session"]
    out = await api.data(SIGN_OUT, {"t": third["refreshToken"]}, viewer=ANONYMOUS)
    assert out["signOut"]["signedOut"]
    return [wrong, GOOD_PASSWORD, *first.values(), *second["session"].values(),
            *third.values()]


async def _code_flow(api: Any, sessions: Any) -> list[str]:
    """A member signs in by code after one wrong code; the secrets."""
    await api.data(CODE_REQUEST, {"phone": PHONE}, viewer=ANONYMOUS)
    async with sessions() as session:
        nonce = (await session.execute(text(
            "SELECT nonce FROM sign_in_code ORDER BY id DESC LIMIT 1"))).scalar_one()
    code = codes.derive_code(TOKENS.code_key, nonce)
    wrong = str((int(code) + 500_001) % 1_000_000).zfill(6)
    bad = await api.data(CODE_SIGN_IN, {"phone": PHONE, "code": wrong}, viewer=ANONYMOUS)
    assert bad["signInWithCode"]["errors"] == [{"code": "SIGN_IN_FAILED"}]
    good = await api.data(CODE_SIGN_IN, {"phone": PHONE, "code": code}, viewer=ANONYMOUS)
    return [code, wrong, nonce, *good["signInWithCode"]["session"].values()]


async def test_sign_in_flows_are_recorded_and_no_secret_lands_in_the_trail(
        api: Any, sessions: Any) -> None:
    ids = await load_places(sessions)
    account = await make_account(sessions, ids, "zhaolei", "C1")
    member = await make_member(sessions, PHONE)
    secrets = await _password_flow(api)
    secrets += await _code_flow(api, sessions)
    trail = await entries(sessions)
    assert [(e.actor, e.action) for e in trail] == [
        ("system", "IMPORT"), ("cli", "ACCOUNT_CREATED"),
        ("resident", "SIGN_IN_FAILED"), (f"account:{account}", "SIGN_IN"),
        (f"account:{account}", "SESSION_REFRESHED"), (f"account:{account}", "REUSE_DETECTED"),
        (f"account:{account}", "SIGN_IN"), (f"account:{account}", "SIGN_OUT"),
        ("resident", "SIGN_IN_FAILED"), (f"member:{member}", "SIGN_IN")]
    failed_staff, failed_member = [e for e in trail if e.action == "SIGN_IN_FAILED"]
    assert failed_staff.detail == {"method": "password", "login": "zhaolei"}
    assert (failed_staff.subject_type, failed_staff.subject_id) == ("StaffAccount", account)
    assert failed_member.detail == {"method": "code", "phone": "138****1111"}
    assert (trail[-1].subject_type, trail[-1].subject_id) == ("Member", member)
    async with sessions() as session:
        everything = (await session.execute(text(
            "SELECT string_agg(actor || ' ' || action || ' ' || COALESCE(detail::text, ''), "
            "' ') FROM audit_entry"))).scalar_one()
    for secret in [*secrets, PHONE, "argon2"]:
        assert secret not in everything, secret


ASSIGN = """mutation($id: ID!, $m: ID!) { assignServiceRequest(id: $id, memberId: $m) {
    request { status } errors { code } } }"""
CANCEL = """mutation($id: ID!) { cancelServiceRequest(id: $id, reason: "居民已自行解决") {
    request { status } errors { code } } }"""
IMPORT = """mutation($c: GeoJSON!) { importFeatures(collection: $c) { communities errors
    { code } } }"""
MEMBER = """mutation($input: MemberInput!) { createMember(input: $input) { member { id }
    errors { code field } } }"""


async def test_staff_writes_are_recorded_before_and_after(api: Any, sessions: Any) -> None:
    staff = Viewer(account_id=99, session_id=1, admin=True)  # city-wide, as an account
    assert (await api.data(IMPORT, {"c": two_grid_community()}, viewer=staff))[
        "importFeatures"] == {"communities": 1, "errors": []}
    (imported,) = await entries(sessions, "IMPORT")
    assert imported.actor == "account:99"
    assert imported.detail["counts"]["grids"] == 2 and imported.detail["communities"] == ["C1"]
    async with sessions() as session:
        community = (await session.execute(text("SELECT id FROM community"))).scalar_one()
    created = await api.data(CREATE, {"input": {
        "login": "wanggang", "name": "王刚", "password": GOOD_PASSWORD,
        "territories": [{"level": "COMMUNITY", "id": encode_id("Community", community)}]}},
        viewer=staff)
    account_id = created["createStaffAccount"]["account"]["id"]
    await api.data(UPDATE, {"id": account_id, "input": {
        "name": "王刚强", "password": "another-long-passphrase-77"}}, viewer=staff)
    (made,) = await entries(sessions, "ACCOUNT_CREATED")
    (changed,) = await entries(sessions, "ACCOUNT_UPDATED")
    assert made.community_id == changed.community_id == community
    assert made.detail["after"]["login"] == "wanggang"
    assert (changed.detail["before"]["name"], changed.detail["after"]["name"]) == (
        "王刚", "王刚强")
    assert changed.detail["credentialChanged"] is True
    assert "argon2" not in str(made.detail) + str(changed.detail)


async def test_members_and_requests_changes_are_recorded(api: Any, sessions: Any) -> None:
    stewards = await community_with_stewards(sessions, 1)
    async with sessions() as session:
        group = (await session.execute(text(
            "SELECT id FROM building_group WHERE code = 'L1'"))).scalar_one()
        community = (await session.execute(text("SELECT id FROM community"))).scalar_one()
    made = await api.data(MEMBER, {"input": {
        "name": "李四", "phone": "13900002222", "buildingGroupId": encode_id(
            "BuildingGroup", group)}})
    assert made["createMember"]["errors"] == []
    (member,) = await entries(sessions, "MEMBER_CREATED")
    assert member.actor == "cli" and member.subject_type == "Member"
    assert member.community_id == community  # found through the member's group
    assert member.detail["after"]["phone"] == "139****2222"
    async with transaction(sessions) as session:
        request = (await submit_request(session, NewRequest(
            category="MAINTENANCE", description="楼道灯不亮", point=B1_POINT,
            contact_phone="13912345678"), now=datetime.now(UTC), tuning=TUNING)).request_id
    rid = encode_id("ServiceRequest", request)
    assigned = await api.data(ASSIGN, {"id": rid, "m": encode_id("Member", stewards[0])})
    assert assigned["assignServiceRequest"]["errors"] == []
    cancelled = await api.data(CANCEL, {"id": rid})
    assert cancelled["cancelServiceRequest"]["request"]["status"] == "CANCELLED"
    (assign,) = await entries(sessions, "REQUEST_ASSIGNED")
    (cancel,) = await entries(sessions, "REQUEST_CANCELLED")
    for entry in (assign, cancel):
        assert (entry.subject_type, entry.subject_id, entry.community_id) == (
            "ServiceRequest", request, community)
    assert assign.detail["after"] == {"status": "DISPATCHED", "assignee": stewards[0]}
    assert cancel.detail["before"]["status"] == "DISPATCHED"
    assert cancel.detail["after"]["status"] == "CANCELLED"
