"""The Coverage type: the answer to "which building group covers this address or point?"."""

from __future__ import annotations

import strawberry

from domain.coverage import CoverageResult
from geo.crs import CoordSystem as Crs
from schema.context import Info
from schema.enums import CoordSystem
from schema.geometry import point_out
from schema.loaders import Loaders
from schema.scalars import GeoJSON
from schema.spatial.types import Building, BuildingGroup, Community, Grid, Member, _one


@strawberry.type(description="Who serves a place: its building, building group, grid, "
                 "community and the people to contact.")
class Coverage:
    result: strawberry.Private[CoverageResult]

    @classmethod
    def of(cls, result: CoverageResult, loaders: Loaders) -> Coverage:
        """The answer. Its building, group and grid fields show the rows that came with it,
        which also go to the request's loaders, so links back to them (a building's group,
        the group's grid) cost no session of their own either."""
        for name, row in (("building", result.building), ("group", result.group),
                          ("grid", result.grid)):
            if row is not None and row.id is not None:
                loaders.prime(name, row.id, row)  # builds no loader a query does not use
        return cls(result=result)

    @strawberry.field(description="Where the question resolved to (the matched building's "
                      "point for an address), in `crs`.")
    def point(self, crs: CoordSystem = Crs.WGS84) -> GeoJSON:
        return point_out(self.result.lon, self.result.lat, crs)

    @strawberry.field(description="The stored address an address question matched.")
    def matched_address(self) -> str | None:
        return self.result.matched_address

    @strawberry.field(description="How sure the address match is: 1.0 exact (after "
                      "normalisation), lower for a fuzzy match; null for a point question.")
    def match_confidence(self) -> float | None:
        return self.result.match_confidence

    @strawberry.field(description="Metres from the point to the building (0 inside it).")
    def distance_metres(self) -> float | None:
        d = self.result.distance_metres
        return None if d is None else round(d, 2)

    @strawberry.field(description="The building whose footprint covers the point, else the "
                      "nearest within the configured distance (30 m by default).")
    def building(self) -> Building | None:
        row = self.result.building
        return None if row is None else Building.of(row)

    @strawberry.field(description="The building group that serves that building.")
    def building_group(self) -> BuildingGroup | None:
        row = self.result.group
        return None if row is None else BuildingGroup.of(row)

    @strawberry.field(description="The grid covering the point (lowest id on a shared edge).")
    def grid(self) -> Grid | None:
        row = self.result.grid
        return None if row is None else Grid.of(row)

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

