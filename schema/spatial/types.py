"""GraphQL types of the spatial hierarchy: Subdistrict, Community, Grid, Building,
BuildingGroup, Member, the Coverage answer and the MemberInput of createMember.

Each wraps a stored row (`row`, private) and resolves its links through the request's
DataLoaders, so nested lists cost one statement per level.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

import strawberry
from geoalchemy2.shape import to_shape
from shapely import union_all
from shapely.geometry import mapping

from domain.spatial import models
from domain.spatial.coverage import CoverageResult, Shapes
from geo.crs import CoordSystem as Crs
from geo.crs import transform_geojson
from schema.common.context import Info
from schema.common.enums import CoordSystem, MemberRole, MemberStatus, ServiceCategory
from schema.common.geometry import geometry_out, point_out
from schema.common.ids import encode_id
from schema.common.loaders import Loaders
from schema.common.node import Node
from schema.common.payloads import UserErrorType
from schema.common.scalars import GeoJSON
from schema.common.selection import asked_within
from schema.organisation.grid_fields import GridOrganisationFields
from schema.organisation.member_fields import MemberOrganisationFields

WGS84 = Crs.WGS84


@strawberry.type(description="A subdistrict (街道): the level above communities, under one "
                 "subdistrict office.")
class Subdistrict(Node):
    row: strawberry.Private[models.Subdistrict]
    code: str
    name: str

    @classmethod
    def of(cls, row: models.Subdistrict) -> Subdistrict:
        return cls(id=strawberry.ID(encode_id("Subdistrict", row.id or 0)), row=row,
                   code=row.code, name=row.name)

    @strawberry.field(description="The subdistrict boundary (MultiPolygon), in `crs`.")
    def boundary(self, crs: CoordSystem = WGS84) -> GeoJSON | None:
        return geometry_out(self.row.boundary, crs)

    @strawberry.field(description="The communities (社区) of this subdistrict.")
    async def communities(self, info: Info) -> list[Community]:
        return [Community.of(c) for c in
                await info.context.loaders.communities_of_subdistrict.load(self.row.id or 0)]


@strawberry.type(description="A residential community (社区) under one community committee.")
class Community(Node):
    row: strawberry.Private[models.Community]
    code: str
    name: str

    @strawberry.field(description="The subdistrict (街道) the community is in; null when none "
                      "was imported for it.")
    async def subdistrict(self, info: Info) -> Subdistrict | None:
        if self.row.subdistrict_id is None:
            return None
        row = await info.context.loaders.subdistrict.load(self.row.subdistrict_id)
        return None if row is None else Subdistrict.of(row)

    @classmethod
    def of(cls, row: models.Community) -> Community:
        return cls(id=strawberry.ID(encode_id("Community", row.id or 0)), row=row, code=row.code,
                   name=row.name)

    @strawberry.field(description="The community boundary (MultiPolygon), in `crs`.")
    def boundary(self, crs: CoordSystem = WGS84) -> GeoJSON | None:
        return geometry_out(self.row.boundary, crs)

    @strawberry.field(description="The grids (网格) the community is divided into.")
    async def grids(self, info: Info) -> list[Grid]:
        return [Grid.of(g) for g in await info.context.loaders.grids_of_community.load(
            self.row.id or 0)]


@strawberry.type(description="A grid (网格): a slice of a community served by grid workers.")
class Grid(GridOrganisationFields, Node):
    row: strawberry.Private[models.Grid]
    code: str
    name: str

    @classmethod
    def of(cls, row: models.Grid) -> Grid:
        return cls(id=strawberry.ID(encode_id("Grid", row.id or 0)), row=row, code=row.code,
                   name=row.name)

    @strawberry.field(description="The grid boundary (MultiPolygon), in `crs`.")
    def boundary(self, crs: CoordSystem = WGS84) -> GeoJSON:
        return geometry_out(self.row.boundary, crs)  # type: ignore[return-value]

    @strawberry.field(description="The community this grid belongs to.")
    async def community(self, info: Info) -> Community:
        row = await info.context.loaders.community.load(self.row.community_id)
        assert row is not None  # a foreign key guarantees it
        return Community.of(row)

    @strawberry.field(description="Grid workers (网格员) who serve this grid.")
    async def grid_workers(self, info: Info) -> list[Member]:
        return [Member.of(m) for m in await info.context.loaders.workers_of_grid.load(
            self.row.id or 0)]

    @strawberry.field(description="Buildings inside this grid (found spatially).")
    async def buildings(self, info: Info) -> list[Building]:
        return [Building.of(b) for b in await info.context.loaders.buildings_of_grid.load(
            self.row.id or 0)]

    @strawberry.field(description="Building groups whose buildings lie mostly in this grid.")
    async def building_groups(self, info: Info) -> list[BuildingGroup]:
        return [BuildingGroup.of(g) for g in await info.context.loaders.groups_of_grid.load(
            self.row.id or 0)]


@strawberry.type(description="A building (楼栋) with its street address, e.g. 船山路63号.")
class Building(Node):
    row: strawberry.Private[models.Building]
    code: str
    name: str | None
    address: str
    households: int | None

    @classmethod
    def of(cls, row: models.Building) -> Building:
        return cls(id=strawberry.ID(encode_id("Building", row.id or 0)), row=row, code=row.code,
                   name=row.name, address=row.address, households=row.households)

    @strawberry.field(description="The building's point (GeoJSON Point), in `crs`.")
    def location(self, crs: CoordSystem = WGS84) -> GeoJSON:
        return geometry_out(self.row.location, crs)  # type: ignore[return-value]

    @strawberry.field(description="The footprint (GeoJSON Polygon) where known, in `crs`.")
    def footprint(self, crs: CoordSystem = WGS84) -> GeoJSON | None:
        return geometry_out(self.row.footprint, crs)

    @strawberry.field(description="The grid the building lies in.")
    async def grid(self, info: Info) -> Grid | None:
        return await _one(info.context.loaders.grid, self.row.grid_id, Grid.of)

    @strawberry.field(description="The building group (楼栋党小组) that serves this building.")
    async def group(self, info: Info) -> BuildingGroup | None:
        return await _one(info.context.loaders.group, self.row.group_id, BuildingGroup.of)

    @strawberry.field(description="Members whose home is in this building.")
    async def members(self, info: Info) -> list[Member]:
        return [Member.of(m) for m in await info.context.loaders.members_of_building.load(
            self.row.id or 0)]


@strawberry.type(description="A building group (楼栋党小组, 红色管家) serving adjacent buildings.")
class BuildingGroup(Node):
    row: strawberry.Private[models.BuildingGroup]
    code: str
    name: str

    @classmethod
    def of(cls, row: models.BuildingGroup) -> BuildingGroup:
        return cls(id=strawberry.ID(encode_id("BuildingGroup", row.id or 0)), row=row,
                   code=row.code, name=row.name)

    @strawberry.field(description="The group leader (组长).")
    async def leader(self, info: Info) -> Member | None:
        return await _one(info.context.loaders.member, self.row.leader_id, Member.of)

    @strawberry.field(description="The grid holding most of the group's buildings.")
    async def grid(self, info: Info) -> Grid | None:
        return await _one(info.context.loaders.grid, self.row.grid_id, Grid.of)

    @strawberry.field(description="The buildings this group serves.")
    async def buildings(self, info: Info) -> list[Building]:
        return [Building.of(b) for b in await info.context.loaders.buildings_of_group.load(
            self.row.id or 0)]

    @strawberry.field(description="The group's members.")
    async def members(self, info: Info) -> list[Member]:
        return [Member.of(m) for m in await info.context.loaders.members_of_group.load(
            self.row.id or 0)]

    @strawberry.field(description="The union of the group's buildings (footprints, or an 8 m "
                      "disc where a footprint is unknown), in `crs`.")
    async def coverage(self, info: Info, crs: CoordSystem = WGS84) -> GeoJSON | None:
        buildings = await info.context.loaders.buildings_of_group.load(self.row.id or 0)
        shapes = [_shape_of(b) for b in buildings]
        if not shapes:
            return None
        return GeoJSON(transform_geojson(dict(mapping(union_all(shapes))), WGS84, crs))


def _shape_of(building: models.Building) -> Any:
    if building.footprint is not None:
        return to_shape(building.footprint)
    return to_shape(building.location).buffer(0.00008)


@strawberry.type(description="A person who serves: party member, red steward (红色管家), "
                 "volunteer or grid worker (网格员).")
class Member(MemberOrganisationFields, Node):
    row: strawberry.Private[models.Member]
    name: str
    party_member: bool

    @classmethod
    def of(cls, row: models.Member) -> Member:
        return cls(id=strawberry.ID(encode_id("Member", row.id or 0)), row=row, name=row.name,
                   party_member=row.party_member, phone=row.phone,
                   roles=[models.MemberRole(r) for r in row.roles],
                   skills=[models.ServiceCategory(s) for s in row.skills],
                   status=models.MemberStatus(row.status))

    # Plain values, not resolvers (as Coverage's): a page of 50 members spares 200 calls
    # through strawberry's resolver machinery. The phone is shown or masked by the
    # permission layer (Member.phone).
    phone: str | None = strawberry.field(
        description="Phone number, masked (138****5678) except for the member, the grid "
        "workers of the member's grids (of their group, home or service) and staff "
        "administering those grids' communities.")
    roles: list[MemberRole] = strawberry.field(description="What the member does.")
    skills: list[ServiceCategory] = strawberry.field(
        description="Service categories the member can take.")
    status: MemberStatus = strawberry.field(
        description="Lifecycle: CANDIDATE → ACTIVE → SUSPENDED / EXITED.")

    @strawberry.field(description="The member's home building.")
    async def building(self, info: Info) -> Building | None:
        return await _one(info.context.loaders.building, self.row.building_id, Building.of)

    @strawberry.field(description="The building group the member belongs to.")
    async def group(self, info: Info) -> BuildingGroup | None:
        return await _one(info.context.loaders.group, self.row.group_id, BuildingGroup.of)

    @strawberry.field(description="The grids a grid worker serves (empty for others).")
    async def grids(self, info: Info) -> list[Grid]:
        ids = await info.context.loaders.grids_of_worker.load(self.row.id or 0)
        rows = await info.context.loaders.grid.load_many(ids)
        return [Grid.of(g) for g in rows if g is not None]


async def _one(loader: Any, key: int | None, wrap: Any) -> Any:
    if key is None:
        return None
    row = await loader.load(key)
    return None if row is None else wrap(row)


R = TypeVar("R")
W = TypeVar("W")


def _or_none(wrap: Callable[[R], W], row: R | None) -> W | None:
    return None if row is None else wrap(row)


#: Fields of Grid and Building that show a geometry of the row (the rest read none).
GRID_SHAPES = frozenset({"boundary"})
BUILDING_SHAPES = frozenset({"location", "footprint"})


@strawberry.type(description="Who serves a place: its building, building group, grid, "
                 "community and the people to contact.")
class Coverage:
    result: strawberry.Private[CoverageResult]
    # Plain values, not resolvers: the answer is built whole at once (strawberry's
    # resolver machinery cost a point request ~10 µs a field).
    matched_address: str | None = strawberry.field(
        description="The stored address an address question matched.")
    match_confidence: float | None = strawberry.field(
        description="How sure the address match is: 1.0 exact (after normalisation), lower "
        "for a fuzzy match; null for a point question.")
    distance_metres: float | None = strawberry.field(
        description="Metres from the point to the building (0 inside it).")
    building: Building | None = strawberry.field(
        description="The building whose footprint covers the point, else the nearest within "
        "the configured distance (30 m by default).")
    building_group: BuildingGroup | None = strawberry.field(
        description="The building group that serves that building.")
    grid: Grid | None = strawberry.field(
        description="The grid covering the point (lowest id on a shared edge).")

    @classmethod
    def of(cls, result: CoverageResult, loaders: Loaders) -> Coverage:
        """The answer. Its building, group and grid fields show the rows that came with it,
        which also go to the request's loaders, so links back to them (a building's group,
        the group's grid) cost no session of their own either. The rows came with every
        geometry the query shows anywhere inside `coverage` (`shapes`), so they serve the
        whole query."""
        for name, row in (("building", result.building), ("group", result.group),
                          ("grid", result.grid)):
            if row is not None and row.id is not None:
                loaders.prime(name, row.id, row)  # builds no loader a query does not use
        distance = result.distance_metres
        return cls(result=result, matched_address=result.matched_address,
                   match_confidence=result.match_confidence,
                   distance_metres=None if distance is None else round(distance, 2),
                   building=_or_none(Building.of, result.building),
                   building_group=_or_none(BuildingGroup.of, result.group),
                   grid=_or_none(Grid.of, result.grid))

    @staticmethod
    def shapes(info: Info) -> Shapes:
        """The geometries of the grid and building rows that the query shows anywhere inside
        `coverage` (look-ahead): a row read without them is still right for this query."""
        asked = asked_within(info)
        return Shapes(grid=not GRID_SHAPES.isdisjoint(asked),
                      building=not BUILDING_SHAPES.isdisjoint(asked))

    @strawberry.field(description="Where the question resolved to (the matched building's "
                      "point for an address), in `crs`.")
    def point(self, crs: CoordSystem = Crs.WGS84) -> GeoJSON:
        return point_out(self.result.lon, self.result.lat, crs)

    @strawberry.field(description="The community the grid belongs to.")
    async def community(self, info: Info) -> Community | None:
        return await _one(info.context.loaders.community, self.result.community_id,
                          Community.of)

    @strawberry.field(description="Who to call: the group leader first, then grid workers.")
    async def contacts(self, info: Info) -> list[Member]:
        loaders = info.context.loaders
        people = []
        group = await loaders.group.load(self.result.group_id) if self.result.group_id else None
        if group is not None and group.leader_id is not None:
            leader = await loaders.member.load(group.leader_id)
            people += [leader] if leader is not None else []
        if self.result.grid_id is not None:
            people += await loaders.workers_of_grid.load(self.result.grid_id)
        seen: set[int | None] = set()
        unique = [p for p in people if not (p.id in seen or seen.add(p.id))]  # type: ignore[func-returns-value]
        return [Member.of(p) for p in unique]


@strawberry.input(description="A new member. Phone: a mainland mobile or a landline with "
                  "area code. gridIds only for GRID_WORKERs.")
class MemberInput:
    name: str
    phone: str | None = None
    party_member: bool = True
    roles: list[MemberRole] = strawberry.field(
        default_factory=lambda: [MemberRole.STEWARD])
    skills: list[ServiceCategory] = strawberry.field(default_factory=list)
    status: MemberStatus = MemberStatus.ACTIVE
    building_id: strawberry.ID | None = None
    building_group_id: strawberry.ID | None = None
    grid_ids: list[strawberry.ID] = strawberry.field(default_factory=list)
    organisation_id: strawberry.ID | None = strawberry.field(
        default=None, description="The partner organisation (共建单位) the member belongs to.")
    publish_phone: bool = strawberry.field(
        default=False, description="Agreed to show the phone whole on the notice board.")


@strawberry.type(description="How many features of each layer were created or updated.")
class ImportPayload:
    subdistricts: int = 0
    communities: int = 0
    grids: int = 0
    buildings: int = 0
    building_groups: int = 0
    errors: list[UserErrorType] = strawberry.field(default_factory=list)


@strawberry.type
class MemberPayload:
    member: Member | None = None
    errors: list[UserErrorType] = strawberry.field(default_factory=list)
