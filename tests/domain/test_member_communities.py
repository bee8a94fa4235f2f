"""member_community (migration 0022) stays what the visibility rule says after every change
that decides a member's communities: a member moving group or home, a building moving group
or grid, a group moving grid, a grid moving community, grid workers added, moved and
removed, members added and deleted, grid_worker emptied. After each, the table, the member
lists of staff of each community and subdistrict, and `members(scope: {communityId})` are
compared with the rule's reference answer, read from the places themselves (the members of
the territory's grids: by their group, their home, their grid work; the scope without homes).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from domain.access import Territories, Viewer
from domain.infra.db import transaction
from domain.infra.paging import Count, count_rows
from domain.spatial.directory import Scope, list_members

#: S1 holds C1 (grids G1, G2) and C2 (G3); S2 holds C3 (G4). A group and two buildings a grid.
WORLD = """
INSERT INTO subdistrict (id, code, name) VALUES (1, 'S1', '一街道'), (2, 'S2', '二街道');
INSERT INTO community (id, code, name, subdistrict_id)
VALUES (1, 'C1', '一社区', 1), (2, 'C2', '二社区', 1), (3, 'C3', '三社区', 2);
INSERT INTO grid (id, code, name, community_id, boundary)
SELECT g, 'G' || g, '网格' || g, CASE g WHEN 1 THEN 1 WHEN 2 THEN 1 WHEN 3 THEN 2 ELSE 3 END,
       ST_Multi(ST_MakeEnvelope(112.0 + g * 0.01, 28.0, 112.01 + g * 0.01, 28.01, 4326))
FROM generate_series(1, 4) AS g;
INSERT INTO building_group (id, code, name, grid_id)
SELECT g, 'L' || g, '党小组' || g, g FROM generate_series(1, 4) AS g;
INSERT INTO building (id, code, address, address_key, location, grid_id, group_id)
SELECT b, 'B' || b, '船山路' || b || '号', '船山路' || b || '号',
       ST_SetSRID(ST_MakePoint(112.005 + ((b + 1) / 2) * 0.01, 28.005), 4326), (b + 1) / 2,
       (b + 1) / 2
FROM generate_series(1, 8) AS b;
INSERT INTO member (id, name, party_member, status, group_id, building_id)
SELECT id, name, true, 'ACTIVE', g, b FROM (VALUES (1, '甲', 1, 1), (2, '乙', 2, 3),
  (3, '丙', 3, 5), (4, '丁', 4, 7), (5, '戊', NULL, 2), (6, '己', 1, 6), (7, '庚', NULL, NULL),
  (8, '辛', NULL, NULL))
  AS v (id, name, g, b);
INSERT INTO grid_worker (member_id, grid_id) VALUES (7, 1), (7, 3), (8, 4);
SELECT setval(pg_get_serial_sequence('member', 'id'), 8);
"""

#: The rule's reference answer: (community, member, through group or grid work) of every
#: member, from the places (what 0020's visibility rule read).
REFERENCE = """
SELECT g.community_id, m.id, true FROM member m JOIN building_group bg ON bg.id = m.group_id
  JOIN grid g ON g.id = bg.grid_id
UNION SELECT g.community_id, m.id, false FROM member m JOIN building b ON b.id = m.building_id
  JOIN grid g ON g.id = b.grid_id
UNION SELECT g.community_id, gw.member_id, true FROM grid_worker gw
  JOIN grid g ON g.id = gw.grid_id
