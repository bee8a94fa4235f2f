"""Staff accounts: created and changed within the caller's territories.

`scope` is where the caller administers (domain.access.Viewer.scope; CITY for the command
line). An account is within the caller's territories when every one of its territories is;
outside them it is as if it did not exist (NOT_FOUND).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from domain.access import Territories
from domain.errors import InvalidInput
from domain.infra.paging import Page, fetch_page
from domain.people.audit import CLI, record
from domain.people.models import AccountTerritory, StaffAccount, TerritoryLevel
from domain.people.passwords import check_password, hash_password
from domain.people.sessions import end_account_sessions
from domain.people.territories import Territory, check_territories
from domain.visibility import Kind, staff_of, visible_clause, visible_ids

_LOGIN = re.compile(r"[a-z0-9][a-z0-9._-]{2,63}")


@dataclass(frozen=True)
class AccountChange:
    """What updateStaffAccount changes: None leaves a value as it is."""

    name: str | None = None
    password: str | None = None
    active: bool | None = None
    territories: list[Territory] | None = None


def normalize_login(login: str) -> str:
    """Logins compare without case and surrounding spaces."""
    return login.strip().lower()


def _check_login(login: str, field: str) -> str:
    value = normalize_login(login)
    if not _LOGIN.fullmatch(value):
        raise InvalidInput.one("INVALID_VALUE", "a login has 3 to 64 letters, digits, dots, "
                               "dashes or underscores, starting with a letter or digit", field)
    return value


def _check_name(name: str, field: str) -> str:
    value = name.strip()
    if not value or len(value) > 100:
        raise InvalidInput.one("INVALID_VALUE", "a name has 1 to 100 characters", field)
    return value


async def create_account(session: AsyncSession, *, scope: Territories, login: str, name: str,
                         password: str, territories: Sequence[Territory],
                         field: str = "input", actor: str = CLI) -> StaffAccount:
    """A new active account with these territories, each within `scope`; InvalidInput naming
    the field for a bad login, a login taken, a weak password or a territory that does not
    exist or lies outside `scope`. Recorded as ACCOUNT_CREATED by `actor`."""
    value = _check_login(login, f"{field}.login")
    clean_name = _check_name(name, f"{field}.name")
    check_password(password, login=value, field=f"{field}.password")
    await check_territories(session, territories, scope=scope, field=f"{field}.territories")
    taken = await session.execute(text("SELECT 1 FROM staff_account WHERE login = :login"),
                                  {"login": value})
    if taken.first() is not None:
        raise InvalidInput.one("LOGIN_TAKEN", f"the login {value!r} is taken", f"{field}.login")
    account = StaffAccount(login=value, name=clean_name,
                           password_hash=await hash_password(password))
    session.add(account)
    await session.flush()
    await _set_territories(session, account.id or 0, territories)
    await session.refresh(account)
    await _record(session, actor, "ACCOUNT_CREATED", account, territories,
                  {"after": _snapshot(account, territories)})
    return account


def _snapshot(account: StaffAccount, territories: Sequence[Territory]) -> dict[str, object]:
    """What the audit trail keeps of an account: never its password hash."""
    return {"login": account.login, "name": account.name, "active": account.active,
            "territories": [{"level": t.level.value, "subdistrict": t.subdistrict_id,
                             "community": t.community_id} for t in territories]}


async def _record(session: AsyncSession, actor: str, action: str, account: StaffAccount,
                  territories: Sequence[Territory], detail: dict[str, object]) -> None:
    """An entry about `account`, in the community of its first COMMUNITY territory (else
    none: for city-wide callers)."""
    community = next((t.community_id for t in territories if t.community_id is not None), None)
    await record(session, actor=actor, action=action, subject=("StaffAccount", account.id or 0),
                 community_id=community, detail=detail)


async def _set_territories(session: AsyncSession, account_id: int,
                           territories: Sequence[Territory]) -> None:
    await session.execute(text("DELETE FROM account_territory WHERE account_id = :id"),
                          {"id": account_id})
    for t in dict.fromkeys(territories):  # once each, in the order given
        session.add(AccountTerritory(account_id=account_id, level=t.level.value,
                                     subdistrict_id=t.subdistrict_id,
                                     community_id=t.community_id))
    await session.flush()


async def update_account(session: AsyncSession, *, scope: Territories, account_id: int,
                         change: AccountChange, now: datetime, keep_session: int | None = None,
                         field: str = "input", actor: str = CLI) -> StaffAccount:
    """Change an account within `scope`. `active=False` ends every session of it at once; a
    new password ends every session but `keep_session` (the caller's own). Recorded as
    ACCOUNT_UPDATED by `actor`, before and after (a new password only as `credentialChanged`)."""
    account = await visible_account(session, scope=scope, account_id=account_id)
    if account is None:
        raise InvalidInput.one("NOT_FOUND", "no staff account with this id within your "
                               "territories", "id")
    (before_territories,) = await territories_of(session, [account_id])
    before = _snapshot(account, before_territories)
    if change.name is not None:
        account.name = _check_name(change.name, f"{field}.name")
    if change.password is not None:
        check_password(change.password, login=account.login, field=f"{field}.password")
    if change.territories is not None:
        await check_territories(session, change.territories, scope=scope,
                                field=f"{field}.territories")
        await _set_territories(session, account_id, change.territories)
    if change.password is not None:
        account.password_hash = await hash_password(change.password)
        await end_account_sessions(session, account_id=account_id, now=now,
                                   reason="PASSWORD_CHANGED", keep=keep_session)
    if change.active is not None:
        account.active = change.active
        if not change.active:
            await end_account_sessions(session, account_id=account_id, now=now,
                                       reason="DEACTIVATED")
    session.add(account)
    await session.flush()
    after_territories = (before_territories if change.territories is None
                         else list(change.territories))
    await _record(session, actor, "ACCOUNT_UPDATED", account, after_territories,
                  {"before": before, "after": _snapshot(account, after_territories),
                   "credentialChanged": change.password is not None})
    return account


async def territories_of(session: AsyncSession,
                         account_ids: Sequence[int]) -> list[list[Territory]]:
    """The territories of each account, in the order of `account_ids`."""
    rows = (await session.execute(select(AccountTerritory).where(
        col(AccountTerritory.account_id).in_(list(account_ids))).order_by(
        col(AccountTerritory.id)))).scalars()
    found: dict[int, list[Territory]] = {}
    for row in rows:
        found.setdefault(row.account_id, []).append(Territory(
            TerritoryLevel(row.level), row.subdistrict_id, row.community_id))
    return [found.get(pk, []) for pk in account_ids]


async def visible_account(session: AsyncSession, *, scope: Territories,
                          account_id: int) -> StaffAccount | None:
    """The account, when it lies within `scope`."""
    if not await visible_ids(session, staff_of(scope), Kind.STAFF_ACCOUNT, [account_id]):
        return None
    return await session.get(StaffAccount, account_id)



async def accounts_page(session: AsyncSession, *, scope: Territories, first: int,
                        after: int | None) -> Page[StaffAccount]:
    """The accounts within `scope` (every territory of theirs within it), by id."""
    stmt = select(StaffAccount).where(
        visible_clause(staff_of(scope), Kind.STAFF_ACCOUNT, StaffAccount))
    return await fetch_page(session, stmt, col(StaffAccount.id), first=first, after=after)
