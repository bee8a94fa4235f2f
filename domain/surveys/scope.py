"""Which requests a caller's figures may count: their rights, then the scope they asked for."""

from __future__ import annotations

from typing import Any

from domain.access import Viewer
from domain.spatial.directory import Scope


def request_filter(viewer: Viewer, scope: Scope, alias: str = "r") -> tuple[str, dict[str, Any]]:
    """A SQL condition on service_request `alias` and its parameters: administrators see all,
    grid workers their grids, members what was assigned to them; then the scope narrows."""
    clauses: list[str] = []
    params: dict[str, Any] = {}
    if not viewer.admin:
        clauses.append(f"({alias}.grid_id = ANY(:viewer_grids) OR EXISTS (SELECT 1 FROM "
                       f"request_event v WHERE v.request_id = {alias}.id "
                       "AND v.member_id = :viewer_member))")
        params |= {"viewer_grids": sorted(viewer.grid_ids), "viewer_member": viewer.member_id}
    for column, value in (("assignee_id", scope.member_id), ("group_id", scope.building_group_id),
                          ("grid_id", scope.grid_id), ("community_id", scope.community_id)):
        if value is not None:
            clauses.append(f"{alias}.{column} = :scope_{column}")
            params[f"scope_{column}"] = value
    return (" AND ".join(clauses) or "TRUE"), params
