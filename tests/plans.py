"""Plan checks for tests: the statements a read sends, and what PostgreSQL would do with them.

Small test tables make a sequential scan the cheapest plan whatever the indexes, so a test
that asks whether an index *can* serve a read runs EXPLAIN after `SET LOCAL enable_seqscan =
off` in the same transaction: the planner then takes an index wherever one applies and falls
back to a (penalised) Seq Scan only where none does.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Engine, event, text
from sqlalchemy.ext.asyncio import AsyncSession


@dataclass(frozen=True)
class Scan:
    """How a plan reads `relation`: "Seq Scan", or an index scan (plain, index-only or
    bitmap) using `index`; `per_row` when it sits under a correlated SubPlan (run again for
    each outer row)."""

    node: str
    relation: str | None
    index: str | None
    per_row: bool


def _walk(plan: dict[str, Any], per_row: bool, relation: str | None = None) -> Iterator[Scan]:
    per_row = per_row or plan.get("Parent Relationship") == "SubPlan"
    relation = plan.get("Relation Name", relation)  # a bitmap index scan reads its heap's
    if "Scan" in plan["Node Type"] and plan["Node Type"] != "Bitmap Heap Scan":
        yield Scan(plan["Node Type"], relation, plan.get("Index Name"), per_row)
    for child in plan.get("Plans", []):
        yield from _walk(child, per_row, relation if "Bitmap" in plan["Node Type"] else None)


def indexes_reading(scans: list[Scan], relation: str) -> set[str | None]:
    """The indexes the plan reads `relation` through (None: a Seq Scan)."""
    return {scan.index for scan in scans if scan.relation == relation}


async def explained_scans(session: AsyncSession,
                          read: Callable[[AsyncSession], Awaitable[Any]]) -> list[Scan]:
    """Run `read(session)`, then EXPLAIN the last statement it sent, with sequential scans
    disabled (see the module docstring), in the session's transaction."""
    sent: list[tuple[str, Any]] = []

    def capture(conn: Any, cursor: Any, statement: str, params: Any, *args: Any) -> None:
        sent.append((statement, params))

    event.listen(Engine, "before_cursor_execute", capture)
    try:
        await read(session)
    finally:
        event.remove(Engine, "before_cursor_execute", capture)
    statement, params = sent[-1]
    await session.execute(text("SET LOCAL enable_seqscan = off"))
    connection = await session.connection()
    result = await connection.exec_driver_sql("EXPLAIN (FORMAT JSON) " + statement, params)
    return list(_walk(result.scalar_one()[0]["Plan"], per_row=False))
