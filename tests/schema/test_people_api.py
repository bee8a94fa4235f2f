"""The people API: staff sign-in, viewer, refresh rotation and reuse, signOut, staff accounts
within territories, deactivation, subdistricts and their nodes."""

from __future__ import annotations

from typing import Any

from domain.access import ANONYMOUS, Viewer, load_viewer
from schema.common.ids import encode_id
from server.auth import read_token
from tests.conftest import TOKENS
from tests.people_factory import GOOD_PASSWORD, load_places, make_account, make_member

SIGN_IN = """mutation($login: String!, $password: String!) {
  signInWithPassword(login: $login, password: $password) {
    session { accessToken accessTokenExpiresAt refreshToken refreshTokenExpiresAt }
    errors { code field message } } }"""
REFRESH = """mutation($t: String!) { refreshSession(refreshToken: $t) {
    session { accessToken refreshToken } errors { code field } } }"""
SIGN_OUT = """mutation($t: String!) { signOut(refreshToken: $t) { signedOut errors { code } } }"""
VIEWER = """{ viewer { account { login name territories { level subdistrict { code }
    community { code } } } member { name } territories { level } } }"""
CREATE = """mutation($input: StaffAccountInput!) { createStaffAccount(input: $input) {
    account { id login territories { level community { code } } } errors { code field } } }"""
UPDATE = """mutation($id: ID!, $input: StaffAccountUpdateInput!) {
  updateStaffAccount(id: $id, input: $input) { account { active name } errors { code field } } }"""


async def _viewer(sessions: Any, access_token: str) -> Viewer:
    """The caller an access token names now, as the server would find it."""
    claims = read_token(TOKENS.secret, access_token)
    async with sessions() as session:
        return await load_viewer(session, admin=claims.admin, member_id=claims.member_id,
                                 account_id=claims.account_id, session_id=claims.session_id)


async def _sign_in(api: Any, login: str, password: str = GOOD_PASSWORD) -> dict[str, Any]:
    data = await api.data(SIGN_IN, {"login": login, "password": password}, viewer=ANONYMOUS)
    return dict(data["signInWithPassword"])


async def _session(api: Any, sessions: Any, login: str) -> tuple[dict[str, Any], Viewer]:
    session = (await _sign_in(api, login))["session"]
    return session, await _viewer(sessions, session["accessToken"])


async def test_staff_sign_in_and_viewer(api: Any, sessions: Any) -> None:
    ids = await load_places(sessions)
    await make_account(sessions, ids, "zhaolei", "S1", "C3")
    session, viewer = await _session(api, sessions, "ZhaoLei")
    assert session["accessTokenExpiresAt"] < session["refreshTokenExpiresAt"]
    data = await api.data(VIEWER, viewer=viewer)
    assert data["viewer"] == {
        "account": {"login": "zhaolei", "name": "zhaolei 同志", "territories": [
            {"level": "SUBDISTRICT", "subdistrict": {"code": "S1"}, "community": None},
            {"level": "COMMUNITY", "subdistrict": None, "community": {"code": "C3"}}]},
        "member": None, "territories": [{"level": "SUBDISTRICT"}, {"level": "COMMUNITY"}]}
    assert not viewer.admin  # only city-wide staff have today's administrator rights
    assert (await api.data(VIEWER, viewer=ANONYMOUS))["viewer"] is None
    await make_account(sessions, ids, "city", "city")
    _, city = await _session(api, sessions, "city")
    assert city.admin and city.scope.city
    outbox = await api.data("{ outboundMessages { id } }", viewer=city)  # administrators only
    assert outbox == {"outboundMessages": []}


async def test_the_admin_token_is_city_wide(api: Any, sessions: Any) -> None:
    async with sessions() as session:
        viewer = await load_viewer(session, admin=True, member_id=None)
    data = await api.data(VIEWER, viewer=viewer)
    assert data["viewer"] == {"account": None, "member": None,
                              "territories": [{"level": "CITY"}]}


