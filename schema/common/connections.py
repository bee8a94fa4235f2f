"""Relay connections for lists that grow without bound, paged in SQL by id (domain.infra.paging).

`Connection[Grid]` is the schema's `GridConnection` and `Edge[Grid]` its `GridEdge`: one
generic shape for every list of every area. Cursors are opaque; pass `pageInfo.endCursor` as
`after` for the next page. `first` defaults to 50 and is capped at 500.

`totalCount` is read only when the query selects it (a statement of its own, after the page),
exact up to EXACT_COUNT_LIMIT rows and the planner's estimate beyond (`totalCountExact` says
which): a page of a list of millions costs the same as a page of a list of hundreds.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any, Generic, TypeVar

import strawberry
from sqlalchemy.sql import Select

from domain.errors import InvalidInput
from domain.infra.paging import EXACT_COUNT_LIMIT, Count, Page, count_rows
from schema.common.context import Info
from schema.common.ids import encode_cursor

N = TypeVar("N")

#: Rows in a page when `first` is not given, and the most one page may hold.
DEFAULT_PAGE, MAX_PAGE = 50, 500


@strawberry.type(description="Where a page sits in the whole list.")
class PageInfo:
    has_next_page: bool
    has_previous_page: bool
    start_cursor: str | None
    end_cursor: str | None


@strawberry.type(description="One row of a page and the cursor after it.")
class Edge(Generic[N]):
    cursor: str
    node: N


@strawberry.type(description="A page of a list; pass `pageInfo.endCursor` as `after` for more.")
class Connection(Generic[N]):
    edges: list[Edge[N]]
    page_info: PageInfo
    #: The whole list's statement, counted when totalCount or totalCountExact is selected.
    listed: strawberry.Private[Select[Any] | None] = None
    counted: strawberry.Private[asyncio.Future[Count] | None] = None
    known: strawberry.Private[Count | None] = None

    @strawberry.field(description=(
        "Rows in the whole list, not this page: exact up to "
        f"{EXACT_COUNT_LIMIT:,}, beyond that the database planner's estimate (from its table "
        "statistics; usually within a few per cent, at least "
        f"{EXACT_COUNT_LIMIT + 1:,}): see totalCountExact. Read only when selected: leave it "
        "out of the queries that page on."))
    async def total_count(self, info: Info) -> int:
        return (await self._count(info)).rows

    @strawberry.field(description=(
        "Whether totalCount is exact (lists of up to "
        f"{EXACT_COUNT_LIMIT:,} rows) or the planner's estimate (longer lists)."))
    async def total_count_exact(self, info: Info) -> bool:
        return (await self._count(info)).exact

    async def _count(self, info: Info) -> Count:
        """One count a connection, however many of its count fields are selected (none when
        the page knew it)."""
        if self.known is not None:
            return self.known
        if self.counted is None:
            self.counted = asyncio.get_running_loop().create_future()
            try:
                self.counted.set_result(await _count_listed(info, self.listed))
            except BaseException as exc:
                self.counted.set_exception(exc)
                raise
        return await self.counted


async def _count_listed(info: Info, listed: Select[Any] | None) -> Count:
    if listed is None:
        return Count(0, exact=True)
    async with info.context.reads() as session:
        return await count_rows(session, listed)


def page_size(first: int | None) -> int:
    """The page size: DEFAULT_PAGE when not given, capped at MAX_PAGE; negative is refused."""
    if first is None:
        return DEFAULT_PAGE
    if first < 0:
        raise InvalidInput.one("INVALID_VALUE", "first must not be negative", "first")
    return min(first, MAX_PAGE)


def to_connection(page: Page[Any], wrap: Callable[[Any], N]) -> Connection[N]:
    """A connection from a page of rows, each wrapped as its GraphQL type."""
    edges = [Edge(cursor=encode_cursor(row.id), node=wrap(row)) for row in page.items]
    info = PageInfo(has_next_page=page.has_next, has_previous_page=page.has_previous,
                    start_cursor=edges[0].cursor if edges else None,
                    end_cursor=edges[-1].cursor if edges else None)
    return Connection(edges=edges, page_info=info, listed=page.listed, known=page.known)