"""

TERRITORIES = {
    "C1": Territories(community_ids=frozenset({1})),
    "C2": Territories(community_ids=frozenset({2})),
    "C3": Territories(community_ids=frozenset({3})),
    "S1": Territories(subdistrict_ids=frozenset({1})),
    "S2": Territories(subdistrict_ids=frozenset({2})),
    "C1+S2": Territories(subdistrict_ids=frozenset({2}), community_ids=frozenset({1})),
}
COMMUNITIES_OF = {"C1": {1}, "C2": {2}, "C3": {3}, "S1": {1, 2}, "S2": {3}, "C1+S2": {1, 3}}

Change = Callable[[AsyncSession], Awaitable[Any]]


def _sql(statement: str) -> Change:
    async def run(session: AsyncSession) -> None:
        await session.execute(text(statement))
    return run


CHANGES: dict[str, list[str]] = {
    "a member moves group": ["UPDATE member SET group_id = 3 WHERE id = 1"],
    "a member leaves their group": ["UPDATE member SET group_id = NULL WHERE id = 6"],
    "a member moves home": ["UPDATE member SET building_id = 7 WHERE id = 5"],
    "a member moves group and home": ["UPDATE member SET group_id = 4, building_id = 8 "
                                      "WHERE id = 2"],
    "a building moves group": ["UPDATE building SET group_id = 3 WHERE id = 1"],
    "a building moves grid": ["UPDATE building SET grid_id = 4 WHERE id = 6"],
    "a group moves grid": ["UPDATE building_group SET grid_id = 4 WHERE id = 1"],
    "a grid moves community": ["UPDATE grid SET community_id = 3 WHERE id = 2"],
    "a grid worker is added": ["INSERT INTO grid_worker (member_id, grid_id) VALUES (1, 4)"],
    "a grid worker is removed": ["DELETE FROM grid_worker WHERE member_id = 7 AND grid_id = 3"],
    "a grid worker moves grid": ["UPDATE grid_worker SET grid_id = 2 WHERE member_id = 8"],
    "a grid's workers are replaced": ["DELETE FROM grid_worker WHERE grid_id = 1",
                                      "INSERT INTO grid_worker (member_id, grid_id) "
                                      "VALUES (4, 1), (5, 1)"],
    "grid_worker is emptied": ["TRUNCATE grid_worker"],
    "a member is added": ["INSERT INTO member (name, party_member, status, group_id, "
                          "building_id) VALUES ('壬', true, 'ACTIVE', 3, 8)"],
    "a member is deleted": ["DELETE FROM grid_worker WHERE member_id = 7",
                            "DELETE FROM member WHERE id = 7"],
    "a grid worker's grid is deleted": ["UPDATE building SET grid_id = NULL WHERE grid_id = 4",
                                        "UPDATE building_group SET grid_id = NULL "
                                        "WHERE grid_id = 4", "DELETE FROM grid WHERE id = 4"],
}


async def _rows(session: AsyncSession, sql: str) -> set[tuple[int, int, bool]]:
    return {(int(c), int(m), bool(p)) for c, m, p in (await session.execute(text(sql))).all()}


def _reference_members(rows: set[tuple[int, int, bool]], communities: set[int], *,
                       placed_only: bool) -> list[int]:
    return sorted({m for c, m, p in rows if c in communities and (p or not placed_only)})


async def _listed(session: AsyncSession, viewer: Viewer | None, scope: Scope) -> list[int]:
    """Every id the list pages out, two at a time, unfiltered and filtered (every member is
    ACTIVE): the same ids, and as many as the count says."""
    pages: list[list[int]] = []
    for status in (None, "ACTIVE"):
        ids: list[int] = []
        after: int | None = None
        while True:
            page = await list_members(session, scope=scope, role=None, skill=None,
                                      status=status, first=2, after=after, viewer=viewer)
            ids += [int(m.id) for m in page.items if m.id is not None]
            if not page.has_next:
                break
            after = ids[-1]
        assert page.listed is not None
        count = page.known if page.known is not None else await count_rows(session, page.listed)
        assert count == Count(len(ids), exact=True)
        pages.append(ids)
    assert pages[0] == pages[1]
    return pages[0]


async def _assert_as_the_rule_says(sessions: async_sessionmaker[AsyncSession]) -> None:
    async with sessions() as session:
        reference = await _rows(session, REFERENCE)
        kept = await _rows(session, "SELECT community_id, member_id, placed "
                                    "FROM member_community")
        # one row a member and community, placed when any of its ways is a group or grid work
        expected = {(c, m, any(p for c2, m2, p in reference if (c2, m2) == (c, m)))
                    for c, m, _ in reference}
        assert kept == expected
        for name, territories in TERRITORIES.items():
            viewer = Viewer(account_id=1, territories=territories,
                            communities=frozenset(COMMUNITIES_OF[name]))
            assert await _listed(session, viewer, Scope()) == _reference_members(
                reference, COMMUNITIES_OF[name], placed_only=False), name
        for community in (1, 2, 3):
            assert await _listed(session, None, Scope(community_id=community)) == \
                _reference_members(reference, {community}, placed_only=True), community


@pytest.mark.parametrize("change", list(CHANGES))
async def test_member_communities_follow_every_change(sessions: Any, change: str) -> None:
    async with transaction(sessions) as session:
        for statement in WORLD.split(";"):
            if statement.strip():
                await session.execute(text(statement))
    await _assert_as_the_rule_says(sessions)
    async with sessions() as session:
        before = await _rows(session, REFERENCE)
    async with transaction(sessions) as session:
        for statement in CHANGES[change]:
            await session.execute(text(statement))
    async with sessions() as session:
        after = await _rows(session, REFERENCE)
    if change != "a building moves group":  # the rule does not read a building's group
        assert after != before, "the change must change what the rule says"
    await _assert_as_the_rule_says(sessions)


async def test_the_rebuild_gives_what_the_triggers_kept(sessions: Any) -> None:
    """A load that skipped the triggers (the city build) runs member_community_rebuild():
    the same rows."""
    async with transaction(sessions) as session:
        await session.execute(text("SET LOCAL session_replication_role = replica"))
        for statement in WORLD.split(";"):
            if statement.strip():
                await session.execute(text(statement))
    async with sessions() as session:
        assert await _rows(session, "SELECT community_id, member_id, placed "
                                    "FROM member_community") == set()
    async with transaction(sessions) as session:
        await session.execute(text("SELECT member_community_rebuild()"))
    await _assert_as_the_rule_says(sessions)
