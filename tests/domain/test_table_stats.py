"""Tables that outgrew their planner statistics are analyzed, the others left to
autovacuum; in a schema of the test's own, so no shared table's statistics change."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, create_async_engine

from domain.infra.table_stats import MIN_ROWS, analyze_grown, grown_tables

SCHEMA = "table_stats_probe"


@pytest.fixture
async def probe(database_url: str, engine: AsyncEngine) -> AsyncIterator[AsyncEngine]:
    """An engine whose current schema is SCHEMA, a schema of empty tables `fast` and
    `slow`."""
    async with engine.begin() as conn:
        await conn.execute(text(f"DROP SCHEMA IF EXISTS {SCHEMA} CASCADE"))
        await conn.execute(text(f"CREATE SCHEMA {SCHEMA}"))
        for name in ("fast", "slow"):
            await conn.execute(text(f"CREATE TABLE {SCHEMA}.{name} (id int PRIMARY KEY)"))
    probe = create_async_engine(database_url,
                                connect_args={"options": f"-c search_path={SCHEMA}"})
    try:
        yield probe
    finally:
        await probe.dispose()
        async with engine.begin() as conn:
            await conn.execute(text(f"DROP SCHEMA {SCHEMA} CASCADE"))


async def grow(session: AsyncSession, table: str, upto: int) -> None:
    """Rows up to id `upto` in `table`, committed and reported to the statistics."""
    await session.execute(text(
        f"INSERT INTO {table} SELECT generate_series(COALESCE(max(id), 0) + 1, :upto) "
        f"FROM {table}"), {"upto": upto})
    await session.execute(text("SELECT pg_stat_force_next_flush()"))
    await session.commit()


async def counted(session: AsyncSession, table: str) -> float:
    """The rows the planner's statistics count in `table` (-1: never analyzed)."""
    value = await session.scalar(text("SELECT reltuples FROM pg_class WHERE oid = "
                                      "CAST(:name AS regclass)"), {"name": table})
    await session.commit()
    return float(value)


async def test_a_table_is_analyzed_each_time_it_doubles_past_the_minimum(
        probe: AsyncEngine) -> None:
    async with AsyncSession(probe) as session:
        await grow(session, "fast", MIN_ROWS * 3 // 2)
        await grow(session, "slow", MIN_ROWS // 2)
        assert await grown_tables(session) == ["fast"]
        assert await analyze_grown(session) == ["fast"]
        assert await counted(session, "fast") == MIN_ROWS * 3 // 2
        assert await counted(session, "slow") < 0  # too small to matter: never analyzed

        assert await analyze_grown(session) == []  # analyzed, not grown since
        await grow(session, "fast", MIN_ROWS * 3 - 1)  # just under twice the count
        assert await grown_tables(session) == []
        await grow(session, "fast", MIN_ROWS * 3)
        assert await analyze_grown(session) == ["fast"]
        assert await counted(session, "fast") == MIN_ROWS * 3
