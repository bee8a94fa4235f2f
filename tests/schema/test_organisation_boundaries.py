"""Boundaries that change (issue 11, point 5): updateGridBoundary and importFeatures write a
new version from now; versions never overlap; the import's rules hold; buildings re-assigned
spatially and the moved ones named; requests keep their grid; coverageAt; newest first."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError

from domain.infra.db import transaction
from domain.requests.submit import NewRequest, submit_request
from domain.spatial.importer import import_features
from tests.factories import X0, Y0, box, collection, feature
from tests.organisation_factory import gid, load_organisation_places, refused, staff
from tests.requests_factory import TUNING

UPDATE = """mutation($g: ID!, $b: GeoJSON!) { updateGridBoundary(gridId: $g, boundary: $b) {
  grid { code boundaryVersions { validFrom validTo } } movedBuildings { code }
  errors { code field } } }"""
VERSIONS = """query($id: ID!) { node(id: $id) { ... on Grid { boundaryVersions {
  validFrom validTo boundary } buildings { code } } } }"""
AT = """query($p: PointInput!, $at: DateTime!) { coverageAt(point: $p, at: $at) {
  grid { code } community { code } building { code } } }"""
B6 = {"lon": X0 + 0.00915, "lat": Y0 + 0.00915}


def _moved_edge() -> dict[str, Any]:
    """G1 and G2 of C1 with their shared edge moved west to X0 + 0.0025."""
    return collection(
        feature("grid", box(X0, Y0, X0 + 0.0025, Y0 + 0.01), code="G1", name="第一网格",
                community="C1"),
        feature("grid", box(X0 + 0.0025, Y0, X0 + 0.02, Y0 + 0.01), code="G2",
                name="第二网格", community="C1"))


async def test_an_import_writes_versions_and_moves_buildings(api: Any, sessions: Any) -> None:
    ids = await load_organisation_places(sessions)
    start = datetime.now(UTC)
    async with transaction(sessions) as session:
        request = await submit_request(session, NewRequest(
            category="MAINTENANCE", description="楼道灯不亮", point=(B6["lon"], B6["lat"])),
            now=start, tuning=TUNING)
    later = start + timedelta(hours=1)
    async with transaction(sessions) as session:
        await import_features(session, _moved_edge(), now=later)
    grid = (await api.data(VERSIONS, {"id": gid("Grid", ids["G1"])}))["node"]
    versions = grid["boundaryVersions"]
    assert len(versions) == 2 and versions[0]["validTo"] is None  # newest first
    assert versions[1]["validTo"] == versions[0]["validFrom"]
    assert versions[0]["boundary"]["coordinates"][0][0][2][0] == pytest.approx(X0 + 0.0025)
    assert [b["code"] for b in grid["buildings"]] == ["B1"]
    async with sessions() as session:
        kept = (await session.execute(text(
            "SELECT grid_id FROM service_request WHERE id = :id"),
            {"id": request.request_id})).scalar()
        moved = (await session.execute(text(
            "SELECT detail -> 'moved' FROM audit_entry WHERE action = 'IMPORT' "
            "ORDER BY id DESC LIMIT 1"))).scalar()
    assert kept == ids["G1"]  # a request keeps the grid it was located in
    assert sorted(m["building"] for m in moved) == ["B2", "B3", "B6"]
    then = await api.data(AT, {"p": B6, "at": (start + timedelta(minutes=30)).isoformat()})
    now = await api.data(AT, {"p": B6, "at": (later + timedelta(minutes=1)).isoformat()})
    assert then["coverageAt"] == {"grid": {"code": "G1"}, "community": {"code": "C1"},
                                  "building": {"code": "B6"}}
    assert now["coverageAt"]["grid"] == {"code": "G2"}
    before = await api.data(AT, {"p": B6, "at": "1960-01-01T00:00:00Z"})
    assert before["coverageAt"]["grid"] is None


async def test_update_grid_boundary(api: Any, sessions: Any) -> None:
    ids = await load_organisation_places(sessions)
    g1 = gid("Grid", ids["G1"])
    shrunk = box(X0 + 0.001, Y0, X0 + 0.01, Y0 + 0.01)
    answer = (await api.data(UPDATE, {"g": g1, "b": shrunk},
                             viewer=staff(ids, "C1")))["updateGridBoundary"]
    assert answer["errors"] == [] and answer["movedBuildings"] == []
    assert [v["validTo"] is None for v in answer["grid"]["boundaryVersions"]] == [True, False]
    bowtie = {"type": "Polygon", "coordinates": [[[X0, Y0], [X0 + 0.001, Y0 + 0.001],
                                                  [X0 + 0.001, Y0], [X0, Y0 + 0.001],
                                                  [X0, Y0]]]}
    cases = [
        (bowtie, None, "INVALID_GEOMETRY", "boundary.coordinates"),
        (box(X0, Y0, X0 + 0.015, Y0 + 0.01), None, "OVERLAPPING_GRIDS", "boundary"),
        (box(X0 + 0.001, Y0, X0 + 0.005, Y0 + 0.01), None, "OUTSIDE_GRIDS", "boundary"),
        ({"type": "Point", "coordinates": [X0, Y0]}, None, "INVALID_GEOMETRY", "boundary.type"),
    ]
    for boundary, viewer, code, field in cases:
        denied = (await api.data(UPDATE, {"g": g1, "b": boundary}, **(
            {"viewer": viewer} if viewer else {})))["updateGridBoundary"]
        assert denied["grid"] is None, boundary
        assert [(e["code"], e["field"]) for e in denied["errors"]][:1] == [(code, field)]
    assert await refused(api, UPDATE, {"g": g1, "b": shrunk}, staff(ids, "C2")) == (
        "FORBIDDEN", "gridId")
    async with sessions() as session:
        count = (await session.execute(text(
            "SELECT count(*) FROM grid_boundary_version WHERE grid_id = :g"),
            {"g": ids["G1"]})).scalar()
        entry = (await session.execute(text(
            "SELECT detail FROM audit_entry WHERE action = 'GRID_BOUNDARY_UPDATED'"))).scalar()
    assert count == 2 and "before" in entry and "after" in entry


async def test_versions_of_a_grid_never_overlap(sessions: Any) -> None:
    ids = await load_organisation_places(sessions)
    with pytest.raises(IntegrityError):
        async with sessions.begin() as session:
            await session.execute(text("""
                INSERT INTO grid_boundary_version (grid_id, valid_from, boundary)
                SELECT id, now() - interval '1 day', boundary FROM grid WHERE id = :g"""),
                {"g": ids["G1"]})
