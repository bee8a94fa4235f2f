"""Test data for the organisation area: subdistrict S1 with community C1 (grids G1 west and
G2 east) and community C2 (grid G3); buildings B1, B2, B3 side by side in G1, B4 in G2, B5 in
G3, B6 far from B1-B3 in G1; staff of C1, of C2 and of S1 as viewers; members made to measure."""

from __future__ import annotations

from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from domain.access import Territories, Viewer
from domain.infra.db import transaction
from domain.spatial.members import NewMember, create_member
from schema.common.ids import encode_id
from tests.factories import X0, Y0, box, collection, feature, load

CITY_STAFF = Viewer(admin=True)


def organisation_places() -> dict[str, Any]:
    """The places above (no building groups: the tests form them)."""
    return collection(
        feature("subdistrict", box(X0, Y0, X0 + 0.04, Y0 + 0.02), code="S1", name="青山街道"),
        feature("community", box(X0, Y0, X0 + 0.02, Y0 + 0.01), code="C1", name="西湖新村社区",
                subdistrict="S1"),
        feature("community", box(X0 + 0.02, Y0, X0 + 0.04, Y0 + 0.01), code="C2",
                name="东湖社区", subdistrict="S1"),
        feature("grid", box(X0, Y0, X0 + 0.01, Y0 + 0.01), code="G1", name="第一网格",
                community="C1"),
        feature("grid", box(X0 + 0.01, Y0, X0 + 0.02, Y0 + 0.01), code="G2", name="第二网格",
                community="C1"),
        feature("grid", box(X0 + 0.02, Y0, X0 + 0.04, Y0 + 0.01), code="G3", name="东湖网格",
                community="C2"),
        *[feature("building", box(X0 + 0.002 + i * 0.0004, Y0 + 0.005,
                                  X0 + 0.0023 + i * 0.0004, Y0 + 0.0053),
                  code=f"B{i + 1}", address=f"船山路{61 + i}号") for i in range(3)],
        feature("building", box(X0 + 0.015, Y0 + 0.005, X0 + 0.0153, Y0 + 0.0053), code="B4",
                address="学宫巷3号"),
        feature("building", box(X0 + 0.03, Y0 + 0.005, X0 + 0.0303, Y0 + 0.0053), code="B5",
                address="东湖路1号"),
        feature("building", box(X0 + 0.009, Y0 + 0.009, X0 + 0.0093, Y0 + 0.0093), code="B6",
                address="船山路99号"),
    )


async def load_organisation_places(sessions: async_sessionmaker[AsyncSession]) -> dict[str, int]:
    """Import the places; database ids by code (subdistrict, communities, grids, buildings)."""
    await load(sessions, organisation_places())
    async with sessions() as session:
        rows = await session.execute(text(
            "SELECT code, id FROM subdistrict UNION ALL SELECT code, id FROM community "
            "UNION ALL SELECT code, id FROM grid UNION ALL SELECT code, id FROM building"))
        return {r.code: r.id for r in rows}


def staff(ids: dict[str, int], *codes: str, account_id: int = 900) -> Viewer:
    """A staff account's caller administering the communities (C...) or subdistricts (S...)
    named, as `load_viewer` would make it (S1 holds C1 and C2; no account row is needed by
    the organisation area)."""
    communities = {ids[c] for c in codes if c.startswith("C")}
    if "S1" in codes:
        communities |= {ids["C1"], ids["C2"]}
    return Viewer(account_id=account_id, session_id=account_id, territories=Territories(
        subdistrict_ids=frozenset(ids[c] for c in codes if c.startswith("S")),
        community_ids=frozenset(ids[c] for c in codes if c.startswith("C"))),
        communities=frozenset(communities))


async def member(sessions: async_sessionmaker[AsyncSession], ids: dict[str, int],
                 building: str, name: str = "王红", **given: Any) -> int:
    """A member living in `building` (ACTIVE party member unless told); their id."""
    async with transaction(sessions) as session:
        row = await create_member(session, NewMember(name=name, building_id=ids[building],
                                                     **given))
    return row.id or 0


def gid(type_name: str, pk: int) -> str:
    """The public id of a row."""
    return encode_id(type_name, pk)


async def refused(api: Any, query: str, variables: dict[str, Any], viewer: Viewer) -> Any:
    """The (code, field) of the top-level error the permission layer answers (FORBIDDEN for
    a row outside the caller's territories), with no data."""
    result = await api.run(query, variables, viewer=viewer)
    assert result.errors, result.data
    assert result.data is None or all(v is None for v in result.data.values())
    return result.errors[0].extensions["code"], result.errors[0].extensions.get("field")
