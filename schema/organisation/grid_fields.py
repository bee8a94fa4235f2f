"""What the organisation area adds to `Grid` (`extend type Grid` of
contract/organisation.graphql), as a base class of schema.spatial.types.Grid: the versions
of its boundary. BoundaryVersion names no spatial type, so there is no import cycle."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import strawberry

from domain.organisation import models
from geo.crs import CoordSystem as Crs
from schema.common.context import Info
from schema.common.enums import CoordSystem
from schema.common.geometry import geometry_out
from schema.common.scalars import GeoJSON


@strawberry.type(description="A grid's boundary over [validFrom, validTo); validTo is null "
                 "for the current boundary. Versions of one grid never overlap in time.")
class BoundaryVersion:
    row: strawberry.Private[models.GridBoundaryVersion]
    valid_from: datetime
    valid_to: datetime | None

    @classmethod
    def of(cls, row: models.GridBoundaryVersion) -> BoundaryVersion:
        return cls(row=row, valid_from=row.valid_from, valid_to=row.valid_to)

    @strawberry.field(description="The boundary (MultiPolygon) then, in `crs`.")
    def boundary(self, crs: CoordSystem = Crs.WGS84) -> GeoJSON:
        return geometry_out(self.row.boundary, crs)  # type: ignore[return-value]


@strawberry.type
class GridOrganisationFields:
    row: strawberry.Private[Any]

    @strawberry.field(description="The versions of the boundary, newest first. A request "
                      "keeps the grid it was located in, whatever the boundary became.")
    async def boundary_versions(self, info: Info) -> list[BoundaryVersion]:
        rows = await info.context.loaders.boundary_versions_of_grid.load(self.row.id or 0)
        return [BoundaryVersion.of(r) for r in sorted(rows, key=lambda r: r.valid_from,
                                                       reverse=True)]
