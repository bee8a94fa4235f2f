"""Read-only root fields of the spatial hierarchy."""

from __future__ import annotations

from typing import Any

import strawberry

from domain.errors import InvalidInput, UserError
from domain.infra.rows import autocommit_connection
from domain.settings import Settings
from domain.spatial import coverage as cover
from domain.spatial import directory
from domain.spatial.map_layers import MAX_FEATURES, map_features
from geo.crs import CoordSystem as Crs
from geo.crs import transform_geojson
from schema.common.connections import Connection, page_size, to_connection
from schema.common.context import Info
from schema.common.enums import CoordSystem, MapLayer, MemberRole, MemberStatus, ServiceCategory
from schema.common.ids import decode_cursor, decode_optional, encode_id
from schema.common.inputs import BBoxInput, PointInput, ScopeInput
from schema.common.scalars import GeoJSON
from schema.spatial.types import Building, Coverage, Grid, Member, Subdistrict


@strawberry.type
class SpatialQuery:
    @strawberry.field(description="Which building, building group, grid and community cover an "
                      "address (e.g. 船山路63号, 湖南省衡阳市石鼓区船山路六十三号3单元502室) or a "
                      "point. Give exactly one of the two. Null when nothing covers it or no "
                      "building address matches well enough. Open to anonymous callers.")
    async def coverage(self, info: Info, address: str | None = None,
                       point: PointInput | None = None) -> Coverage | None:
        settings = info.context.settings
        if (address is None) == (point is None):
            raise InvalidInput.one("INVALID_ARGUMENTS", "give exactly one of address and point",
                                   "address" if address is not None else "point")
        shapes = Coverage.shapes(info)
        if point is not None:
            lon, lat = point.to_wgs84("point")
            async with autocommit_connection(info.context.reads) as connection:
                found = await cover.cover_point(connection, lon=lon, lat=lat, shapes=shapes,
                                                nearest_metres=settings.nearest_building_metres)
        else:
            async with autocommit_connection(info.context.reads) as connection:
                found = await _cover_address(connection, address or "", settings, shapes)
        return None if found is None else Coverage.of(found, info.context.loaders)

    @strawberry.field(description="Subdistricts (街道), the level above communities.")
    async def subdistricts(self, info: Info, first: int | None = 50,
                           after: str | None = None) -> Connection[Subdistrict]:
        async with info.context.reads() as session:
            page = await directory.list_subdistricts(session, first=page_size(first),
                                                     after=decode_cursor(after),
                                                     viewer=info.context.viewer)
        return to_connection(page, Subdistrict.of)

    @strawberry.field(description="Grids, optionally within a box or a community.")
    async def grids(self, info: Info, bbox: BBoxInput | None = None,
                    community_id: strawberry.ID | None = None, first: int | None = 50,
                    after: str | None = None) -> Connection[Grid]:
        async with info.context.reads() as session:
            page = await directory.list_grids(
                session, bbox=bbox.to_wgs84("bbox") if bbox else None,
                community_id=decode_optional(community_id, "Community", "communityId"),
                first=page_size(first), after=decode_cursor(after), viewer=info.context.viewer)
        return to_connection(page, Grid.of)

    @strawberry.field(description="Buildings, optionally within a box or grid, or matching "
                      "`search` in address, name or code.")
    async def buildings(self, info: Info, bbox: BBoxInput | None = None,
                        grid_id: strawberry.ID | None = None, search: str | None = None,
                        first: int | None = 50,
                        after: str | None = None) -> Connection[Building]:
        async with info.context.reads() as session:
            page = await directory.list_buildings(
                session, bbox=bbox.to_wgs84("bbox") if bbox else None,
                grid_id=decode_optional(grid_id, "Grid", "gridId"), search=search,
                first=page_size(first), after=decode_cursor(after), viewer=info.context.viewer)
        return to_connection(page, Building.of)

    @strawberry.field(description="Members, narrowed by scope, role, skill and status.")
    async def members(self, info: Info, scope: ScopeInput | None = None,
                      role: MemberRole | None = None,
                      skill: ServiceCategory | None = None,
                      status: MemberStatus | None = None,
                      first: int | None = 50, after: str | None = None) -> Connection[Member]:
        async with info.context.reads() as session:
            page = await directory.list_members(
                session, scope=scope.to_scope("scope") if scope else directory.Scope(),
                role=role.value if role else None, skill=skill.value if skill else None,
                status=status.value if status else None, first=page_size(first),
                after=decode_cursor(after), viewer=info.context.viewer)
        return to_connection(page, Member.of)

    @strawberry.field(description="One round trip for a map screen: a GeoJSON FeatureCollection "
                      "of the requested layers within `bbox`. Each feature carries "
                      "properties.layer (lower case), properties.id (the Node id) and "
                      f"properties.label. At most {MAX_FEATURES:,} features: a box with more "
                      "is the error TOO_MANY_FEATURES (field `bbox`); narrow the box, or use "
                      "the vector tiles /tiles/{layer}/{z}/{x}/{y}.mvt for large areas.")
    async def map_features(self, info: Info, bbox: BBoxInput,
                           layers: list[MapLayer],
                           crs: CoordSystem = Crs.WGS84) -> GeoJSON:
        if not layers:
            raise InvalidInput([UserError("REQUIRED", "name at least one layer", "layers")])
        async with info.context.reads() as session:
            collection = await map_features(session, bbox=bbox.to_wgs84("bbox"),
                                            viewer=info.context.viewer,
                                            layers=[layer.value for layer in layers])
        for feature in collection["features"]:
            props = feature["properties"]
            props["id"] = encode_id(props.pop("kind"), props["id"])
            feature["geometry"] = transform_geojson(feature["geometry"], Crs.WGS84, crs)
        return GeoJSON(collection)


async def _cover_address(session: Any, address: str, settings: Settings,
                         shapes: cover.Shapes) -> cover.CoverageResult | None:
    problems = cover.address_problems(address, "address")
    if problems:
        raise InvalidInput(problems)
    return await cover.cover_address(session, address, shapes=shapes,
                                     threshold=settings.address_match_threshold)

