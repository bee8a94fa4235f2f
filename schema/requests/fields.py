"""Root fields for service requests, surveys and messages (issues #3 and #4, not built yet).

Each answers NOT_IMPLEMENTED rather than an empty or made-up result.
"""

from __future__ import annotations

from datetime import datetime

import strawberry

from schema.context import Info
from schema.enums import ServiceCategory
from schema.inputs import BBoxInput, ScopeInput
from schema.payloads import UserErrorType
from schema.permissions import ADMIN, AUTHENTICATED
from schema.requests.types import (
    OutboundMessage,
    RequestStats,
    RequestStatus,
    SatisfactionSummary,
    ServiceRequest,
    ServiceRequestConnection,
    SubmitRequestInput,
    Survey,
    not_built,
)


@strawberry.type
class RequestPayload:
    request: ServiceRequest | None = None
    errors: list[UserErrorType] = strawberry.field(default_factory=list)


@strawberry.type
class SurveyPayload:
    survey: Survey | None = None
    errors: list[UserErrorType] = strawberry.field(default_factory=list)


@strawberry.type
class RequestQuery:
    @strawberry.field(permission_classes=AUTHENTICATED)
    async def service_requests(
        self, info: Info, scope: ScopeInput | None = None,
        status: list[RequestStatus] | None = None,
        category: ServiceCategory | None = None,
        bbox: BBoxInput | None = None, overdue: bool | None = None, first: int | None = 50,
        after: str | None = None,
    ) -> ServiceRequestConnection:
        raise not_built("serviceRequests")

    @strawberry.field(permission_classes=AUTHENTICATED)
    async def satisfaction(self, info: Info, scope: ScopeInput | None = None,
                           since: datetime | None = None,
                           until: datetime | None = None) -> SatisfactionSummary:
        raise not_built("satisfaction")

    @strawberry.field(permission_classes=AUTHENTICATED)
    async def request_stats(self, info: Info, scope: ScopeInput | None = None,
                            since: datetime | None = None,
                            until: datetime | None = None) -> RequestStats:
        raise not_built("requestStats")

    @strawberry.field(permission_classes=ADMIN)
    async def outbound_messages(self, info: Info, request_id: strawberry.ID | None = None,
                                kind: str | None = None, first: int | None = 50,
                                after: str | None = None) -> list[OutboundMessage]:
        raise not_built("outboundMessages")


@strawberry.type
class RequestMutation:
    @strawberry.mutation
    async def submit_service_request(self, info: Info,
                                     input: SubmitRequestInput) -> RequestPayload:
        raise not_built("submitServiceRequest")

    @strawberry.mutation(permission_classes=AUTHENTICATED)
    async def assign_service_request(self, info: Info, id: strawberry.ID,
                                     member_id: strawberry.ID) -> RequestPayload:
        raise not_built("assignServiceRequest")

    @strawberry.mutation(permission_classes=AUTHENTICATED)
    async def accept_service_request(self, info: Info, id: strawberry.ID) -> RequestPayload:
        raise not_built("acceptServiceRequest")

    @strawberry.mutation(permission_classes=AUTHENTICATED)
    async def decline_service_request(self, info: Info, id: strawberry.ID,
                                      reason: str) -> RequestPayload:
        raise not_built("declineServiceRequest")

    @strawberry.mutation(permission_classes=AUTHENTICATED)
    async def start_service_request(self, info: Info, id: strawberry.ID) -> RequestPayload:
        raise not_built("startServiceRequest")

    @strawberry.mutation(permission_classes=AUTHENTICATED)
    async def complete_service_request(self, info: Info, id: strawberry.ID,
                                       resolution: str) -> RequestPayload:
        raise not_built("completeServiceRequest")

    @strawberry.mutation(permission_classes=AUTHENTICATED)
    async def cancel_service_request(self, info: Info, id: strawberry.ID,
                                     reason: str) -> RequestPayload:
        raise not_built("cancelServiceRequest")

    @strawberry.mutation
    async def submit_survey_response(self, info: Info, token: str, score: int,
                                     resolved: bool | None = None,
                                     comment: str | None = None) -> SurveyPayload:
        raise not_built("submitSurveyResponse")
