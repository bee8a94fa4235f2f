"""What residents and administrators see of the resident's side: the tracking view of a
request (by number and tracking code) and the communities' calendar overrides."""

from __future__ import annotations

from datetime import date, datetime

import strawberry

from domain.media.models import PhotoStage
from domain.requests.models import RequestStatus
from domain.requests.overrides import Override
from domain.requests.public_view import PublicView, Step
from domain.spatial import models
from domain.templates import category_name
from schema.common.context import Info
from schema.common.enums import ServiceCategory
from schema.common.ids import encode_id
from schema.common.payloads import UserErrorType
from schema.media.types import Photo, photos_of_request
from schema.requests import types as _types  # noqa: F401  (registers RequestStatus)


@strawberry.type(description="One step of a request's public timeline, in plain words.")
class TrackedStep:
    at: datetime
    kind: str = strawberry.field(description="The timeline event's kind (SUBMITTED, "
                                 "DISPATCHED, ACCEPTED, WAITING_RESIDENT, COMPLETED, ...).")
    word: str = strawberry.field(description="What a resident reads: 受理, 派单, 接单, "
                                 "服务中, 等待居民补充, 居民已回复, 继续办理, 上报, 办结, 撤销, "
                                 "邀请评价...")
    note: str | None = strawberry.field(description="Only where meant for the resident: "
                                        "why the assignee waits on them, their own reply, "
                                        "to whom the request was escalated.")

    @classmethod
    def of(cls, step: Step) -> TrackedStep:
        return cls(at=step.at, kind=step.kind, word=step.word, note=step.note)


@strawberry.type(description="A request as its resident sees it with the tracking code: "
                 "never a member's name or phone.")
class TrackedRequest:
    number: str
    category: ServiceCategory
    category_name: str = strawberry.field(description="The category in Chinese (维修维护...).")
    status: RequestStatus
    description: str = strawberry.field(description="The problem, as the resident put it.")
    submitted_at: datetime
    due_at: datetime = strawberry.field(description="The time limit, on working days for "
                                        "most categories; moved on by the time the request "
                                        "waited on the resident.")
    group_name: str | None = strawberry.field(description="The building group (楼栋党小组) "
                                              "responsible.")
    assignee_role: str | None = strawberry.field(description="The role of whoever holds the "
                                                 "request (红色管家, 网格员...), never their "
                                                 "name; null while nobody does.")
    timeline: list[TrackedStep] = strawberry.field(description="What happened, oldest first.")
    waiting_reason: str | None = strawberry.field(description="While WAITING_RESIDENT: what "
                                                  "the assignee needs from the resident "
                                                  "(answer with replyToServiceRequest).")
    survey_link: str | None = strawberry.field(description="The satisfaction survey, while "
                                               "it is open (sent and not expired).")
    notices: bool = strawberry.field(description="Whether the resident still receives "
                                     "notices (stopServiceRequestNotices turns them off).")
    request_id: strawberry.Private[int]

    @strawberry.field(description="The photos of the problem (PROBLEM, the resident's own) "
                      "and of the service done (SERVICE), each in the order sent; `stage` "
                      "keeps one kind. Their links are signed for this answer (an `<img src>` "
                      "needs no token) and work for at least MEDIA_LINK_TTL_SECONDS.")
    async def photos(self, info: Info, stage: PhotoStage | None = None) -> list[Photo]:
        return await photos_of_request(info, self.request_id, stage)

    @classmethod
    def of(cls, view: PublicView, survey_base: str, request_id: int) -> TrackedRequest:
        return cls(
            request_id=request_id,
            number=view.number, category=models.ServiceCategory(view.category),
            category_name=category_name(view.category), status=RequestStatus(view.status),
            description=view.description, submitted_at=view.submitted_at, due_at=view.due_at,
            group_name=view.group_name, assignee_role=view.assignee_role,
            timeline=[TrackedStep.of(s) for s in view.steps],
            waiting_reason=view.waiting_reason, notices=view.notify,
            survey_link=None if view.survey_token is None else survey_base + view.survey_token)


@strawberry.type(description="The request after a resident's change by tracking code, or what "
                 "was wrong (NOT_FOUND on `code` alike for an unknown number, a wrong or an "
                 "expired code).")
class TrackingPayload:
    request: TrackedRequest | None = None
    errors: list[UserErrorType] = strawberry.field(default_factory=list)


@strawberry.type(description="A community's exception to the national working calendar: a "
                 "day off (a local festival) or a working day.")
class CalendarOverride:
    community_id: strawberry.ID
    date: date
    working: bool = strawberry.field(description="True: a working day; false: a day off.")
    note: str | None

    @classmethod
    def of(cls, row: Override) -> CalendarOverride:
        return cls(community_id=strawberry.ID(encode_id("Community", row.community_id)),
                   date=row.day, working=row.working, note=row.note)


@strawberry.type(description="The override after the change, or what was wrong (OUT_OF_RANGE "
                 "on `date` for a year the calendar does not know).")
class CalendarOverridePayload:
    override: CalendarOverride | None = None
    removed: bool = strawberry.field(default=False, description="After "
                                     "removeCalendarOverride: whether there was one.")
    errors: list[UserErrorType] = strawberry.field(default_factory=list)
