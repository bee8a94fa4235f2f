"""Mutations of service requests: each decodes its ids, calls one domain function inside a
transaction and answers a payload. A user's mistake never raises: it comes back in `errors` and the
transaction rolls back, so nothing changes.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime

import strawberry
from sqlalchemy.ext.asyncio import AsyncSession
from strawberry.file_uploads import Upload

from domain.errors import InvalidInput
from domain.infra.db import autocommit, transaction
from domain.infra.rows import autocommit_connection
from domain.media.images import PreparedPhoto
from domain.media.models import PhotoStage
from domain.requests import actions, queries, waiting
from domain.requests.models import ServiceRequest as RequestRow
from domain.requests.state import Changed
from domain.requests.submit import NewRequest, Submitted, Tuning, submit_request
from domain.requests.tracking import tracking_key
from schema.common.context import Info
from schema.common.ids import decode_id
from schema.common.payloads import UserErrorType
from schema.common.rate_limits import SUBMISSION, RateLimited
from schema.media.uploads import first_position, read_photos, store_photos, undone_on_failure
from schema.requests.tracking import TrackingMutation
from schema.requests.types import (
    RequestPayload,
    ServiceRequest,
    SubmitRequestInput,
)

log = logging.getLogger("gridsteward.requests")

#: A domain action on one request: (session, request id, now) -> what changed.
Action = Callable[[AsyncSession, int, datetime], Awaitable[Changed]]


def _channel(info: Info) -> str:
    return info.context.settings.outbound_channel


def _failed(exc: InvalidInput) -> RequestPayload:
    return RequestPayload(errors=UserErrorType.list_of(exc.errors))


def _wrap(info: Info, row: RequestRow | None, *, submitter: bool = False) -> ServiceRequest:
    """The fresh row as the caller may see it (whole for the `submitter` of a new request),
    replacing any stale copy in the loader's cache."""
    assert row is not None and row.id is not None  # it was just written
    info.context.loaders.request.prime(row.id, row, force=True)
    return ServiceRequest.of(row, info.context.viewer, submitter=submitter)


def _dispatch_later(info: Info, request_id: int) -> None:
    """Ask the workers to dispatch now; if that fails the sweep will, so do not fail the
    mutation that already committed."""
    background = info.context.background
    if background is None:
        return
    try:
        background.dispatch(request_id)
    except Exception:
        log.warning("could not enqueue dispatch of request %s; the sweep will", request_id,
                    exc_info=True)


def _new_request(data: SubmitRequestInput) -> NewRequest:
    return NewRequest(
        category=data.category.value, description=data.description, address=data.address,
        point=data.point.to_wgs84("input.point") if data.point is not None else None,
        contact_name=data.contact_name, contact_phone=data.contact_phone,
        idempotency_key=data.idempotency_key, notify=data.notices)


def _tuning(info: Info) -> Tuning:
    settings = info.context.settings
    return Tuning(due_hours=dict(settings.due_hours), limits=settings.due_limits,
                  nearest_metres=settings.nearest_building_metres,
                  address_threshold=settings.address_match_threshold,
                  tracking_key=tracking_key(settings.secret_key),
                  channel=settings.outbound_channel)


async def submit(info: Info, data: SubmitRequestInput) -> RequestPayload:
    """Store a resident's request and offer possible duplicates; dispatch it after commit.
    A replayed idempotency key answers the earlier request as the caller may see it.
    Its photos are checked before anything is stored, and stored with it, in one
    transaction. Without photos the request is stored by one statement (submit_request)
    on a connection in autocommit mode from the autocommit pool: no BEGIN and COMMIT
    round trips, and no Session (a quarter of a submission's CPU in the API)."""
    photos: list[PreparedPhoto] = []
    try:
        photos = await read_photos(data.photos, "input.photos")
        new = _new_request(data)
        now = datetime.now(UTC)
        if photos:
            done = await _submit_with_photos(info, new, photos, now)
        else:
            async with autocommit_connection(info.context.sessions) as connection:
                done = await submit_request(connection, new, now=now, tuning=_tuning(info))
        row = done.row
        if row is None:  # a replay: the earlier request as it is now
            async with autocommit(info.context.sessions) as session:
                (row,) = await queries.requests_by_ids(session, [done.request_id])
    except InvalidInput as exc:
        failed = _failed(exc)
        failed.photo_position = _suggested(data, photos)
        return failed
    if done.created:
        _dispatch_later(info, done.request_id)
    return RequestPayload(
        photo_position=_suggested(data, photos),
        request=_wrap(info, row, submitter=done.created), replayed=not done.created,
        tracking_code=done.tracking_code,
        nearby=tuple((d.request_id, d.metres) for d in done.duplicates))


