"""Keyset pagination in SQL: pages ordered by id (ascending, or newest first), `after` an id,
never a Python slice."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql import Select

T = TypeVar("T")

@dataclass(frozen=True)
class Page(Generic[T]):
    """One page of rows and what the client needs to ask for the next."""

    items: list[T]
    has_next: bool
    has_previous: bool
    total: int


async def fetch_page(session: AsyncSession, stmt: Select[Any], id_column: Any, *,
                     first: int, after: int | None, descending: bool = False) -> Page[Any]:
    """Rows of `stmt` with id greater than `after` (less, `descending`), `first` at most, plus
    the total count."""
    total = (await session.execute(select(func.count()).select_from(stmt.subquery()))).scalar_one()
    if after is not None:
        stmt = stmt.where(id_column < after if descending else id_column > after)
    order = id_column.desc() if descending else id_column
    rows = (await session.execute(stmt.order_by(order).limit(first + 1))).scalars().all()
    return Page(items=list(rows[:first]), has_next=len(rows) > first,
                has_previous=after is not None, total=int(total))
