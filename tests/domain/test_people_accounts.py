"""Staff accounts: created and changed within the caller's territories, bad input refused
naming the field with nothing changed, deactivation ending every session at once."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy import text

from domain.access import CITY, load_viewer
from domain.errors import InvalidInput
from domain.infra.db import transaction
from domain.people.accounts import AccountChange, accounts_page, create_account, update_account
from domain.people.sessions import start_session
from domain.people.territories import parse_territories
from tests.people_factory import (
    GOOD_PASSWORD,
    load_places,
    make_account,
    scope_of,
    territory,
)

NOW = datetime(2026, 12, 1, 10, 0, tzinfo=UTC)


async def _count(sessions: Any) -> int:
    async with sessions() as session:
        return int((await session.execute(text("SELECT count(*) FROM staff_account")))
                   .scalar_one())


async def _create(sessions: Any, ids: dict[str, int], scope: tuple[str, ...], *codes: str,
                  login: str = "liming", password: str = GOOD_PASSWORD) -> Any:
    async with transaction(sessions) as session:
        return await create_account(session, scope=scope_of(ids, *scope), login=login,
                                    name="李明", password=password,
                                    territories=[territory(ids, c) for c in codes])


async def _refused(sessions: Any, ids: dict[str, int], scope: tuple[str, ...], *codes: str,
                   **kwargs: Any) -> list[tuple[str, str | None]]:
    before = await _count(sessions)
    with pytest.raises(InvalidInput) as caught:
        await _create(sessions, ids, scope, *codes, **kwargs)
    assert await _count(sessions) == before  # nothing changed
    return [(e.code, e.field) for e in caught.value.errors]


async def test_an_account_is_created_within_the_callers_territories(sessions: Any) -> None:
    ids = await load_places(sessions)
    account = await _create(sessions, ids, ("S1",), "C1", "C2", login=" LiMing ")
    assert (account.login, account.active) == ("liming", True)
    async with sessions() as session:
        page = await accounts_page(session, scope=scope_of(ids, "S1"), first=10, after=None)
    assert [a.login for a in page.items] == ["liming"]


@pytest.mark.parametrize(("scope", "codes", "refused"), [
    (("C1",), ("city",), "input.territories[0]"),  # a community admin makes no city-wide one
    (("C1",), ("S1",), "input.territories[0]"),
    (("C1",), ("C1", "C2"), "input.territories[1]"),
    (("S1",), ("C3",), "input.territories[0]"),  # C3 is in S2
    (("S1",), ("C4",), "input.territories[0]"),  # C4 is in no subdistrict
])
async def test_territories_outside_the_callers_are_forbidden(
        sessions: Any, scope: tuple[str, ...], codes: tuple[str, ...], refused: str) -> None:
    ids = await load_places(sessions)
    assert await _refused(sessions, ids, scope, *codes) == [("FORBIDDEN", refused)]


async def test_bad_input_names_the_field_and_changes_nothing(sessions: Any) -> None:
    ids = await load_places(sessions)
    await _create(sessions, ids, ("city",), "C1", login="taken")
    assert await _refused(sessions, ids, ("city",), "C1", login="taken") == [
        ("LOGIN_TAKEN", "input.login")]
    assert await _refused(sessions, ids, ("city",), "C1", password="short") == [
        ("WEAK_PASSWORD", "input.password")]
    assert await _refused(sessions, ids, ("city",), "C1", password="password123456") == [
        ("WEAK_PASSWORD", "input.password")]
    assert await _refused(sessions, ids, ("city",), "C1", login="x") == [
        ("INVALID_VALUE", "input.login")]
    ids["C404"] = 404
    assert await _refused(sessions, ids, ("city",), "C1", "C404") == [
        ("NOT_FOUND", "input.territories[1].id")]
    assert await _refused(sessions, ids, ("city",)) == [("REQUIRED", "input.territories")]


async def test_command_line_territories_are_parsed_by_code(sessions: Any) -> None:
    ids = await load_places(sessions)
    async with sessions() as session:
        found = await parse_territories(session, ["city", "subdistrict:S1", "community:C3"])
        assert found == [territory(ids, "city"), territory(ids, "S1"), territory(ids, "C3")]
        for bad, code in (["community:NOPE"], "NOT_FOUND"), (["street:S1"], "INVALID_VALUE"):
            with pytest.raises(InvalidInput) as caught:
                await parse_territories(session, bad)
            assert [(e.code, e.field) for e in caught.value.errors] == [(code, "--territory")]


async def _session_of(sessions: Any, account_id: int) -> int:
    async with transaction(sessions) as session:
        return (await start_session(session, now=NOW, account_id=account_id)).session_id


async def _viewer(sessions: Any, account_id: int, session_id: int) -> Any:
    async with sessions() as session:
        return await load_viewer(session, admin=False, member_id=None, account_id=account_id,
                                 session_id=session_id)


async def test_deactivation_ends_every_session_at_once(sessions: Any) -> None:
    ids = await load_places(sessions)
    account = await make_account(sessions, ids, "zhaolei", "S1", "C3")
    first, second = (await _session_of(sessions, account),
                     await _session_of(sessions, account))
    viewer = await _viewer(sessions, account, first)
    assert (viewer.account_id, viewer.admin, viewer.scope) == (
        account, False, scope_of(ids, "S1", "C3"))
    async with transaction(sessions) as session:
        await update_account(session, scope=CITY, account_id=account,
                             change=AccountChange(active=False), now=NOW)
    assert not (await _viewer(sessions, account, first)).authenticated
    assert not (await _viewer(sessions, account, second)).authenticated


async def test_an_update_changes_name_password_and_territories(sessions: Any) -> None:
    ids = await load_places(sessions)
    account = await make_account(sessions, ids, "zhaolei", "C1")
    mine, other = (await _session_of(sessions, account),
                   await _session_of(sessions, account))
    async with transaction(sessions) as session:
        changed = await update_account(
            session, scope=scope_of(ids, "S1"), account_id=account, now=NOW, keep_session=mine,
            change=AccountChange(name="赵磊", password="another-fine-passphrase",
                                 territories=[territory(ids, "C2")]))
    assert changed.name == "赵磊"
    assert (await _viewer(sessions, account, mine)).scope == scope_of(ids, "C2")
    assert not (await _viewer(sessions, account, other)).authenticated  # password changed


async def test_an_account_outside_the_callers_territories_is_not_found(sessions: Any) -> None:
    ids = await load_places(sessions)
    account = await make_account(sessions, ids, "zhaolei", "C3")
    with pytest.raises(InvalidInput) as caught:
        async with transaction(sessions) as session:
            await update_account(session, scope=scope_of(ids, "S1"), account_id=account,
                                 change=AccountChange(active=False), now=NOW)
    assert [(e.code, e.field) for e in caught.value.errors] == [("NOT_FOUND", "id")]
    with pytest.raises(InvalidInput) as caught:
        async with transaction(sessions) as session:
            await update_account(session, scope=scope_of(ids, "S2"), account_id=account,
                                 change=AccountChange(territories=[territory(ids, "C1")]),
                                 now=NOW)
    assert [(e.code, e.field) for e in caught.value.errors] == [
        ("FORBIDDEN", "input.territories[0]")]
    async with sessions() as session:
        page = await accounts_page(session, scope=scope_of(ids, "S1"), first=10, after=None)
        assert page.items == []
        page = await accounts_page(session, scope=scope_of(ids, "S2"), first=10, after=None)
        assert [a.login for a in page.items] == ["zhaolei"]
