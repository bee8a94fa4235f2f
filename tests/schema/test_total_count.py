"""totalCount: read only when selected, exact up to a limit, the planner's estimate beyond
(schema.common.connections, domain.infra.paging)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlmodel import col

from domain.infra.paging import count_rows
from domain.spatial.models import Building
from tests.factories import load
from tests.schema.test_n_plus_one import counting


def _counts(sent: list[str]) -> list[str]:
    return [s for s in sent if "count(" in s.lower() or s.startswith("EXPLAIN")]


async def test_a_page_without_total_count_sends_no_count(api: Any, sessions: Any,
                                                         engine: AsyncEngine) -> None:
    await load(sessions)
    with counting(engine) as sent:
        data = await api.data("{ buildings(first: 1) { edges { node { code } } "
                              "pageInfo { hasNextPage } } }")
    assert data["buildings"]["pageInfo"]["hasNextPage"] is True
    assert _counts(sent) == []


async def test_total_count_is_one_count_however_many_count_fields(api: Any, sessions: Any,
                                                                  engine: AsyncEngine) -> None:
    await load(sessions)
    with counting(engine) as sent:
        data = await api.data("{ buildings(first: 1) { totalCount totalCountExact "
                              "edges { node { code } } } }")
    assert data["buildings"] == {"totalCount": 2, "totalCountExact": True,
                                 "edges": [{"node": {"code": "B1"}}]}
    assert len(_counts(sent)) == 1


async def test_each_list_counts_its_own_filters(api: Any, sessions: Any) -> None:
    await load(sessions)
    data = await api.data('{ all: buildings { totalCount } one: buildings(search: "船山路") '
                          '{ totalCount } none: grids(first: 0) { totalCount } }')
    assert (data["all"]["totalCount"], data["one"]["totalCount"],
            data["none"]["totalCount"]) == (2, 1, 2)


async def test_beyond_the_limit_the_count_is_the_planners_estimate(sessions: Any) -> None:
    await load(sessions)
    async with sessions() as session:
        exact = await count_rows(session, select(Building), limit=5)
        estimated = await count_rows(session, select(Building), limit=1)
        none = await count_rows(session, select(Building).where(col(Building.code) == "B9"),
                                limit=1)
    assert (exact.rows, exact.exact) == (2, True)
    assert estimated.exact is False and estimated.rows >= 2  # never below limit + 1
    assert (none.rows, none.exact) == (0, True)
