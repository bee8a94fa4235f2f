"""Service requests, their timeline, figures and outbound messages: the contract's types.

Each type wraps a stored row (`row`, private) and resolves its links through the request's
DataLoaders, so a page of requests with their timelines, assignees and buildings costs one
statement per level.
"""

from __future__ import annotations

from datetime import UTC, datetime

import strawberry

from domain.access import mask_phone
from domain.requests import models as request_models
from domain.requests.models import RequestStatus
from domain.requests.queries import can_see, is_overdue
from domain.spatial import models
from geo.crs import CoordSystem as Crs
from schema.common.context import Info
from schema.common.enums import CoordSystem, ServiceCategory
from schema.common.geometry import geometry_out
from schema.common.ids import encode_id
from schema.common.inputs import PointInput
from schema.common.payloads import UserErrorType
from schema.common.scalars import GeoJSON
from schema.spatial.types import Building, BuildingGroup, Community, Grid, Member, Node, _one
from schema.surveys.types import Survey

strawberry.enum(RequestStatus, description=(
    "Where a request is: SUBMITTED (waiting for someone to take it) → DISPATCHED (offered to "
    "a member) → ACCEPTED → IN_PROGRESS → COMPLETED → CLOSED; or CANCELLED."))



def mask_name(name: str | None) -> str | None:
    """张** : the first character of a name, the rest hidden."""
    if not name:
        return name
    return name[0] + "*" * (len(name) - 1)



@strawberry.type(description="One entry of a request's timeline. The timeline is "
                 "append-only: entries are never changed or removed.")
class RequestEvent:
    row: strawberry.Private[request_models.RequestEvent]
    at: datetime = strawberry.field(description="When it happened.")
    kind: str = strawberry.field(description="SUBMITTED, LOCATED, DISPATCHED, ASSIGNED, "
                                 "DECLINED, ACCEPT_TIMEOUT, ACCEPTED, STARTED, ESCALATED, "
                                 "COMPLETED, CANCELLED, ...")
    actor: str | None = strawberry.field(description='Who did it: "resident", "coverage", '
                                         '"dispatcher", "admin" or "member:<database id>".')
    note: str | None = strawberry.field(description="A reason, a resolution or where the "
                                        "request was located.")

    @classmethod
    def of(cls, row: request_models.RequestEvent) -> RequestEvent:
        return cls(row=row, at=row.at, kind=row.kind, actor=row.actor, note=row.note)

    @strawberry.field(description="The status before, for a change of status.")
    def from_status(self) -> RequestStatus | None:
        return None if self.row.from_status is None else RequestStatus(self.row.from_status)

    @strawberry.field(description="The status after, for a change of status.")
    def to_status(self) -> RequestStatus | None:
        return None if self.row.to_status is None else RequestStatus(self.row.to_status)

    @strawberry.field(description="The member the event concerns: who it was dispatched to, "
                      "who accepted, declined or completed it.")
    async def member(self, info: Info) -> Member | None:
        return await _one(info.context.loaders.member, self.row.member_id, Member.of)

    @strawberry.field(description="The request this event belongs to.")
    async def request(self, info: Info) -> ServiceRequest:
        row = await info.context.loaders.request.load(self.row.request_id)
        assert row is not None  # a foreign key guarantees it
        return ServiceRequest.of(row)


@strawberry.type(description="A resident's need (服务单): a three-part ticket (三联单) of the "
                 "problem, who is responsible and the service given.")
