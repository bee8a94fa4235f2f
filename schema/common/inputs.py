"""Input types shared by queries and mutations, with their conversion to domain values."""

from __future__ import annotations

import strawberry

from domain.errors import InvalidInput, UserError
from domain.spatial.directory import BBox, Scope
from geo.crs import CoordSystem as Crs
from schema.common.enums import CoordSystem
from schema.common.geometry import bbox_in, point_in
from schema.common.ids import decode_optional


@strawberry.input(description="A position; `crs` says which map it came from.")
class PointInput:
    lon: float
    lat: float
    crs: CoordSystem = Crs.WGS84

    def to_wgs84(self, field: str) -> tuple[float, float]:
        return point_in(self.lon, self.lat, self.crs, field)


@strawberry.input(description="A box in degrees: west < east, south < north.")
class BBoxInput:
    west: float
    south: float
    east: float
    north: float
    crs: CoordSystem = Crs.WGS84

    def to_wgs84(self, field: str) -> BBox:
        return bbox_in(self.west, self.south, self.east, self.north, self.crs, field)


@strawberry.input(description="Narrows a list to one member, group, grid or community. At "
                  "most one is set; none means everything the caller may see.")
class ScopeInput:
    member_id: strawberry.ID | None = None
    building_group_id: strawberry.ID | None = None
    grid_id: strawberry.ID | None = None
    community_id: strawberry.ID | None = None

    def to_scope(self, field: str) -> Scope:
        named = [n for n, v in (("memberId", self.member_id),
                                ("buildingGroupId", self.building_group_id),
                                ("gridId", self.grid_id), ("communityId", self.community_id))
                 if v is not None]
        if len(named) > 1:
            raise InvalidInput([UserError("INVALID_SCOPE", "set at most one of "
                                          f"{', '.join(named)}", field)])
        return Scope(
            member_id=decode_optional(self.member_id, "Member", f"{field}.memberId"),
            building_group_id=decode_optional(self.building_group_id, "BuildingGroup",
                                              f"{field}.buildingGroupId"),
            grid_id=decode_optional(self.grid_id, "Grid", f"{field}.gridId"),
            community_id=decode_optional(self.community_id, "Community",
                                         f"{field}.communityId"),
        )
