"""Relay connections for lists that grow without bound, paged in SQL by id."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

import strawberry

from domain.paging import Page
from schema.ids import encode_cursor
from schema.spatial.types import Building, Grid, Member

N = TypeVar("N")


@strawberry.type(description="Where a page sits in the whole list.")
class PageInfo:
    has_next_page: bool
    has_previous_page: bool
    start_cursor: str | None
    end_cursor: str | None


@strawberry.type
class GridEdge:
    cursor: str
    node: Grid


@strawberry.type(description="A page of grids; pass `pageInfo.endCursor` as `after` for more.")
class GridConnection:
    edges: list[GridEdge]
    page_info: PageInfo
    total_count: int


@strawberry.type
class BuildingEdge:
    cursor: str
    node: Building


@strawberry.type(description="A page of buildings; pass `pageInfo.endCursor` as `after`.")
class BuildingConnection:
    edges: list[BuildingEdge]
    page_info: PageInfo
    total_count: int


@strawberry.type
class MemberEdge:
    cursor: str
    node: Member


@strawberry.type(description="A page of members; pass `pageInfo.endCursor` as `after`.")
class MemberConnection:
    edges: list[MemberEdge]
    page_info: PageInfo
    total_count: int


def to_connection(page: Page[Any], wrap: Callable[[Any], Any], edge: type, connection: type
                  ) -> Any:
    """A strawberry connection from a page of rows."""
    edges = [edge(cursor=encode_cursor(row.id), node=wrap(row)) for row in page.items]
    info = PageInfo(has_next_page=page.has_next, has_previous_page=page.has_previous,
                    start_cursor=edges[0].cursor if edges else None,
                    end_cursor=edges[-1].cursor if edges else None)
    return connection(edges=edges, page_info=info, total_count=page.total)
