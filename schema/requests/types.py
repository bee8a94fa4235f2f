"""Service requests, surveys and outbound messages: the contract's types.

The request lifecycle (dispatch, escalation, surveys) is issue #3 and #4 and is not built yet:
these types are declared so that frontend teams can build against the whole contract now, and
the root fields that would serve them answer a NOT_IMPLEMENTED error instead of a wrong answer.
"""

from __future__ import annotations

import enum
from datetime import datetime

import strawberry

from geo.crs import CoordSystem as Crs
from schema.enums import CoordSystem, ServiceCategory
from schema.errors import PublicError
from schema.inputs import PointInput
from schema.scalars import GeoJSON
from schema.spatial.connections import PageInfo
from schema.spatial.types import Building, BuildingGroup, Community, Grid, Member, Node


@strawberry.enum
class RequestStatus(enum.Enum):
    SUBMITTED = "SUBMITTED"
    DISPATCHED = "DISPATCHED"
    ACCEPTED = "ACCEPTED"
    IN_PROGRESS = "IN_PROGRESS"
    COMPLETED = "COMPLETED"
    CLOSED = "CLOSED"
    CANCELLED = "CANCELLED"


@strawberry.enum
class SurveyStatus(enum.Enum):
    SCHEDULED = "SCHEDULED"
    SENT = "SENT"
    ANSWERED = "ANSWERED"
    EXPIRED = "EXPIRED"


def not_built(feature: str) -> PublicError:
    """The error a not-yet-built part of the contract answers."""
    return PublicError(f"{feature} is not available yet in this version of GridSteward.",
                       code="NOT_IMPLEMENTED")


@strawberry.type
class Survey:
    status: SurveyStatus
    sent_at: datetime | None = None
    reminded_at: datetime | None = None
    answered_at: datetime | None = None
    score: int | None = None
    resolved: bool | None = None
    comment: str | None = None


@strawberry.type
class RequestEvent:
    at: datetime
    kind: str
    from_status: RequestStatus | None
    to_status: RequestStatus | None
    actor: str | None
    note: str | None
    request: ServiceRequest


@strawberry.type
class ServiceRequest(Node):
    number: str
    category: ServiceCategory
    description: str
    status: RequestStatus
    address: str | None
    building: Building | None
    building_group: BuildingGroup | None
    grid: Grid | None
    community: Community | None
    assignee: Member | None
    escalation_level: int
    submitted_at: datetime
    due_at: datetime
    completed_at: datetime | None
    overdue: bool
    resolution: str | None
    contact_name: str | None
    contact_phone: str | None
    timeline: list[RequestEvent]
    survey: Survey | None

    @strawberry.field
    def location(self, crs: CoordSystem = Crs.WGS84) -> GeoJSON | None:
        raise not_built("ServiceRequest.location")


@strawberry.type
class ServiceRequestEdge:
    cursor: str
    node: ServiceRequest


@strawberry.type
class ServiceRequestConnection:
    edges: list[ServiceRequestEdge]
    page_info: PageInfo
    total_count: int


@strawberry.type
class SatisfactionSummary:
    surveys_sent: int
    responses: int
    response_rate: float
    average_score: float | None
    csat: float | None
    resolved_rate: float | None


@strawberry.type
class CategoryCount:
    category: ServiceCategory
    count: int


@strawberry.type
class RequestStats:
    submitted: int
    dispatched: int
    completed: int
    overdue: int
    by_category: list[CategoryCount]


@strawberry.type
class OutboundMessage:
    id: strawberry.ID
    channel: str
    recipient: str
    kind: str
    body: str
    created_at: datetime
    survey_token: str | None
    request_id: strawberry.ID | None


@strawberry.input
class SubmitRequestInput:
    category: ServiceCategory
    description: str
    address: str | None = None
    point: PointInput | None = None
    contact_name: str | None = None
    contact_phone: str | None = None
    idempotency_key: str | None = None
