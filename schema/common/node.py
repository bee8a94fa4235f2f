"""The Node interface: every object with a global id, fetchable with `node(id:)`."""

from __future__ import annotations

import strawberry


@strawberry.interface(description="An object with a globally unique id, fetchable with `node`.")
class Node:
    id: strawberry.ID
