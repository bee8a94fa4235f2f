"""Relay connections for lists that grow without bound, paged in SQL by id (domain.infra.paging).

`Connection[Grid]` is the schema's `GridConnection` and `Edge[Grid]` its `GridEdge`: one
generic shape for every list of every area. Cursors are opaque; pass `pageInfo.endCursor` as
`after` for the next page. `first` defaults to 50 and is capped at 500.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Generic, TypeVar

import strawberry

from domain.errors import InvalidInput
from domain.infra.paging import Page
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
    total_count: int = strawberry.field(description="Rows in the whole list, not this page.")


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
    return Connection(edges=edges, page_info=info, total_count=page.total)
