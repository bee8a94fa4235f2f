"""The demo community loads, loads again without change, and answers coverage."""

from __future__ import annotations

from typing import Any

from sqlalchemy import text

from domain.demo import load_demo
from domain.infra.db import transaction
from domain.spatial.coverage import cover_address

COUNTS = """SELECT (SELECT count(*) FROM community), (SELECT count(*) FROM grid),
  (SELECT count(*) FROM building), (SELECT count(*) FROM building WHERE grid_id IS NULL
   OR group_id IS NULL), (SELECT count(*) FROM building_group WHERE leader_id IS NULL),
  (SELECT count(*) FROM member), (SELECT count(*) FROM grid_worker)"""


async def _counts(sessions: Any) -> tuple[int, ...]:
    async with sessions() as session:
        return tuple((await session.execute(text(COUNTS))).one())


async def test_demo_is_complete_and_idempotent(sessions: Any) -> None:
    for _ in range(2):
        async with transaction(sessions) as session:
            loaded = await load_demo(session)
        assert (loaded.features.grids, loaded.features.buildings) == (4, 27)
        communities, grids, buildings, orphans, leaderless, members, workers = (
            await _counts(sessions))
        assert (communities, grids, buildings, orphans, leaderless) == (1, 4, 27, 0, 0)
        assert members >= 60 and workers >= 4


async def test_demo_address_finds_its_group(sessions: Any, session: Any) -> None:
    async with transaction(sessions) as tx:
        await load_demo(tx)
    found = await cover_address(session, "湖南省衡阳市石鼓区船山路六十三号")
    assert found is not None and found.group_id is not None
    group = (await session.execute(text("SELECT name FROM building_group WHERE id = :id"),
                                   {"id": found.group_id})).scalar_one()
    assert "船山路63号" in group


async def test_demo_runs_the_organisation(sessions: Any) -> None:
    """Issue 11, point 7: a property company and an owners' committee, two candidates on
    notice, a suspended member with the reason in their history, a grid with two boundary
    versions; the same after loading again."""
    for _ in range(2):
        async with transaction(sessions) as session:
            loaded = await load_demo(session)
        assert loaded.organisations == 2
        async with sessions() as session:
            kinds = sorted((await session.execute(text(
                "SELECT kind FROM organisation"))).scalars())
            on_notice = (await session.execute(text(
                "SELECT count(*) FROM candidate_notice n JOIN member m ON m.id = n.member_id "
                "WHERE m.status = 'CANDIDATE' AND n.ends_at > now()"))).scalar()
            suspension = (await session.execute(text(
                "SELECT h.reason FROM member_status_change h JOIN member m ON m.id = h.member_id "
                "WHERE m.code = 'M057' AND h.to_status = 'SUSPENDED'"))).scalars().all()
            versions = (await session.execute(text(
                "SELECT g.code, count(*) FROM grid_boundary_version v JOIN grid g "
                "ON g.id = v.grid_id GROUP BY g.code ORDER BY g.code"))).all()
        assert kinds == ["OWNERS_COMMITTEE", "PROPERTY_COMPANY"]
        assert on_notice == 2
        assert suspension == ["因病暂停服务"]
        assert [tuple(v) for v in versions] == [("XHXC-G1", 2), ("XHXC-G2", 1), ("XHXC-G3", 1),
                                                ("XHXC-G4", 1)]
