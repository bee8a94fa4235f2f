"""Nested lists cost one SQL statement per level, however many objects they hold."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import event, text

from tests.factories import X0, Y0, box, collection, feature, load

NESTED = """{
  grids(first: 100) { edges { node { code
    buildings { code group { code leader { name } members { name phone skills } } }
    gridWorkers { name } community { code }
  } } }
}"""


def city(grids: int, buildings_per_grid: int) -> dict[str, Any]:
    features = [feature("community", box(X0, Y0, X0 + 0.01 * grids, Y0 + 0.01), code="C1",
                        name="社区")]
    for g in range(grids):
        west = X0 + 0.01 * g
        features.append(feature("grid", box(west, Y0, west + 0.01, Y0 + 0.01), code=f"G{g}",
                                name=f"网格{g}", community="C1"))
        for b in range(buildings_per_grid):
            x = west + 0.001 + 0.001 * b
            footprint = box(x, Y0 + 0.004, x + 0.0003, Y0 + 0.0046)
            features.append(feature("building", footprint,
                                    code=f"B{g}-{b}", address=f"测试路{g * 100 + b + 1}号",
                                    group=f"L{g}-{b}"))
    return collection(*features)


async def _add_members(sessions: Any) -> None:
    async with sessions() as session, session.begin():
        await session.execute(text("""
            INSERT INTO member (name, phone, party_member, roles, skills, status, group_id,
                                building_id)
            SELECT '成员' || b.id || '-' || n, '138' || lpad((b.id * 10 + n)::text, 8, '0'),
                   true, ARRAY['STEWARD'], ARRAY['MAINTENANCE'], 'ACTIVE', b.group_id, b.id
            FROM building b, generate_series(1, 3) n"""))
        await session.execute(text("""
            UPDATE building_group bg SET leader_id = (SELECT min(id) FROM member m
                                                      WHERE m.group_id = bg.id)"""))


@contextmanager
def counting(engine: Any) -> Iterator[list[str]]:
    statements: list[str] = []

    def count(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        statements.append(statement)

    event.listen(engine.sync_engine, "before_cursor_execute", count)
    try:
        yield statements
    finally:
        event.remove(engine.sync_engine, "before_cursor_execute", count)


async def _statements_for(api: Any, engine: Any, sessions: Any, grids: int,
                          per_grid: int) -> int:
    await load(sessions, city(grids, per_grid))
    await _add_members(sessions)
    with counting(engine) as statements:
        data = await api.data(NESTED)
    names = [m for e in data["grids"]["edges"] for b in e["node"]["buildings"]
             for m in b["group"]["members"]]
    assert len(names) == grids * per_grid * 3
    return len(statements)


async def test_statement_count_does_not_grow_with_objects(api: Any, engine: Any,
                                                          sessions: Any) -> None:
    small = await _statements_for(api, engine, sessions, grids=2, per_grid=2)
    async with engine.begin() as conn:
        await conn.execute(text("TRUNCATE community, grid, building_group, building, member, "
                                "grid_worker RESTART IDENTITY CASCADE"))
    large = await _statements_for(api, engine, sessions, grids=6, per_grid=5)
    assert small == large, f"{small} statements for 4 buildings, {large} for 30"
    # count + page, then one per level: buildings, groups, leaders, members, workers, community;
    # and the one INSERT of the operation's PHONE_REVEALED entries (the admin saw the phones)
    assert large <= 9, large
