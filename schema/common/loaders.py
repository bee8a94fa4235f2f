"""DataLoaders, fresh for every request (their cache must not outlive it), each built only
when a resolver first needs it.

Each batch opens its own short session, so loaders that fire concurrently never share one;
a batch is one statement, run in autocommit (no BEGIN or ROLLBACK, prepared statements kept).
Rows by id of the plainer tables come from a connection of the autocommit pool, without a
Session (`_by_id`).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from typing import Any, Generic, TypeVar

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from strawberry.dataloader import DataLoader

from domain.infra import rows
from domain.infra.db import autocommit
from domain.media import photos as media_photos
from domain.media.models import RequestPhoto
from domain.organisation.models import (
    CandidateNotice,
    GridBoundaryVersion,
    MemberStatusChange,
    Objection,
    Organisation,
)
from domain.people import accounts
from domain.people.models import AuditEntry, StaffAccount
from domain.people.territories import Territory
from domain.requests import queries as request_queries
from domain.requests.models import RequestEvent, ServiceRequest
from domain.spatial import directory
from domain.spatial.models import Building, BuildingGroup, Community, Grid, Member, Subdistrict
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
    """Rows by id: for a `rows.plain` table one prepared statement on a connection of the
    autocommit pool, its rows built without the ORM (a Session made and closed, and the
    ORM's loading, were most of a 50-row page's CPU); else through a Session."""
    table: Any = model
    if not rows.plain(table):
        return _loader(factory, lambda s, ids: directory.by_ids(s, model, ids))

    async def load(keys: list[int]) -> Sequence[Any]:
        async with rows.autocommit_connection(factory) as connection:
            return await rows.by_ids(connection, model, keys)
    return DataLoader(load_fn=load)


def _children(factory: Factory, model: type[Any], column: str) -> DataLoader[int, list[Any]]:
    return _loader(factory, lambda s, ids: directory.by_parent(s, model, column, ids))


class _Lazy(Generic[T]):
    """A loader built on first use, then kept on the instance (like functools.cached_property),
    with the rows primed for it before it existed."""

    def __init__(self, make: Callable[[Factory], DataLoader[int, T]]) -> None:
        self.make = make
        self.name = ""

    def __set_name__(self, owner: type[Any], name: str) -> None:
        self.name = name

    def __get__(self, loaders: Loaders, owner: type[Any] | None = None) -> DataLoader[int, T]:
        loader = self.make(loaders.factory)
        for pk, row in loaders.primed.pop(self.name, ()):
            loader.prime(pk, row)
        loaders.__dict__[self.name] = loader  # found before this descriptor from now on
        return loader


class Loaders:
    """Every batched look-up a query may need, each built when a resolver first asks for it:
    most requests use one or two of them (building all of them, when there were sixteen,
    cost ~35 µs a request)."""

    subdistrict: _Lazy[Subdistrict | None] = _Lazy(lambda f: _by_id(f, Subdistrict))
    communities_of_subdistrict: _Lazy[list[Community]] = _Lazy(
        lambda f: _children(f, Community, "subdistrict_id"))
    community: _Lazy[Community | None] = _Lazy(lambda f: _by_id(f, Community))
    grid: _Lazy[Grid | None] = _Lazy(lambda f: _by_id(f, Grid))
    building: _Lazy[Building | None] = _Lazy(lambda f: _by_id(f, Building))
    group: _Lazy[BuildingGroup | None] = _Lazy(lambda f: _by_id(f, BuildingGroup))
    member: _Lazy[Member | None] = _Lazy(lambda f: _by_id(f, Member))
    grids_of_community: _Lazy[list[Grid]] = _Lazy(
        lambda f: _children(f, Grid, "community_id"))
    buildings_of_grid: _Lazy[list[Building]] = _Lazy(lambda f: _children(f, Building, "grid_id"))
    buildings_of_group: _Lazy[list[Building]] = _Lazy(
        lambda f: _children(f, Building, "group_id"))
    groups_of_grid: _Lazy[list[BuildingGroup]] = _Lazy(
        lambda f: _children(f, BuildingGroup, "grid_id"))
    members_of_group: _Lazy[list[Member]] = _Lazy(lambda f: _children(f, Member, "group_id"))
    members_of_building: _Lazy[list[Member]] = _Lazy(
        lambda f: _children(f, Member, "building_id"))
    workers_of_grid: _Lazy[list[Member]] = _Lazy(
        lambda f: _loader(f, directory.grid_workers_of))
    grids_of_worker: _Lazy[list[int]] = _Lazy(
        lambda f: _loader(f, directory.grid_ids_of_members))
    request: _Lazy[ServiceRequest | None] = _Lazy(
        lambda f: _loader(f, request_queries.requests_by_ids))
    events_of_request: _Lazy[list[RequestEvent]] = _Lazy(
        lambda f: _loader(f, request_queries.events_of))
    photos_of_request: _Lazy[list[RequestPhoto]] = _Lazy(
        lambda f: _loader(f, media_photos.photos_of))
    survey_of_request: _Lazy[list[Survey]] = _Lazy(
        lambda f: _children(f, Survey, "request_id"))
    account: _Lazy[StaffAccount | None] = _Lazy(lambda f: _by_id(f, StaffAccount))
    audit_entry: _Lazy[AuditEntry | None] = _Lazy(lambda f: _by_id(f, AuditEntry))
    territories_of_account: _Lazy[list[Territory]] = _Lazy(
        lambda f: _loader(f, accounts.territories_of))
    organisation: _Lazy[Organisation | None] = _Lazy(lambda f: _by_id(f, Organisation))
    members_of_organisation: _Lazy[list[Member]] = _Lazy(
        lambda f: _children(f, Member, "organisation_id"))
    history_of_member: _Lazy[list[MemberStatusChange]] = _Lazy(
        lambda f: _children(f, MemberStatusChange, "member_id"))
    notices_of_member: _Lazy[list[CandidateNotice]] = _Lazy(
        lambda f: _children(f, CandidateNotice, "member_id"))
    objections_of_notice: _Lazy[list[Objection]] = _Lazy(
        lambda f: _children(f, Objection, "notice_id"))
    boundary_versions_of_grid: _Lazy[list[GridBoundaryVersion]] = _Lazy(
        lambda f: _children(f, GridBoundaryVersion, "grid_id"))

    def __init__(self, factory: Factory) -> None:
        self.factory = factory
        self.primed: dict[str, list[tuple[int, Any]]] = {}

    def prime(self, name: str, pk: int, row: Any) -> None:
        """Give loader `name` a row it then need not fetch, without building it for that."""
        if name in self.__dict__:
            self.__dict__[name].prime(pk, row)
        else:
            self.primed.setdefault(name, []).append((pk, row))


def build_loaders(factory: Factory) -> Loaders:
    """A new set of loaders for one request (each built when first used)."""
    return Loaders(factory)