async def test_failed_sign_ins_answer_alike(api: Any, sessions: Any) -> None:
    ids = await load_places(sessions)
    await make_account(sessions, ids, "zhaolei", "C1")
    inactive = await make_account(sessions, ids, "sunli", "C1")
    await api.data(UPDATE, {"id": encode_id("StaffAccount", inactive),
                            "input": {"active": False}})
    answers = [await _sign_in(api, "zhaolei", "wrong-password-123"),
               await _sign_in(api, "nobody", GOOD_PASSWORD),
               await _sign_in(api, "sunli", GOOD_PASSWORD)]
    assert answers[0] == answers[1] == answers[2]
    assert answers[0]["session"] is None
    assert [e["code"] for e in answers[0]["errors"]] == ["SIGN_IN_FAILED"]


async def test_refresh_rotates_and_a_reused_token_ends_the_session(api: Any,
                                                                   sessions: Any) -> None:
    ids = await load_places(sessions)
    await make_account(sessions, ids, "zhaolei", "C1")
    first = (await _sign_in(api, "zhaolei"))["session"]
    second = (await api.data(REFRESH, {"t": first["refreshToken"]}))["refreshSession"]
    assert second["errors"] == [] and second["session"]["refreshToken"] != first["refreshToken"]
    reused = (await api.data(REFRESH, {"t": first["refreshToken"]}))["refreshSession"]
    assert reused == {"session": None, "errors": [{"code": "REUSED", "field": "refreshToken"}]}
    newest = (await api.data(REFRESH, {"t": second["session"]["refreshToken"]}))
    assert newest["refreshSession"]["errors"] == [{"code": "REVOKED", "field": "refreshToken"}]
    assert not (await _viewer(sessions, second["session"]["accessToken"])).authenticated


async def test_sign_out_ends_the_session(api: Any, sessions: Any) -> None:
    ids = await load_places(sessions)
    await make_account(sessions, ids, "zhaolei", "C1")
    session = (await _sign_in(api, "zhaolei"))["session"]
    out = await api.data(SIGN_OUT, {"t": session["refreshToken"]}, viewer=ANONYMOUS)
    assert out["signOut"] == {"signedOut": True, "errors": []}
    assert not (await _viewer(sessions, session["accessToken"])).authenticated
    again = await api.data(REFRESH, {"t": session["refreshToken"]})
    assert again["refreshSession"]["errors"] == [{"code": "REVOKED", "field": "refreshToken"}]


def _input(login: str, *territories: tuple[str, str | None],
           password: str = GOOD_PASSWORD) -> dict[str, Any]:
    return {"login": login, "name": "新同志", "password": password,
            "territories": [{"level": level, "id": pk} for level, pk in territories]}


async def test_a_community_administrator_creates_within_their_community(api: Any,
                                                                       sessions: Any) -> None:
    ids = await load_places(sessions)
    await make_account(sessions, ids, "zhaolei", "C1")
    _, viewer = await _session(api, sessions, "zhaolei")
    c1, c2 = encode_id("Community", ids["C1"]), encode_id("Community", ids["C2"])
    made = (await api.data(CREATE, {"input": _input("wanggang", ("COMMUNITY", c1))},
                           viewer=viewer))["createStaffAccount"]
    assert made["errors"] == [] and made["account"]["territories"] == [
        {"level": "COMMUNITY", "community": {"code": "C1"}}]
    for given, field in (((("CITY", None),), "input.territories[0]"),
                         ((("COMMUNITY", c2),), "input.territories[0]")):
        refused = (await api.data(CREATE, {"input": _input("liuyang", *given)},
                                  viewer=viewer))["createStaffAccount"]
        assert refused == {"account": None, "errors": [{"code": "FORBIDDEN", "field": field}]}
    listed = await api.data("{ staffAccounts { totalCount edges { node { login } } } }",
                            viewer=viewer)
    assert sorted(e["node"]["login"] for e in listed["staffAccounts"]["edges"]) == [
        "wanggang", "zhaolei"]


