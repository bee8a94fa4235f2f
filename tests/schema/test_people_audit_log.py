"""auditLog within the caller's territories, each filter, paging newest first, AuditEntry
nodes; PHONE_REVEALED for every unmasked phone of someone else, one insert per operation
however many phones it carried."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import text

from domain.access import ANONYMOUS, Viewer
from domain.infra.db import transaction
from domain.requests.submit import NewRequest, submit_request
from schema.common.ids import encode_id
from tests.people_factory import load_places, scope_of
from tests.requests_factory import B1_POINT, TUNING, community_with_stewards
from tests.schema.test_n_plus_one import counting
from tests.schema.test_people_audit_api import entries

T0 = datetime(2026, 11, 1, tzinfo=UTC)
LOG = """query($s: ID, $a: String, $x: String, $since: DateTime, $until: DateTime, $first: Int,
               $after: String) {
  auditLog(subjectId: $s, actor: $a, action: $x, since: $since, until: $until, first: $first,
           after: $after) {
    edges { node { id at actor action subjectId community { code } detail } }
    pageInfo { hasNextPage endCursor } totalCount } }"""


async def _seed(sessions: Any, ids: dict[str, int]) -> None:
    """Entries (by hour from T0) in C1, C2 (both S1), C3 (S2) and none; actions and actors
    varied."""
    rows = [("account:1", "SIGN_IN", "StaffAccount", 1, None),
            ("account:1", "PHONE_REVEALED", "Member", 5, ids["C1"]),
            ("member:5", "SIGN_IN", "Member", 5, ids["C1"]),
            ("account:2", "PHONE_REVEALED", "Member", 6, ids["C2"]),
            ("account:3", "REQUEST_ASSIGNED", "ServiceRequest", 9, ids["C3"])]
    async with transaction(sessions) as session:
        await session.execute(text("TRUNCATE audit_entry RESTART IDENTITY"))
        for hour, (actor, action, kind, pk, community) in enumerate(rows):
            await session.execute(text("""
                INSERT INTO audit_entry (at, actor, action, subject_type, subject_id,
                                         community_id, detail)
                VALUES (:at, :actor, :action, :kind, :pk, :community, '{"n": 1}')"""),
                {"at": T0 + timedelta(hours=hour), "actor": actor, "action": action,
                 "kind": kind, "pk": pk, "community": community})


def _staff(ids: dict[str, int], *codes: str) -> Viewer:
    scope = scope_of(ids, *codes)
    return Viewer(admin=scope.city, account_id=50, session_id=1, territories=scope)


async def _log(api: Any, viewer: Viewer, **variables: Any) -> dict[str, Any]:
    return dict((await api.data(LOG, variables, viewer=viewer))["auditLog"])


def _actions(page: dict[str, Any]) -> list[tuple[str, str]]:
    return [(e["node"]["actor"], e["node"]["action"]) for e in page["edges"]]


async def test_the_log_answers_within_territories(api: Any, sessions: Any) -> None:
    ids = await load_places(sessions)
    await _seed(sessions, ids)
    city = await _log(api, _staff(ids, "city"))
    assert city["totalCount"] == 5
    assert _actions(city)[0] == ("account:3", "REQUEST_ASSIGNED")  # newest first
    assert [e["node"]["community"] for e in city["edges"]][-1] is None
    assert _actions(await _log(api, _staff(ids, "C1"))) == [
        ("member:5", "SIGN_IN"), ("account:1", "PHONE_REVEALED")]
    assert (await _log(api, _staff(ids, "S1")))["totalCount"] == 3
    assert _actions(await _log(api, _staff(ids, "C3"))) == [("account:3", "REQUEST_ASSIGNED")]
    assert (await _log(api, _staff(ids, "C4")))["totalCount"] == 0
    for viewer in (ANONYMOUS, Viewer(member_id=5)):
        result = await api.run(LOG, {}, viewer=viewer)
        assert result.errors[0].extensions["code"] == "FORBIDDEN"
    c3_entry = city["edges"][0]["node"]["id"]
    node = "query($id: ID!) { node(id: $id) { id ... on AuditEntry { action } } }"
    assert (await api.data(node, {"id": c3_entry}, viewer=_staff(ids, "C1")))["node"] is None
    assert (await api.data(node, {"id": c3_entry}, viewer=_staff(ids, "S2")))["node"] == {
        "id": c3_entry, "action": "REQUEST_ASSIGNED"}
    assert (await api.data(node, {"id": c3_entry}, viewer=Viewer(member_id=5)))["node"] is None


async def test_each_filter_and_paging(api: Any, sessions: Any) -> None:
    ids = await load_places(sessions)
    await _seed(sessions, ids)
    city = _staff(ids, "city")
    member5 = encode_id("Member", 5)
    by_subject = await _log(api, city, s=member5)
    assert _actions(by_subject) == [("member:5", "SIGN_IN"), ("account:1", "PHONE_REVEALED")]
    assert {e["node"]["subjectId"] for e in by_subject["edges"]} == {member5}
    assert (await _log(api, city, a="account:1"))["totalCount"] == 2
    assert _actions(await _log(api, city, x="PHONE_REVEALED")) == [
        ("account:2", "PHONE_REVEALED"), ("account:1", "PHONE_REVEALED")]
    window = await _log(api, city, since=(T0 + timedelta(hours=1)).isoformat(),
                        until=(T0 + timedelta(hours=3)).isoformat())
    assert _actions(window) == [("member:5", "SIGN_IN"), ("account:1", "PHONE_REVEALED")]
    assert (await _log(api, city, a="account:1", x="SIGN_IN"))["totalCount"] == 1
    first = await _log(api, city, first=2)
    assert first["pageInfo"]["hasNextPage"] and first["totalCount"] == 5
    rest = await _log(api, city, first=10, after=first["pageInfo"]["endCursor"])
    assert len(rest["edges"]) == 3 and not rest["pageInfo"]["hasNextPage"]
    assert _actions(rest)[-1] == ("account:1", "SIGN_IN")
    assert city and first["edges"][0]["node"]["detail"] == {"n": 1}
    naive = await api.run(LOG, {"since": "2026-11-01T00:00:00"}, viewer=city)
    assert naive.errors  # the DateTime scalar insists on an offset


MEMBERS = """{ members(first: 500) { edges { node { id phone } } } }"""


async def _reveals(sessions: Any) -> list[Any]:
    return await entries(sessions, "PHONE_REVEALED")


async def _inserts(api: Any, engine: Any, query: str, viewer: Viewer) -> int:
    with counting(engine) as statements:
        await api.data(query, viewer=viewer)
    return len([s for s in statements if "INSERT INTO audit_entry" in s])


async def test_phone_reveals_are_one_insert_per_operation(api: Any, sessions: Any,
                                                          engine: Any) -> None:
    stewards = await community_with_stewards(sessions, 30)
    admin = Viewer(account_id=7, session_id=1, admin=True)
    assert await _inserts(api, engine, MEMBERS, admin) == 1
    revealed = await _reveals(sessions)
    assert len(revealed) == 30 and {e.actor for e in revealed} == {"account:7"}
    assert sorted(e.subject_id for e in revealed) == sorted(stewards)
    assert revealed[0].detail == {"whose": "member", "path": "members.edges.0.node.phone"}
    assert revealed[0].community_id is not None
    own = "query($id: ID!) { node(id: $id) { ... on Member { phone } } }"
    for viewer in (Viewer(member_id=stewards[0]), ANONYMOUS, Viewer(member_id=stewards[1])):
        with counting(engine) as statements:
            result = await api.run(own, {"id": encode_id("Member", stewards[0])},
                                   viewer=viewer)
        assert not [s for s in statements if "INSERT INTO audit_entry" in s], result
    assert len(await _reveals(sessions)) == 30  # their own phone, or masked: no reveal


async def test_a_requests_contact_phone_is_a_reveal_but_not_to_its_submitter(
        api: Any, sessions: Any) -> None:
    await community_with_stewards(sessions, 1)
    async with transaction(sessions) as session:
        request = (await submit_request(session, NewRequest(
            category="MAINTENANCE", description="楼道灯不亮", point=B1_POINT,
            contact_phone="13912345678"), now=datetime.now(UTC), tuning=TUNING)).request_id
    query = "query($id: ID!) { node(id: $id) { ... on ServiceRequest { contactPhone } } }"
    shown = await api.data(query, {"id": encode_id("ServiceRequest", request)})
    assert shown["node"]["contactPhone"] == "13912345678"
    (entry,) = await _reveals(sessions)
    assert (entry.subject_type, entry.subject_id) == ("ServiceRequest", request)
    assert entry.detail == {"whose": "contact", "path": "node.contactPhone"}
    assert entry.community_id is not None and "13912345678" not in str(entry.detail)
    submitted = await api.data(
        """mutation($input: SubmitRequestInput!) { submitServiceRequest(input: $input) {
            request { contactPhone } } }""",
        {"input": {"category": "MAINTENANCE", "description": "水管漏水",
                   "contactPhone": "13912345678",
                   "point": {"lon": B1_POINT[0], "lat": B1_POINT[1]}}}, viewer=ANONYMOUS)
    assert submitted["submitServiceRequest"]["request"]["contactPhone"] == "13912345678"
    assert len(await _reveals(sessions)) == 1