class ServiceRequest(Node):
    row: strawberry.Private[request_models.ServiceRequest]
    number: str = strawberry.field(description="The ticket number people read out on the "
                                   "phone, e.g. GS251123000042.")
    description: str = strawberry.field(description="The problem, as the resident put it.")
    address: str | None = strawberry.field(description="The building address an address "
                                           "submission matched; null for a point.")
    escalation_level: int = strawberry.field(description="Who is responsible now: 0 the "
                                             "building group, 1 the grid, 2 the community.")
    submitted_at: datetime
    due_at: datetime = strawberry.field(description="The time limit (规定时限), from the "
                                        "category's configured hours.")
    dispatched_at: datetime | None = strawberry.field(description="When it was last offered "
                                                      "to a member.")
    accept_deadline: datetime | None = strawberry.field(description="By when the member it "
                                                        "is offered to must accept it.")
    completed_at: datetime | None
    resolution: str | None = strawberry.field(description="The service given: the third part "
                                              "of the ticket.")

    @classmethod
    def of(cls, row: request_models.ServiceRequest) -> ServiceRequest:
        return cls(id=strawberry.ID(encode_id("ServiceRequest", row.id or 0)), row=row,
                   number=row.number, description=row.description, address=row.address,
                   escalation_level=row.escalation_level, submitted_at=row.submitted_at,
                   due_at=row.due_at, dispatched_at=row.dispatched_at,
                   accept_deadline=row.accept_deadline, completed_at=row.completed_at,
                   resolution=row.resolution)

    @strawberry.field(description="One of the six service categories.")
    def category(self) -> ServiceCategory:
        return models.ServiceCategory(self.row.category)

    @strawberry.field(description="Where the request is in its lifecycle.")
    def status(self) -> RequestStatus:
        return RequestStatus(self.row.status)

    @strawberry.field(description="Where the need is (GeoJSON Point), in `crs`: the point "
                      "given, or the matched building's point for an address.")
    def location(self, crs: CoordSystem = Crs.WGS84) -> GeoJSON | None:
        return geometry_out(self.row.location, crs)

    @strawberry.field(description="Past its time limit: still open after dueAt, or "
                      "completed after it.")
    def overdue(self) -> bool:
        return is_overdue(self.row, datetime.now(UTC))

    @strawberry.field(description="The building found for the place, if any.")
    async def building(self, info: Info) -> Building | None:
        return await _one(info.context.loaders.building, self.row.building_id, Building.of)

    @strawberry.field(description="The building group (楼栋党小组) responsible at level 0.")
    async def building_group(self, info: Info) -> BuildingGroup | None:
        return await _one(info.context.loaders.group, self.row.group_id, BuildingGroup.of)

    @strawberry.field(description="The grid covering the place.")
    async def grid(self, info: Info) -> Grid | None:
        return await _one(info.context.loaders.grid, self.row.grid_id, Grid.of)

    @strawberry.field(description="The community of that grid.")
    async def community(self, info: Info) -> Community | None:
        return await _one(info.context.loaders.community, self.row.community_id,
                          Community.of)

    @strawberry.field(description="The member the request is dispatched to or held by.")
    async def assignee(self, info: Info) -> Member | None:
        return await _one(info.context.loaders.member, self.row.assignee_id, Member.of)

    @strawberry.field(description="The resident to contact; masked (张**) except for "
                      "administrators, the grid workers of the request's grid and the "
                      "assignee.")
    def contact_name(self, info: Info) -> str | None:
        name = self.row.contact_name
        return name if can_see(info.context.viewer, self.row) else mask_name(name)

    @strawberry.field(description="The resident's phone; masked (138****5678) except for "
                      "administrators, the grid workers of the request's grid and the "
                      "assignee, who must call them.")
    def contact_phone(self, info: Info) -> str | None:
        phone = self.row.contact_phone
        return phone if can_see(info.context.viewer, self.row) else mask_phone(phone)

    @strawberry.field(description="Everything that happened to the request, oldest first.")
    async def timeline(self, info: Info) -> list[RequestEvent]:
        rows = await info.context.loaders.events_of_request.load(self.row.id or 0)
        return [RequestEvent.of(e) for e in rows]

    @strawberry.field(description="The satisfaction survey (群众评议) of a completed request; "
                      "null before completion and when there is no contact phone.")
    async def survey(self, info: Info) -> Survey | None:
        found = await info.context.loaders.survey_of_request.load(self.row.id or 0)
        return Survey.of(found[0]) if found else None


@strawberry.type(description="How many requests of one category were submitted.")
class CategoryCount:
    category: ServiceCategory
    count: int


@strawberry.type(description="The figures a community committee looks at (\"100+ needs "
                 "collected, 60+ dispatched, 80+ services delivered\"), over the requests the "
                 "caller may see.")
class RequestStats:
    submitted: int = strawberry.field(description="Requests submitted in the window.")
    dispatched: int = strawberry.field(description="Requests handed to a member in the "
                                       "window: dispatched, assigned by hand, or taken by a "
                                       "grid worker.")
    completed: int = strawberry.field(description="Requests completed in the window (and not "
                                      "reopened since).")
    overdue: int = strawberry.field(description="Requests submitted in the window that are "
                                    "overdue now.")
    by_category: list[CategoryCount] = strawberry.field(description="Submissions in the "
                                                        "window per category, all six.")


@strawberry.type(description="A message to a person (SMS, WeChat, webhook...), kept in the "
                 "outbox until delivered.")
class OutboundMessage:
    id: strawberry.ID
    channel: str
    recipient: str
    kind: str = strawberry.field(description="DISPATCH_NOTICE, ESCALATION_NOTICE, SURVEY, "
                                 "SURVEY_REMINDER, SIGN_IN_CODE (whose body shows `{code}`: "
                                 "the code is written in only on delivery), ...")
    body: str
    created_at: datetime
    survey_token: str | None
    request_id: strawberry.ID | None
    status: str = strawberry.field(description="PENDING, SENT or FAILED.")

    @classmethod
    def of(cls, row: request_models.OutboundMessage) -> OutboundMessage:
        request_id = (None if row.request_id is None
                      else strawberry.ID(encode_id("ServiceRequest", row.request_id)))
        return cls(id=strawberry.ID(encode_id("OutboundMessage", row.id or 0)),
                   channel=row.channel, recipient=row.recipient, kind=row.kind, body=row.body,
                   created_at=row.created_at, survey_token=row.survey_token,
                   request_id=request_id, status=row.status)


@strawberry.input(description="A resident's need. Give exactly one of `address` and `point`.")
class SubmitRequestInput:
    category: ServiceCategory
    description: str = strawberry.field(description="1 to 4,000 characters.")
    address: str | None = strawberry.field(default=None, description="A street address as "
                                           "people type it, e.g. 船山路63号3单元502室.")
    point: PointInput | None = strawberry.field(default=None, description="A position on a "
                                                "map, in any of the three coordinate systems.")
    contact_name: str | None = None
    contact_phone: str | None = strawberry.field(default=None, description="A mainland mobile "
                                                 "or a landline with its area code.")
    idempotency_key: str | None = strawberry.field(default=None, description="A retried "
                                                   "submission with the same key returns the "
                                                   "first request instead of a new one.")


@strawberry.type(description="The request after a mutation, or what was wrong with the input.")
class RequestPayload:
    request: ServiceRequest | None = None
    errors: list[UserErrorType] = strawberry.field(default_factory=list)
    possible_duplicates: list[ServiceRequest] = strawberry.field(
        default_factory=list, description="After submitServiceRequest: open requests of the "
        "same category within 50 m submitted in the last 7 days, newest first — perhaps "
        "someone reported this already. Empty for the other mutations.")
