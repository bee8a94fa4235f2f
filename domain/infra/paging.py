"""Keyset pagination in SQL: pages ordered by id (ascending, or newest first), `after` an id,
never a Python slice; and the count of a whole list, read only when asked for and exact only
up to EXACT_COUNT_LIMIT rows.

Counting a list means reading every row of it: on a city of ten million requests, one
`count(*)` of a city-wide list costs more than the page itself by two orders of magnitude, and
it grows with the data. So a page carries the statement of its list (`Page.listed`), and
`count_rows` reads at most EXACT_COUNT_LIMIT + 1 rows of it; a list longer than that is given
the planner's estimate of its rows (EXPLAIN, no rows read), never less than
EXACT_COUNT_LIMIT + 1. The estimate comes from the table statistics (ANALYZE, autovacuum):
usually within a few per cent for a whole table or one filter, further off for combined
filters.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from sqlalchemy import func, literal_column, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql import Select

T = TypeVar("T")

#: Lists up to this many rows are counted exactly; longer ones are estimated by the planner.
EXACT_COUNT_LIMIT = 5_000


@dataclass(frozen=True)
class Count:
    """Rows in a whole list: exact, or (beyond EXACT_COUNT_LIMIT) the planner's estimate."""

    rows: int
    exact: bool


@dataclass(frozen=True)
class Page(Generic[T]):
    """One page of rows, what the client needs to ask for the next, and the statement of the
    whole list (unordered, unpaged) for `count_rows`."""

    items: list[T]
    has_next: bool
    has_previous: bool
    listed: Select[Any] | None = None
    #: The whole list's count when the reader knows it already (the ids it paged through),
    #: so that none is read: exact, and at most EXACT_COUNT_LIMIT.
    known: Count | None = None


async def fetch_page(session: AsyncSession, stmt: Select[Any], id_column: Any, *,
                     first: int, after: int | None, descending: bool = False) -> Page[Any]:
    """Rows of `stmt` with id greater than `after` (less, `descending`), `first` at most.
    No count: `count_rows(session, page.listed)` when the caller asks for one."""
    listed = stmt
    if after is not None:
        stmt = stmt.where(id_column < after if descending else id_column > after)
    order = id_column.desc() if descending else id_column
    rows = (await session.execute(stmt.order_by(order).limit(first + 1))).scalars().all()
    return Page(items=list(rows[:first]), has_next=len(rows) > first,
                has_previous=after is not None, listed=listed)


async def count_rows(session: AsyncSession, stmt: Select[Any],
                     limit: int = EXACT_COUNT_LIMIT) -> Count:
    """The rows of `stmt`: counted when at most `limit` (reading at most `limit` + 1 of
    them, and none of their columns, so that an index holding the filters' columns answers
    alone), else the planner's estimate (at least `limit` + 1)."""
    ones: Select[Any] = stmt.with_only_columns(literal_column("1"),
                                               maintain_column_froms=True)
    capped = select(func.count()).select_from(ones.limit(limit + 1).subquery())
    rows = int((await session.execute(capped)).scalar_one())
    if rows <= limit:
        return Count(rows, exact=True)
    return Count(max(limit + 1, await estimate_rows(session, stmt)), exact=False)


async def estimate_rows(session: AsyncSession, stmt: Select[Any]) -> int:
    """The planner's estimate of the rows of `stmt` (EXPLAIN: planned, not run)."""
    connection = await session.connection()
    compiled = stmt.compile(dialect=connection.dialect,
                            compile_kwargs={"render_postcompile": True})
    result = await connection.exec_driver_sql("EXPLAIN (FORMAT JSON) " + str(compiled),
                                              compiled.params)
    plan: Any = result.scalar_one()
    if isinstance(plan, str):
        plan = json.loads(plan)
    return int(plan[0]["Plan"]["Plan Rows"])