async def _submit_with_photos(info: Info, new: NewRequest, photos: list[PreparedPhoto],
                              now: datetime) -> Submitted:
    """A new request and its photos in one transaction (their objects deleted from the
    media store when it fails)."""
    async with undone_on_failure(info), transaction(info.context.sessions) as session:
        done = await submit_request(session, new, now=now, tuning=_tuning(info))
        if done.created:
            await store_photos(info, session, request_id=done.request_id,
                               stage=PhotoStage.PROBLEM, photos=photos, now=now,
                               field="input.photos")
    return done


def _suggested(data: SubmitRequestInput,
               photos: list[PreparedPhoto]) -> tuple[float, float] | None:
    """The photos' GPS position, offered (not used) when the resident gave no point."""
    return first_position(photos) if data.point is None else None


async def change(info: Info, id: str, act: Action, *, redispatch: bool = False) -> RequestPayload:
    """Run `act` on the request `id` in one transaction and answer the request as it is
    now; `redispatch` hands it back to the dispatcher after commit (a decline)."""
    try:
        request_id = decode_id(id, "ServiceRequest", "id")
        async with undone_on_failure(info), transaction(info.context.sessions) as session:
            await act(session, request_id, datetime.now(UTC))
            (row,) = await queries.requests_by_ids(session, [request_id])
    except InvalidInput as exc:
        return _failed(exc)
    if redispatch:
        _dispatch_later(info, request_id)
    return RequestPayload(request=_wrap(info, row))


def acting(info: Info, verb: Callable[..., Awaitable[Changed]], **arguments: str) -> Action:
    """An Action running the domain function `verb` as the caller (accept, decline, start,
    complete, cancel), with its extra `arguments` (reason, resolution)."""
    async def act(session: AsyncSession, request_id: int, now: datetime) -> Changed:
        return await verb(session, request_id=request_id, viewer=info.context.viewer, now=now,
                          **arguments)
    return act


def with_photos(info: Info, act: Action, photos: list[PreparedPhoto], stage: PhotoStage,
                field: str) -> Action:
    """`act`, then `photos` attached to the request at `stage`, in the same transaction."""
    async def both(session: AsyncSession, request_id: int, now: datetime) -> Changed:
        changed = await act(session, request_id, now)
        await store_photos(info, session, request_id=request_id, stage=stage, photos=photos,
                           now=now, field=field)
        return changed
    return both


def assign(info: Info, member_id: str) -> Action:
    """assignServiceRequest's action: hand the request to `member_id`, who gets a notice."""
    settings = info.context.settings

    async def act(session: AsyncSession, request_id: int, now: datetime) -> Changed:
        return await actions.assign_request(
            session, request_id=request_id, member_id=decode_id(member_id, "Member", "memberId"),
            viewer=info.context.viewer, now=now,
            accept_timeout=settings.accept_timeout,
            channel=settings.outbound_channel)
    return act


def resume(info: Info) -> Action:
    """resumeServiceRequest's action, with the settings' time limits."""
    limits = info.context.settings.limits

    async def act(session: AsyncSession, request_id: int, now: datetime) -> Changed:
        return await waiting.resume_request(session, request_id=request_id,
                                            viewer=info.context.viewer, now=now, limits=limits)
    return act


