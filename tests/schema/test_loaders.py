"""Per-request loaders: built only when a resolver first needs one, primed rows kept."""

from __future__ import annotations

from typing import Any

from sqlalchemy.ext.asyncio import async_sessionmaker

from domain.spatial.models import Grid
from schema.common.loaders import Loaders, build_loaders
from tests.factories import load


def test_no_loader_is_built_before_it_is_used() -> None:
    loaders = build_loaders(async_sessionmaker())
    assert "grid" not in vars(loaders)
    grid = loaders.grid
    assert vars(loaders)["grid"] is grid is loaders.grid  # built once, then kept


async def test_rows_primed_before_the_loader_exists_are_not_fetched(sessions: Any) -> None:
    loaders = Loaders(sessions)
    row = Grid(id=10**9, code="primed", name="primed", community_id=1, boundary=None)
    loaders.prime("grid", 10**9, row)
    assert "grid" not in vars(loaders)
    assert await loaders.grid.load(10**9) is row  # no such row in the database


async def test_rows_primed_after_the_loader_exists_go_to_it(sessions: Any) -> None:
    loaders = Loaders(sessions)
    loader = loaders.grid
    row = Grid(id=10**9, code="primed", name="primed", community_id=1, boundary=None)
    loaders.prime("grid", 10**9, row)
    assert await loader.load(10**9) is row


async def test_a_batch_larger_than_the_protocols_parameter_limit_loads(sessions: Any) -> None:
    """A loader asked for a whole city at once (issue #9: 136,160 member ids) sends the ids as
    one array parameter; one parameter per id failed past PostgreSQL's 65,535."""
    await load(sessions)
    known = [int(grid.id or 0) for grid in await Loaders(sessions).grids_of_community.load(1)]
    ids = known + list(range(10**6, 10**6 + 70_000))
    loaders = Loaders(sessions)
    grids = await loaders.grid.load_many(ids)
    assert [g.id for g in grids if g is not None] == known
    assert len(grids) == len(ids)
    children = await loaders.buildings_of_grid.load_many(ids)
    assert sum(len(b) for b in children) == 2
