"""Service requests, their timeline, figures and outbound messages: the contract's types.

Each type wraps a stored row (`row`, private) and resolves its links through the request's
DataLoaders, so a page of requests with their timelines, assignees and buildings costs one
statement per level.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import strawberry
from strawberry.file_uploads import Upload

from domain.access import Viewer
from domain.media.models import PhotoStage
from domain.requests import models as request_models
from domain.requests.models import RequestStatus
from domain.requests.queries import can_see, is_overdue
from domain.spatial import models
from geo.crs import CoordSystem as Crs
from schema.common.audit import reveal
from schema.common.context import Info
from schema.common.enums import CoordSystem, ServiceCategory
from schema.common.geometry import geometry_out, point_out
from schema.common.ids import encode_id
from schema.common.inputs import PointInput
from schema.common.payloads import UserErrorType
from schema.common.scalars import GeoJSON
from schema.media.types import Photo, photos_of_request
from schema.spatial.types import Building, BuildingGroup, Community, Grid, Member, Node, _one
from schema.surveys.types import Survey

strawberry.enum(RequestStatus, description=(
    "Where a request is: SUBMITTED (waiting for someone to take it) → DISPATCHED (offered to "
    "a member) → ACCEPTED → IN_PROGRESS → COMPLETED → CLOSED; or CANCELLED. "
    "WAITING_RESIDENT: the assignee needs the resident (from ACCEPTED or IN_PROGRESS, back "
    "there when the resident replies or staff resume it); its clock stands still."))



@strawberry.type(description="One entry of a request's timeline. The timeline is "
                 "append-only: entries are never changed or removed.")
class RequestEvent:
    row: strawberry.Private[request_models.RequestEvent]
    at: datetime = strawberry.field(description="When it happened.")
    kind: str = strawberry.field(description="SUBMITTED, LOCATED, DISPATCHED, ASSIGNED, "
                                 "DECLINED, ACCEPT_TIMEOUT, ACCEPTED, STARTED, ESCALATED, "
                                 "WAITING_RESIDENT, RESIDENT_REPLIED, RESUMED, COMPLETED, "
                                 "CANCELLED, NOTICES_STOPPED, HANDED_BACK (the member was "
                                 "suspended or exited), ...")
    actor: str | None = strawberry.field(description='Who did it: "resident", "coverage", '
                                         '"dispatcher", "admin" (the city-wide token), '
                                         '"account:<database id>" (a staff account) or '
                                         '"member:<database id>".')
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
        return ServiceRequest.of(row, info.context.viewer)


_PRIVATE = ("Null (empty for description) unless the caller may see the request: "
            "administrators of its community, the grid workers of its grid, its assignee, and "
            "its submitter in the answer to their submission.")


@strawberry.type(description="A resident's need (服务单): a three-part ticket (三联单) of the "
                 "problem, who is responsible and the service given. Callers who may not see "
                 "a request (an anonymous submitter looking at possibleDuplicates or replaying "
                 "an idempotencyKey) get its public part only: id, number, category, status, "
                 "escalationLevel, submittedAt, dueAt and overdue; every field about what a "
                 "resident wrote, where, or the people involved is null (description empty).")
class ServiceRequest(Node):
    row: strawberry.Private[request_models.ServiceRequest]
    whole: strawberry.Private[bool]
    submitter: strawberry.Private[bool]
    number: str = strawberry.field(description="The ticket number people read out on the "
                                   "phone, e.g. GS251123000042.")
    description: str = strawberry.field(description="The problem, as the resident put it. "
                                        + _PRIVATE)
    address: str | None = strawberry.field(description="The building address an address "
                                           "submission matched; null for a point. " + _PRIVATE)
    escalation_level: int = strawberry.field(description="Who is responsible now: 0 the "
                                             "building group, 1 the grid, 2 the community.")
    submitted_at: datetime
    due_at: datetime = strawberry.field(description="The time limit (规定时限), from the "
                                        "category's limit: round-the-clock hours, working "
                                        "hours or working days on China's calendar with "
                                        "the community's overrides; moved on by the time "
                                        "the request waited on the resident.")
    dispatched_at: datetime | None = strawberry.field(description="When it was last offered "
                                                      "to a member. " + _PRIVATE)
    accept_deadline: datetime | None = strawberry.field(description="By when the member it "
                                                        "is offered to must accept it. "
                                                        + _PRIVATE)
    completed_at: datetime | None = strawberry.field(description=_PRIVATE)
    resolution: str | None = strawberry.field(description="The service given: the third part "
                                              "of the ticket. " + _PRIVATE)

    @classmethod
    def of(cls, row: request_models.ServiceRequest, viewer: Viewer, *,
           submitter: bool = False) -> ServiceRequest:
        """The request as `viewer` may see it: whole when `can_see` says so (the one rule) or
        for its `submitter` answering their own submission, else its public part."""
        whole = submitter or can_see(viewer, row)  # the private fields: permissions.RULES
        return cls(id=strawberry.ID(encode_id("ServiceRequest", row.id or 0)), row=row,
                   whole=whole, submitter=submitter, number=row.number,
                   escalation_level=row.escalation_level,
                   submitted_at=row.submitted_at, due_at=row.due_at,
                   description=row.description, address=row.address,
                   dispatched_at=row.dispatched_at, accept_deadline=row.accept_deadline,
                   completed_at=row.completed_at, resolution=row.resolution)

    @strawberry.field(description="One of the six service categories.")
    def category(self) -> ServiceCategory:
        return models.ServiceCategory(self.row.category)

    @strawberry.field(description="Where the request is in its lifecycle.")
    def status(self) -> RequestStatus:
        return RequestStatus(self.row.status)

    @strawberry.field(description="Where the need is (GeoJSON Point), in `crs`: the point "
                      "given, or the matched building's point for an address. " + _PRIVATE)
    def location(self, crs: CoordSystem = Crs.WGS84) -> GeoJSON | None:
        return geometry_out(self.row.location, crs)

    @strawberry.field(description="Past its time limit: still open after dueAt, or "
                      "completed after it.")
    def overdue(self) -> bool:
        return is_overdue(self.row, datetime.now(UTC))

    @strawberry.field(description="The building found for the place, if any. " + _PRIVATE)
    async def building(self, info: Info) -> Building | None:
        return await self._link(info.context.loaders.building, self.row.building_id,
                                Building.of)

    @strawberry.field(description="The building group (楼栋党小组) responsible at level 0. "
                      + _PRIVATE)
    async def building_group(self, info: Info) -> BuildingGroup | None:
        return await self._link(info.context.loaders.group, self.row.group_id,
                                BuildingGroup.of)

    @strawberry.field(description="The grid covering the place. " + _PRIVATE)
    async def grid(self, info: Info) -> Grid | None:
        return await self._link(info.context.loaders.grid, self.row.grid_id, Grid.of)

    @strawberry.field(description="The community of that grid. " + _PRIVATE)
    async def community(self, info: Info) -> Community | None:
        return await self._link(info.context.loaders.community, self.row.community_id,
                                Community.of)

    @strawberry.field(description="The member the request is dispatched to or held by. "
                      + _PRIVATE)
    async def assignee(self, info: Info) -> Member | None:
        return await self._link(info.context.loaders.member, self.row.assignee_id, Member.of)

    @strawberry.field(description="The resident to contact. " + _PRIVATE)
    def contact_name(self) -> str | None:
        return self.row.contact_name

    @strawberry.field(description="The resident's phone, for those who must call them. "
                      + _PRIVATE)
    def contact_phone(self, info: Info) -> str | None:
        if not self.row.contact_phone:
            return None
        if not self.submitter:
            reveal(info, ("ServiceRequest", self.row.id or 0), whose="contact",
                   community_id=self.row.community_id)
        return self.row.contact_phone

    @strawberry.field(description="Everything that happened to the request, oldest first. "
                      "Empty unless the caller may see the request.")
    async def timeline(self, info: Info) -> list[RequestEvent]:
        rows = await info.context.loaders.events_of_request.load(self.row.id or 0)
        return [RequestEvent.of(e) for e in rows]

    @strawberry.field(description="The satisfaction survey (群众评议) of a completed request; "
                      "null before completion and when there is no contact phone. " + _PRIVATE)
    async def survey(self, info: Info) -> Survey | None:
        found = await info.context.loaders.survey_of_request.load(self.row.id or 0)
        return Survey.of(found[0]) if found else None

    @strawberry.field(description="Its photos: the resident's of the problem (PROBLEM, sent "
                      "with the submission), then the assignee's of the service done "
                      "(SERVICE, sent at completion), each in the order sent; `stage` keeps "
                      "one kind. Empty unless the caller may see the request.")
    async def photos(self, info: Info, stage: PhotoStage | None = None) -> list[Photo]:
        return await photos_of_request(info, self.row.id or 0, stage)

    async def _link(self, loader: Any, key: int | None, wrap: Any) -> Any:
        """A linked object (for callers who may see the request: permissions.RULES)."""
        return await _one(loader, key, wrap)


@strawberry.type(description="What anyone may know of a request near theirs: no text a "
                 "resident wrote, nothing about people, no exact place.")
class PublicServiceRequest:
    number: str = strawberry.field(description="The ticket number, e.g. GS251123000042: "
                                   "what to quote when calling the community.")
    category: ServiceCategory
    status: RequestStatus
    distance_metres: int = strawberry.field(description="How far it is from the request "
                                            "just submitted, in whole metres.")
    submitted_at: datetime

    @classmethod
    def of(cls, row: request_models.ServiceRequest, metres: float) -> PublicServiceRequest:
        return cls(number=row.number, category=models.ServiceCategory(row.category),
                   status=RequestStatus(row.status), distance_metres=round(metres),
                   submitted_at=row.submitted_at)


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
    calendar_fallback: int = strawberry.field(default=0, description=(
        "Requests submitted in the window whose due time was counted in calendar days: the "
        "working calendar did not know the year yet (update the `holidays` package). 0 "
        "when all is well."))
    calendar_known_until: int = strawberry.field(default=0, description=(
        "The last year the working calendar knows (holidays and make-up working days)."))


@strawberry.type(description="A message to a person (SMS, WeChat, webhook...), kept in the "
                 "outbox until delivered.")
class OutboundMessage:
    row: strawberry.Private[request_models.OutboundMessage]
    id: strawberry.ID
    channel: str
    recipient: str
    kind: str = strawberry.field(description="DISPATCH_NOTICE, ESCALATION_NOTICE, SURVEY, "
                                 "SURVEY_REMINDER, SIGN_IN_CODE (whose body shows `{code}`: "
                                 "the code is written in only on delivery), the resident's "
                                 "REQUEST_RECEIVED, REQUEST_ACCEPTED, REQUEST_COMPLETED, "
                                 "REQUEST_ESCALATED, REQUEST_CANCELLED, REQUEST_WAITING "
                                 "(whose `{track}` and `{stop}` become links with the "
                                 "tracking code on delivery), ...")
    body: str
    created_at: datetime
    survey_token: str | None
    request_id: strawberry.ID | None
    status: str = strawberry.field(description="PENDING, SENT or FAILED.")

    @classmethod
    def of(cls, row: request_models.OutboundMessage) -> OutboundMessage:
        request_id = (None if row.request_id is None
                      else strawberry.ID(encode_id("ServiceRequest", row.request_id)))
        return cls(id=strawberry.ID(encode_id("OutboundMessage", row.id or 0)), row=row,
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
    photos: list[Upload] | None = strawberry.field(default=None, description=(
        "Up to 3 photos of the problem, as files of a multipart request (the GraphQL "
        "multipart request specification; the request must also carry the header "
        "`GraphQL-Require-Preflight: 1`). JPEG, PNG, WebP or HEIC, at most 10 MB each; "
        "they are checked by their content and kept re-encoded, without their metadata. "
        "Errors name the photo: input.photos[1] NOT_AN_IMAGE, FILE_TOO_LARGE, "
        "DECOMPRESSION_BOMB or NOT_A_FILE; input.photos TOO_MANY_FILES. A replayed "
        "idempotencyKey ignores them (the earlier request keeps its own)."))
    notices: bool = strawberry.field(default=True, description="Whether the resident wants "
                                     "text messages when the request is accepted, completed, "
                                     "escalated or cancelled (the confirmation is always "
                                     "sent to a contact phone).")


@strawberry.type(description="The request after a mutation, or what was wrong with the input.")
class RequestPayload:
    #: Where the first submitted photo with GPS tags was taken, when no point was given.
    photo_position: strawberry.Private[tuple[float, float] | None] = None

    request: ServiceRequest | None = strawberry.field(default=None, description=(
        "The request as it is now. After submitServiceRequest: the new request, whole; or, "
        "when `replayed`, the earlier one, whole only for a caller who may see it."))
    errors: list[UserErrorType] = strawberry.field(default_factory=list)
    tracking_code: str | None = strawberry.field(default=None, description=(
        "After a new submitServiceRequest: the resident's tracking code (32 characters), for "
        "trackServiceRequest with the number; shown once here, and in the links of the "
        "resident's text messages. Null otherwise (a replay included)."))
    replayed: bool = strawberry.field(default=False, description=(
        "After submitServiceRequest: true when the idempotencyKey matched an earlier "
        "submission, which `request` is; nothing new was stored."))
    #: After submitServiceRequest: the possible duplicates' ids and distances in metres,
    #: newest first; their rows are read only when a caller asks for them.
    nearby: strawberry.Private[tuple[tuple[int, float], ...]] = ()

    @strawberry.field(description=(
        "After submitServiceRequest: open requests of the same category within 50 m "
        "submitted in the last 7 days, newest first — perhaps someone reported this "
        "already. Whole for callers who may see them (dispatch screens); for anyone else "
        "only their public part (see ServiceRequest): a resident's form should show "
        "possibleDuplicatesPublic. Empty for the other mutations."))
    async def possible_duplicates(self, info: Info) -> list[ServiceRequest]:
        return [ServiceRequest.of(row, info.context.viewer)
                for row, _ in await self._nearby_rows(info)]

    async def _nearby_rows(self, info: Info) -> list[tuple[request_models.ServiceRequest,
                                                            float]]:
        """The possible duplicates' rows (through the request loader: one statement for
        both duplicate fields) with their distances; one closed meanwhile stays listed."""
        if not self.nearby:
            return []
        rows = await info.context.loaders.request.load_many([i for i, _ in self.nearby])
        return [(row, metres) for row, (_, metres) in zip(rows, self.nearby, strict=True)
                if row is not None]

    @strawberry.field(description=(
        "The same requests as possibleDuplicates, as anyone may see them: number, category, "
        "status, distance and time; for a resident's \"perhaps someone reported this "
        "already\". Empty for the other mutations."))
    async def possible_duplicates_public(self, info: Info) -> list[PublicServiceRequest]:
        return [PublicServiceRequest.of(row, metres)
                for row, metres in await self._nearby_rows(info)]

    @strawberry.field(description=(
        "After submitServiceRequest without a `point` (an address, or no place at all): "
        "where the first of its photos that carries GPS tags was taken, as a Point in "
        "`crs` — a suggestion to show the resident, never used on its own: to use it, "
        "submit again with it as `input.point`. Offered with the errors too (say, neither "
        "address nor point). Null otherwise. The stored photos keep no GPS."))
    def photo_location(self, crs: CoordSystem = Crs.WGS84) -> GeoJSON | None:
        if self.photo_position is None:
            return None
        return point_out(*self.photo_position, crs)
