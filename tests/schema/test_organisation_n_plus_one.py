"""The organisation area's nested fields cost one statement per level, however many objects
(the loaders of schema.common.loaders): organisations' members with their organisation,
history and notice; grids' boundary versions."""

from __future__ import annotations

from typing import Any

from sqlalchemy import text

from tests.factories import load
from tests.schema.test_n_plus_one import city, counting

NESTED = """{
  organisations(first: 100) { edges { node { name community { code }
    members { name organisation { name } history { toStatus } notice { endsAt } } } } }
  grids(first: 100) { edges { node { code boundaryVersions { validFrom } } } }
}"""


async def _statements_for(api: Any, engine: Any, sessions: Any, grids: int) -> int:
    await load(sessions, city(grids, 2))
    async with sessions.begin() as session:
        await session.execute(text("""
            INSERT INTO organisation (name, kind, community_id)
            SELECT '单位' || n, 'ENTERPRISE', (SELECT id FROM community) FROM
            generate_series(1, :n) n"""), {"n": grids})
        await session.execute(text("""
            INSERT INTO member (name, party_member, status, organisation_id, building_id)
            SELECT '成员' || o.id || '-' || n, true, 'CANDIDATE', o.id,
                   (SELECT min(id) FROM building)
            FROM organisation o, generate_series(1, 3) n"""))
        await session.execute(text("""
            INSERT INTO member_status_change (member_id, at, to_status, actor)
            SELECT id, now(), 'CANDIDATE', 'cli' FROM member"""))
        await session.execute(text("""
            INSERT INTO candidate_notice (member_id, posted_at, ends_at, actor)
            SELECT id, now(), now() + interval '7 days', 'cli' FROM member"""))
    with counting(engine) as statements:
        data = await api.data(NESTED)
    members = [m for e in data["organisations"]["edges"] for m in e["node"]["members"]]
    assert len(members) == grids * 3 and all(m["notice"] for m in members)
    return len(statements)


async def test_statement_count_does_not_grow_with_objects(api: Any, engine: Any,
                                                          sessions: Any) -> None:
    small = await _statements_for(api, engine, sessions, grids=2)
    async with engine.begin() as conn:
        await conn.execute(text("TRUNCATE community, grid, building_group, building, member, "
                                "organisation, grid_boundary_version RESTART IDENTITY CASCADE"))
    large = await _statements_for(api, engine, sessions, grids=6)
    assert small == large, f"{small} statements for 2 organisations, {large} for 6"
