"""Live updates for dispatch screens: serviceRequestEvents over graphql-transport-ws."""

from __future__ import annotations

from collections.abc import AsyncGenerator

import strawberry

from schema.context import Info
from schema.inputs import ScopeInput
from schema.permissions import AUTHENTICATED
from schema.requests.types import RequestEvent, not_built


@strawberry.type
class RequestSubscription:
    @strawberry.subscription(permission_classes=AUTHENTICATED)
    async def service_request_events(
        self, info: Info, scope: ScopeInput | None = None
    ) -> AsyncGenerator[RequestEvent, None]:
        raise not_built("serviceRequestEvents")
        yield  # pragma: no cover  (makes this an async generator)