async def test_bad_account_input_names_the_field(api: Any, sessions: Any) -> None:
    ids = await load_places(sessions)
    await make_account(sessions, ids, "zhaolei", "C1")
    c1 = encode_id("Community", ids["C1"])
    cases = [
        (_input("zhaolei", ("COMMUNITY", c1)), ("LOGIN_TAKEN", "input.login")),
        (_input("newbie", ("COMMUNITY", c1), password="too-short"),
         ("WEAK_PASSWORD", "input.password")),
        (_input("newbie", ("COMMUNITY", c1), password="iloveyou1234"),
         ("WEAK_PASSWORD", "input.password")),
        (_input("newbie", ("COMMUNITY", encode_id("Community", 999))),
         ("NOT_FOUND", "input.territories[0].id")),
        (_input("newbie", ("COMMUNITY", encode_id("Grid", 1))),
         ("INVALID_ID", "input.territories[0].id")),
        (_input("newbie", ("SUBDISTRICT", None)), ("INVALID_VALUE", "input.territories[0].id")),
    ]
    for given, error in cases:
        answer = (await api.data(CREATE, {"input": given}))["createStaffAccount"]
        assert [(e["code"], e["field"]) for e in answer["errors"]] == [error], given
    listed = await api.data("{ staffAccounts { totalCount } }")
    assert listed["staffAccounts"]["totalCount"] == 1  # nothing changed


async def test_members_and_anonymous_callers_manage_no_accounts(api: Any, sessions: Any) -> None:
    member = Viewer(member_id=await make_member(sessions, "13800001111"))
    result = await api.run(CREATE, {"input": _input("x12", ("CITY", None))}, viewer=member)
    assert result.errors[0].extensions["code"] == "FORBIDDEN"
    result = await api.run("{ staffAccounts { totalCount } }", viewer=ANONYMOUS)
    assert result.errors[0].extensions["code"] == "FORBIDDEN"


async def test_deactivation_ends_the_accounts_sessions_at_once(api: Any, sessions: Any) -> None:
    ids = await load_places(sessions)
    account = await make_account(sessions, ids, "zhaolei", "C1")
    session, viewer = await _session(api, sessions, "zhaolei")
    assert viewer.authenticated
    changed = await api.data(UPDATE, {"id": encode_id("StaffAccount", account),
                                      "input": {"active": False, "name": "赵磊"}})
    assert changed["updateStaffAccount"] == {"account": {"active": False, "name": "赵磊"},
                                             "errors": []}
    assert not (await _viewer(sessions, session["accessToken"])).authenticated
    refreshed = await api.data(REFRESH, {"t": session["refreshToken"]})
    assert refreshed["refreshSession"]["errors"] == [{"code": "REVOKED",
                                                      "field": "refreshToken"}]


async def test_subdistricts_hold_communities_and_are_nodes(api: Any, sessions: Any) -> None:
    ids = await load_places(sessions)
    data = await api.data("""{ subdistricts(first: 1) { totalCount pageInfo { hasNextPage }
        edges { node { id code name communities { code subdistrict { code } } } } } }""")
    page = data["subdistricts"]
    assert (page["totalCount"], page["pageInfo"]["hasNextPage"]) == (2, True)
    node = page["edges"][0]["node"]
    assert (node["code"], node["communities"]) == ("S1", [
        {"code": "C1", "subdistrict": {"code": "S1"}},
        {"code": "C2", "subdistrict": {"code": "S1"}}])
    found = await api.data("""query($id: ID!) { node(id: $id) { ... on Subdistrict { name }
        } }""", {"id": node["id"]})
    assert found["node"] == {"name": "青山街道"}
    c4 = await api.data("""query($id: ID!) { node(id: $id) { ... on Community {
        subdistrict { code } } } }""", {"id": encode_id("Community", ids["C4"])})
    assert c4["node"] == {"subdistrict": None}


async def test_staff_account_nodes_only_within_territories(api: Any, sessions: Any) -> None:
    ids = await load_places(sessions)
    c3 = await make_account(sessions, ids, "c3admin", "C3")
    await make_account(sessions, ids, "s1admin", "S1")
    _, s1 = await _session(api, sessions, "s1admin")
    query = "query($id: ID!) { node(id: $id) { ... on StaffAccount { login } } }"
    ident = {"id": encode_id("StaffAccount", c3)}
    assert (await api.data(query, ident))["node"] == {"login": "c3admin"}
    assert (await api.data(query, ident, viewer=s1))["node"] is None
    member = Viewer(member_id=await make_member(sessions, "13800001111"))
    assert (await api.data(query, ident, viewer=member))["node"] is None
