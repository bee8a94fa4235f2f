"""GraphQL enums, taken from the domain and geo packages so there is one list of each."""

from __future__ import annotations

import enum

import strawberry

from domain.spatial.models import MemberRole, MemberStatus, ServiceCategory
from geo.crs import CoordSystem

strawberry.enum(CoordSystem, description=(
    "Coordinate system of a position: WGS84 (GPS), GCJ02 (AMap/Gaode, Tencent) or BD09 "
    "(Baidu). Everything is stored in WGS84; the API converts on the way in and out."))
strawberry.enum(MemberRole, description="What a member does: 网格员, 组长, 红色管家, 志愿者.")
strawberry.enum(MemberStatus, description="A member's lifecycle: CANDIDATE (vetted and "
                "publicly posted) → ACTIVE → SUSPENDED → EXITED.")
strawberry.enum(ServiceCategory, description="The six service categories: 维修维护, 爱心帮扶, "
                "信息咨询, 文化娱乐, 应急处理, 矛盾调处.")


@strawberry.enum(description="Layers a map screen can ask `mapFeatures` for.")
class MapLayer(enum.Enum):
    COMMUNITIES = "COMMUNITIES"
    GRIDS = "GRIDS"
    BUILDINGS = "BUILDINGS"
    BUILDING_GROUPS = "BUILDING_GROUPS"
    OPEN_REQUESTS = "OPEN_REQUESTS"


__all__ = ["CoordSystem", "MapLayer", "MemberRole", "MemberStatus", "ServiceCategory"]
