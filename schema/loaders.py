"""DataLoaders, built fresh for every request (their cache must not outlive it).

Each batch opens its own short session, so loaders that fire concurrently never share one;
a batch is one statement, run in autocommit (no BEGIN or ROLLBACK, prepared statements kept).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from strawberry.dataloader import DataLoader

from domain import directory
from domain.db import autocommit
from domain.models import Building, BuildingGroup, Community, Grid, Member
from domain.requests import queries as request_queries
from domain.requests.models import RequestEvent, ServiceRequest
from domain.surveys.models import Survey

T = TypeVar("T")
Factory = async_sessionmaker[AsyncSession]


def _loader(factory: Factory,
            fetch: Callable[[AsyncSession, Sequence[int]], Awaitable[Sequence[T]]]
            ) -> DataLoader[int, T]:
    async def load(keys: list[int]) -> Sequence[T]:
        async with autocommit(factory) as session:
            return await fetch(session, keys)
    return DataLoader(load_fn=load)


def _by_id(factory: Factory, model: type[Any]) -> DataLoader[int, Any]:
    return _loader(factory, lambda s, ids: directory.by_ids(s, model, ids))


def _children(factory: Factory, model: type[Any], column: str) -> DataLoader[int, list[Any]]:
    return _loader(factory, lambda s, ids: directory.by_parent(s, model, column, ids))


@dataclass
class Loaders:
    """Every batched look-up a query may need."""

    community: DataLoader[int, Community | None]
    grid: DataLoader[int, Grid | None]
    building: DataLoader[int, Building | None]
    group: DataLoader[int, BuildingGroup | None]
    member: DataLoader[int, Member | None]
    grids_of_community: DataLoader[int, list[Grid]]
    buildings_of_grid: DataLoader[int, list[Building]]
    buildings_of_group: DataLoader[int, list[Building]]
    groups_of_grid: DataLoader[int, list[BuildingGroup]]
    members_of_group: DataLoader[int, list[Member]]
    members_of_building: DataLoader[int, list[Member]]
    workers_of_grid: DataLoader[int, list[Member]]
    grids_of_worker: DataLoader[int, list[int]]
    request: DataLoader[int, ServiceRequest | None]
    events_of_request: DataLoader[int, list[RequestEvent]]
    survey_of_request: DataLoader[int, list[Survey]]


def build_loaders(factory: Factory) -> Loaders:
    """A new set of loaders for one request."""
    return Loaders(
        community=_by_id(factory, Community), grid=_by_id(factory, Grid),
        building=_by_id(factory, Building), group=_by_id(factory, BuildingGroup),
        member=_by_id(factory, Member),
        grids_of_community=_children(factory, Grid, "community_id"),
        buildings_of_grid=_children(factory, Building, "grid_id"),
        buildings_of_group=_children(factory, Building, "group_id"),
        groups_of_grid=_children(factory, BuildingGroup, "grid_id"),
        members_of_group=_children(factory, Member, "group_id"),
        members_of_building=_children(factory, Member, "building_id"),
        workers_of_grid=_loader(factory, directory.grid_workers_of),
        grids_of_worker=_loader(factory, directory.grid_ids_of_members),
        request=_loader(factory, request_queries.requests_by_ids),
        events_of_request=_loader(factory, request_queries.events_of),
        survey_of_request=_children(factory, Survey, "request_id"),
    )