@strawberry.type
class RequestMutation(TrackingMutation):
    @strawberry.mutation(extensions=[RateLimited(SUBMISSION, "input.contactPhone")],
                         description=(
        "A resident raises a need (群众点单), by address or by a point. It is located (building, "
        "building group, grid, community; OUT_OF_AREA when no grid covers it), timed by its "
        "category's limit and dispatched. `possibleDuplicates` lists open requests of the same "
        "category nearby. Open to anonymous callers; RATE_LIMITED per address and per contact "
        "phone."))
    async def submit_service_request(self, info: Info,
                                     input: SubmitRequestInput) -> RequestPayload:
        return await submit(info, input)

    @strawberry.mutation(description=(
        "An administrator, or a grid worker of the request's grid, hands a SUBMITTED or "
        "DISPATCHED request to an ACTIVE member of its building group or grid, who gets a "
        "dispatch notice."))
    async def assign_service_request(self, info: Info, id: strawberry.ID,
                                     member_id: strawberry.ID) -> RequestPayload:
        return await change(info, id, assign(info, member_id))

    @strawberry.mutation(description=(
        "The member a request is dispatched to accepts it (党员接单). A request escalated to "
        "its grid may be taken by any grid worker of that grid: the first wins, the others "
        "get INVALID_TRANSITION."))
    async def accept_service_request(self, info: Info, id: strawberry.ID) -> RequestPayload:
        return await change(info, id, acting(info, actions.accept_request,
                                             channel=_channel(info)))

    @strawberry.mutation(description=(
        "The member a request is dispatched to declines it, saying why; it goes back to "
        "dispatching and is never offered to them again."))
    async def decline_service_request(self, info: Info, id: strawberry.ID,
                                      reason: str) -> RequestPayload:
        return await change(info, id, acting(info, actions.decline_request, reason=reason),
                            redispatch=True)

    @strawberry.mutation(description="The assignee starts the service (ACCEPTED → IN_PROGRESS).")
    async def start_service_request(self, info: Info, id: strawberry.ID) -> RequestPayload:
        return await change(info, id, acting(info, actions.start_request))

    @strawberry.mutation(description=(
        "The assignee completes the service, saying what was done (the ticket's third part, "
        "up to 4,000 characters), with up to 3 photos of the service done (`photos`: files "
        "of a multipart request, as submitServiceRequest's input.photos; errors name "
        "photos[i])."))
    async def complete_service_request(self, info: Info, id: strawberry.ID, resolution: str,
                                       photos: list[Upload] | None = None) -> RequestPayload:
        act = acting(info, actions.complete_request, resolution=resolution,
                     channel=_channel(info))
        try:
            prepared = await read_photos(photos, "photos")
        except InvalidInput as exc:
            return _failed(exc)
        if prepared:
            act = with_photos(info, act, prepared, PhotoStage.SERVICE, "photos")
        return await change(info, id, act)

    @strawberry.mutation(description=(
        "An administrator, or a grid worker of the request's grid, cancels an open request, "
        "saying why."))
    async def cancel_service_request(self, info: Info, id: strawberry.ID,
                                     reason: str) -> RequestPayload:
        return await change(info, id, acting(info, actions.cancel_request, reason=reason,
                                             channel=_channel(info)))

    @strawberry.mutation(description=(
        "The assignee cannot go on without the resident: the request, ACCEPTED or "
        "IN_PROGRESS, becomes WAITING_RESIDENT and its clock stops; the resident reads "
        "`reason` in a text message and in the tracking view. INVALID_TRANSITION from any "
        "other state."))
    async def wait_for_resident(self, info: Info, id: strawberry.ID,
                                reason: str) -> RequestPayload:
        return await change(info, id, acting(info, waiting.wait_for_resident, reason=reason,
                                             channel=_channel(info)))

    @strawberry.mutation(description=(
        "Staff start the clock of a request WAITING_RESIDENT again (the assignee, an "
        "administrator, or a grid worker of its grid), e.g. after the resident answered on "
        "the phone: it goes back to ACCEPTED or IN_PROGRESS, the time waited added to "
        "dueAt."))
    async def resume_service_request(self, info: Info, id: strawberry.ID) -> RequestPayload:
        return await change(info, id, resume(info))
