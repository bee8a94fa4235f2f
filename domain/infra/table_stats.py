"""Planner statistics of tables that grew fast: ANALYZE them before autovacuum would.

Why. psycopg prepares a statement after five runs, and PostgreSQL keeps a prepared
statement's generic plan for the connection while it looks no dearer than the custom ones.
On an empty or tiny table a sequential scan is the cheapest plan, so a statement first run
while `service_request` held a few hundred rows (a new platform, a test database, the
dispatch benchmark after its TRUNCATE) keeps scanning the whole table as a burst of
submissions grows it to tens of thousands: the dispatch batch's candidates (each member's
open load and last handing-over) and the submission's duplicate search read every request
and event instead of a few by index. Autovacuum replaces the statistics, and with them every
cached plan of the table, but at most once a minute (autovacuum_naptime) and after the
burst's worst is over.

What. `analyze_grown` ANALYZEs each table of the current schema that holds at least
MIN_ROWS live rows and GROWTH times the rows its statistics last counted (never analyzed
counts as none). Cheap and bounded: the check reads pg_stat_user_tables, and a table is
analyzed about log2(its rows / MIN_ROWS) times in its life, only while it is small (a table
of ten million rows is analyzed here only if it doubles). Once the statistics show a
thousand rows, key lookups plan as index scans, and they stay right as the table grows.
The worker runs it every few seconds (workers.schedule, "table statistics").

ANALYZE needs the table's owner: tables the role does not own (a deployment whose migrations
run as another role) are left to autovacuum.
"""

from __future__ import annotations

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

#: Fewer live rows than this: a scan is as good as an index, nothing to do.
MIN_ROWS = 1000

#: Analyzed again once its live rows reach this many times what its statistics counted.
GROWTH = 2.0

_GROWN = text("""
    SELECT quote_ident(s.relname) FROM pg_stat_user_tables s JOIN pg_class c ON c.oid = s.relid
    WHERE s.schemaname = current_schema() AND s.n_live_tup >= :min_rows
      AND s.n_live_tup >= :growth * GREATEST(c.reltuples, 0)
      AND pg_has_role(c.relowner, 'USAGE')
    ORDER BY s.n_live_tup DESC, s.relname""")


async def grown_tables(session: AsyncSession, *, min_rows: int = MIN_ROWS,
                       growth: float = GROWTH) -> list[str]:
    """The tables of the current schema due an ANALYZE (quoted as identifiers), largest
    first."""
    rows = await session.execute(_GROWN, {"min_rows": min_rows, "growth": growth})
    return [str(name) for name in rows.scalars()]


async def analyze_grown(session: AsyncSession, *, min_rows: int = MIN_ROWS,
                        growth: float = GROWTH) -> list[str]:
    """ANALYZE every table due one (`grown_tables`), each in a transaction of its own (so
    its lock is held only while it runs); the tables analyzed."""
    due = await grown_tables(session, min_rows=min_rows, growth=growth)
    await session.commit()
    for name in due:
        await session.execute(text(f"ANALYZE {name}"))
        await session.commit()
    return due
