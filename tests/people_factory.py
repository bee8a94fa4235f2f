"""Test data for people: two subdistricts with communities, accounts, members with phones."""

from __future__ import annotations

from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from domain.access import CITY, Territories
from domain.infra.db import transaction
from domain.people.accounts import create_account
from domain.people.models import TerritoryLevel
from domain.people.territories import Territory, of_level
from tests.factories import X0, Y0, box, collection, feature, load

#: A password that passes every rule.
GOOD_PASSWORD = "violet-harbour-lantern-42"


def places() -> dict[str, Any]:
    """Subdistrict S1 holding communities C1 and C2, S2 holding C3; C4 in none."""
    return collection(
        feature("subdistrict", box(X0, Y0, X0 + 0.04, Y0 + 0.02), code="S1", name="青山街道"),
        feature("subdistrict", box(X0 + 0.04, Y0, X0 + 0.08, Y0 + 0.02), code="S2",
                name="人民街道"),
        feature("community", box(X0, Y0, X0 + 0.02, Y0 + 0.01), code="C1", name="西湖社区",
                subdistrict="S1"),
        feature("community", box(X0 + 0.02, Y0, X0 + 0.04, Y0 + 0.01), code="C2",
                name="东湖社区", subdistrict="S1"),
        feature("community", box(X0 + 0.04, Y0, X0 + 0.06, Y0 + 0.01), code="C3",
                name="南湖社区", subdistrict="S2"),
        feature("community", box(X0 + 0.1, Y0, X0 + 0.12, Y0 + 0.01), code="C4",
                name="北湖社区"),
    )


async def load_places(sessions: async_sessionmaker[AsyncSession]) -> dict[str, int]:
    """Import `places()`; database ids by code."""
    await load(sessions, places())
    async with sessions() as session:
        rows = await session.execute(text(
            "SELECT code, id FROM subdistrict UNION ALL SELECT code, id FROM community"))
        return {r.code: r.id for r in rows}


def territory(ids: dict[str, int], code: str) -> Territory:
    """CITY for "city", else the subdistrict (S...) or community (C...) of that code."""
    if code == "city":
        return of_level(TerritoryLevel.CITY, None)
    level = TerritoryLevel.SUBDISTRICT if code.startswith("S") else TerritoryLevel.COMMUNITY
    return of_level(level, ids[code])


def scope_of(ids: dict[str, int], *codes: str) -> Territories:
    """Territories of a caller administering the places named."""
    if "city" in codes:
        return CITY
    return Territories(subdistrict_ids=frozenset(ids[c] for c in codes if c.startswith("S")),
                       community_ids=frozenset(ids[c] for c in codes if c.startswith("C")))


async def make_account(sessions: async_sessionmaker[AsyncSession], ids: dict[str, int],
                       login: str, *codes: str,
                       password: str = GOOD_PASSWORD) -> int:
    """An account with the territories named (created city-wide, as the command line does);
    its id."""
    async with transaction(sessions) as session:
        account = await create_account(session, scope=CITY, login=login, name=f"{login} 同志",
                                       password=password,
                                       territories=[territory(ids, c) for c in codes])
    return account.id or 0


async def make_member(sessions: async_sessionmaker[AsyncSession], phone: str,
                      status: str = "ACTIVE") -> int:
    """A member with this phone; its id."""
    async with transaction(sessions) as session:
        return int((await session.execute(text("""
            INSERT INTO member (name, phone, status, party_member)
            VALUES ('王红', :phone, :status, true)
            RETURNING id"""), {"phone": phone, "status": status})).scalar_one())
