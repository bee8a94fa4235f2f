"""Which requests a caller's figures may count: their rights, then the scope they asked for."""

from __future__ import annotations

from typing import Any

from domain.access import Viewer
from domain.spatial.directory import Scope
from domain.visibility import Kind, condition, visible_params


def request_filter(viewer: Viewer, scope: Scope, alias: str = "r") -> tuple[str, dict[str, Any]]:
    """A SQL condition on service_request `alias` and its parameters: the SERVED_REQUEST rule
    of domain.visibility (city-wide staff all, staff of territories their communities', grid
    workers their grids', members those they served); then the scope narrows."""
    clauses: list[str] = [condition(viewer, Kind.SERVED_REQUEST, alias)]
    params: dict[str, Any] = visible_params(viewer)
    for column, value in (("assignee_id", scope.member_id), ("group_id", scope.building_group_id),
                          ("grid_id", scope.grid_id), ("community_id", scope.community_id)):
        if value is not None:
            clauses.append(f"{alias}.{column} = :scope_{column}")
            params[f"scope_{column}"] = value
    return (" AND ".join(clauses) or "TRUE"), params
