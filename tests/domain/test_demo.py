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
