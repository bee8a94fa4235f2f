"""`node(id:)`: any object by its global id, within what the caller may see."""

from __future__ import annotations

from typing import Any

import strawberry

from domain.requests.queries import can_see
from schema.context import Info
from schema.ids import decode_any
from schema.permissions import AUTHENTICATED
from schema.requests.types import ServiceRequest
from schema.spatial.types import NODE_TYPES, Node

#: Node type name → (loader attribute, wrapper).
_NODES: dict[str, tuple[str, Any]] = {
    "Community": ("community", NODE_TYPES["Community"]),
    "Grid": ("grid", NODE_TYPES["Grid"]), "Building": ("building", NODE_TYPES["Building"]),
    "BuildingGroup": ("group", NODE_TYPES["BuildingGroup"]),
    "Member": ("member", NODE_TYPES["Member"]), "ServiceRequest": ("request", ServiceRequest),
}


@strawberry.type
class NodeQuery:
    @strawberry.field(permission_classes=AUTHENTICATED,
                      description="Any object by its id (Community, Grid, Building, "
                      "BuildingGroup, Member, ServiceRequest); null when it does not exist or "
                      "the caller may not see it.")
    async def node(self, info: Info, id: strawberry.ID) -> Node | None:
        type_name, pk = decode_any(id, "id")
        if type_name not in _NODES:
            return None
        loader_name, wrapper = _NODES[type_name]
        row = await getattr(info.context.loaders, loader_name).load(pk)
        if row is None or (type_name == "ServiceRequest"
                           and not can_see(info.context.viewer, row)):
            return None
        return wrapper.of(row)
