"""Plain factory functions for test data: small polygons drawn in WGS-84 near 衡阳."""

from __future__ import annotations

from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from domain.infra.db import transaction
from domain.spatial.importer import ImportCounts, import_features

X0, Y0 = 112.600, 26.900  # the south-west corner of the test community


def box(west: float, south: float, east: float, north: float) -> dict[str, Any]:
    """A closed rectangular Polygon, counter-clockwise."""
    ring = [[west, south], [east, south], [east, north], [west, north], [west, south]]
    return {"type": "Polygon", "coordinates": [ring]}


def point(lon: float, lat: float) -> dict[str, Any]:
    return {"type": "Point", "coordinates": [lon, lat]}


def feature(layer: str, geometry: dict[str, Any], **properties: Any) -> dict[str, Any]:
    return {"type": "Feature", "geometry": geometry,
            "properties": {"layer": layer, **properties}}


def collection(*features: dict[str, Any]) -> dict[str, Any]:
    return {"type": "FeatureCollection", "features": list(features)}


def two_grid_community() -> dict[str, Any]:
    """Community C1 split at lon 112.61 into grids G1 (west) and G2 (east); building B1 with a
    footprint in G1 (group L1), building B2 known only as a point in G2 (group L2)."""
    return collection(
        feature("community", box(X0, Y0, X0 + 0.02, Y0 + 0.01), code="C1", name="测试社区"),
        feature("grid", box(X0, Y0, X0 + 0.01, Y0 + 0.01), code="G1", name="第一网格",
                community="C1"),
        feature("grid", box(X0 + 0.01, Y0, X0 + 0.02, Y0 + 0.01), code="G2", name="第二网格",
                community="C1"),
        feature("building", box(X0 + 0.005, Y0 + 0.005, X0 + 0.0053, Y0 + 0.0052), code="B1",
                address="船山路63号", households=48, group="L1", groupName="船山路63号党小组"),
        feature("building", point(X0 + 0.015, Y0 + 0.005), code="B2", address="学宫巷3号",
                group="L2", groupName="学宫巷党小组"),
    )


async def load(sessions: async_sessionmaker[AsyncSession],
               data: dict[str, Any] | None = None) -> ImportCounts:
    """Import `data` (default: the two-grid community) in its own transaction."""
    async with transaction(sessions) as session:
        return await import_features(session, data or two_grid_community())
