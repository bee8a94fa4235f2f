"""The one way a request's status changes: compare-and-set in SQL, with an event for each.

Every transition is an UPDATE guarded by the states it may start from (and, where it matters,
by who holds the request). Two callers racing for the same change: exactly one UPDATE matches,
the other is told the request's current state (INVALID_TRANSITION).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache
from typing import Any

from sqlalchemy import TextClause, text
from sqlalchemy.ext.asyncio import AsyncSession

from domain.access import Viewer
from domain.errors import InvalidInput, UserError
from domain.requests.models import RequestStatus as S


@dataclass(frozen=True)
class Transition:
    """An action, the states it may start from and the state it leads to."""

    action: str
    sources: tuple[S, ...]
    target: S
    event: str


TRANSITIONS = {t.action: t for t in (
    Transition("dispatch", (S.SUBMITTED,), S.DISPATCHED, "DISPATCHED"),
    Transition("assign", (S.SUBMITTED, S.DISPATCHED), S.DISPATCHED, "ASSIGNED"),
    Transition("decline", (S.DISPATCHED,), S.SUBMITTED, "DECLINED"),
    Transition("accept_timeout", (S.DISPATCHED,), S.SUBMITTED, "ACCEPT_TIMEOUT"),
    Transition("accept", (S.DISPATCHED,), S.ACCEPTED, "ACCEPTED"),
    Transition("take", (S.SUBMITTED,), S.ACCEPTED, "ACCEPTED"),
    Transition("start", (S.ACCEPTED,), S.IN_PROGRESS, "STARTED"),
    Transition("complete", (S.IN_PROGRESS,), S.COMPLETED, "COMPLETED"),
    Transition("close", (S.COMPLETED,), S.CLOSED, "CLOSED"),
    Transition("reopen", (S.COMPLETED,), S.SUBMITTED, "REOPENED"),
    Transition("cancel", (S.SUBMITTED, S.DISPATCHED, S.ACCEPTED, S.IN_PROGRESS,
                          S.WAITING_RESIDENT), S.CANCELLED, "CANCELLED"),
    Transition("wait", (S.ACCEPTED, S.IN_PROGRESS), S.WAITING_RESIDENT, "WAITING_RESIDENT"),
    Transition("resume_accepted", (S.WAITING_RESIDENT,), S.ACCEPTED, "RESUMED"),
    Transition("resume_in_progress", (S.WAITING_RESIDENT,), S.IN_PROGRESS, "RESUMED"),
)}

_SETTABLE = frozenset({"assignee_id", "dispatched_at", "accept_deadline", "completed_at",
                       "resolution", "escalation_level", "waiting_since", "waiting_from",
                       "due_at", "due_fallback"})


@dataclass(frozen=True)
class Changed:
    """The request after a successful transition, and the event written for it."""

    request_id: int
    from_status: str
    to_status: str
    event_id: int
    #: The notice written with it (`Notices`), when one was asked for.
    message_id: int | None = None


@dataclass(frozen=True)
class Notices:
    """Messages `assign_many` writes to the outbox with its transitions, in the same
    statement: of `kind` on `channel`, to each request's (recipient, body) in `texts`, with
    the dedupe key `<kind>:<event id>` (the event the transition wrote)."""

    kind: str
    channel: str
    texts: dict[int, tuple[str, str]]


_RECORD_EVENT = text("""
    INSERT INTO request_event (request_id, at, kind, from_status, to_status, actor, member_id,
                               note)
    VALUES (:request_id, :at, :kind, :from_status, :to_status, :actor, :member_id, :note)
    RETURNING id""")


async def record_event(session: AsyncSession, *, request_id: int, kind: str, now: datetime,
                       actor: str | None, member_id: int | None = None,
                       from_status: str | None = None, to_status: str | None = None,
                       note: str | None = None) -> int:
    """Append one event to a request's timeline (the database notifies live screens)."""
    row = await session.execute(_RECORD_EVENT, {
        "request_id": request_id, "at": now, "kind": kind, "from_status": from_status,
        "to_status": to_status, "actor": actor, "member_id": member_id, "note": note})
    return int(row.scalar_one())


@lru_cache(maxsize=64)
def _transition_sql(sets: tuple[str, ...], guarded: bool) -> TextClause:
    """The compare-and-set UPDATE and its event in one statement: the event is inserted only
    when the UPDATE matched (one round trip, where an UPDATE and an INSERT took two)."""
    assignments = "".join(f", {name} = :{name}" for name in sets)
    guard = " AND r.assignee_id = :assignee" if guarded else ""
    return text(f"""
        WITH old AS (SELECT id, status FROM service_request WHERE id = :id FOR UPDATE),
        changed AS (
          UPDATE service_request r SET status = :target, updated_at = :now{assignments}
          FROM old WHERE r.id = old.id AND old.status = ANY(:sources){guard}
          RETURNING old.status AS from_status),
        event AS (
          INSERT INTO request_event (request_id, at, kind, from_status, to_status, actor,
                                     member_id, note)
          SELECT :id, :now, :event, from_status, :target, :actor, :member_id, :note
          FROM changed RETURNING id)
        SELECT changed.from_status, event.id FROM changed, event""")


async def transition(session: AsyncSession, *, request_id: int, action: str, now: datetime,
                     actor: str | None, assignee: int | None = None,
                     member_id: int | None = None, note: str | None = None,
                     changes: dict[str, Any] | None = None,
                     field: str = "id") -> Changed:
    """Apply `action` to a request if it is in a source state (and, when `assignee` is given,
    held by that member), with its event; raise InvalidInput saying why not otherwise."""
    step = TRANSITIONS[action]
    changes = changes or {}
    unknown = set(changes) - _SETTABLE
    if unknown:
        raise ValueError(f"cannot set {sorted(unknown)} through a transition")
    sql = _transition_sql(tuple(sorted(changes)), assignee is not None)
    row = (await session.execute(sql, {
        "id": request_id, "target": step.target.value, "now": now, "assignee": assignee,
        "sources": [s.value for s in step.sources], "event": step.event, "actor": actor,
        "member_id": member_id, "note": note, **changes})).first()
    if row is None:
        raise await _why_not(session, request_id, step, assignee, field)
    return Changed(request_id, row.from_status, step.target.value, int(row.id))


@lru_cache(maxsize=16)
def _assign_many_sql(sets: tuple[str, ...], notices: bool) -> TextClause:
    """`_transition_sql` for many requests at once, each handed to its own member (one
    statement, one event per request changed), and with `notices` a message per event."""
    assignments = "".join(f", {name} = :{name}" for name in sets)
    notice = """,
        notice AS (
          INSERT INTO outbound_message (channel, recipient, kind, body, request_id, member_id,
                                        dedupe_key)
          SELECT CAST(:channel AS text), pick.recipient, CAST(:kind AS text), pick.body,
                 event.request_id, pick.member_id, CAST(:kind AS text) || ':' || event.id
          FROM event JOIN pick ON pick.id = event.request_id
          ON CONFLICT (dedupe_key) DO NOTHING RETURNING request_id, id)""" if notices else ""
    return text(f"""
        WITH pick AS (
          SELECT * FROM unnest(CAST(:ids AS integer[]), CAST(:members AS integer[]),
                               CAST(:recipients AS text[]), CAST(:bodies AS text[]))
            AS p(id, member_id, recipient, body)),
        old AS (
          SELECT r.id, r.status, pick.member_id FROM service_request r JOIN pick USING (id)
          FOR UPDATE OF r),
        changed AS (
          UPDATE service_request r SET status = :target, updated_at = :now,
                 assignee_id = old.member_id{assignments}
          FROM old WHERE r.id = old.id AND old.status = ANY(:sources)
          RETURNING r.id, old.member_id, old.status AS from_status),
        event AS (
          INSERT INTO request_event (request_id, at, kind, from_status, to_status, actor,
                                     member_id)
          SELECT id, :now, :event, from_status, :target, :actor, member_id FROM changed
          RETURNING id, request_id){notice}
        SELECT changed.id AS request_id, changed.from_status, event.id AS event_id,
               {"notice.id" if notices else "NULL"} AS message_id
        FROM changed JOIN event ON event.request_id = changed.id
        {"LEFT JOIN notice ON notice.request_id = changed.id" if notices else ""}""")


async def assign_many(session: AsyncSession, *, action: str, now: datetime,
                      actor: str | None, picks: Sequence[tuple[int, int]],
                      changes: dict[str, Any] | None = None,
                      notices: Notices | None = None) -> dict[int, Changed]:
    """Apply `action` to many requests at once, each `(request_id, member_id)` pair making
    that member the assignee (the event names them too), with `changes` set on every row
    and, with `notices`, a message for each transition (Changed.message_id; None when its
    dedupe key was taken). Returns the transitions that happened, by request id; a request
    not in a source state is left alone and missing from the result (the caller holds the
    rows locked, or asks `transition` for the reason). One statement."""
    if not picks:
        return {}
    step = TRANSITIONS[action]
    changes = changes or {}
    unknown = set(changes) - (_SETTABLE - {"assignee_id"})
    if unknown:
        raise ValueError(f"cannot set {sorted(unknown)} through a transition")
    texts = notices.texts if notices is not None else {}
    none = (None, None)
    rows = await session.execute(_assign_many_sql(tuple(sorted(changes)), notices is not None), {
        "ids": [r for r, _ in picks], "members": [m for _, m in picks],
        "recipients": [texts.get(r, none)[0] for r, _ in picks],
        "bodies": [texts.get(r, none)[1] for r, _ in picks],
        "target": step.target.value, "now": now, "sources": [s.value for s in step.sources],
        "event": step.event, "actor": actor, **changes,
        **({"kind": notices.kind, "channel": notices.channel} if notices else {})})
    return {int(r.request_id): Changed(
        int(r.request_id), r.from_status, step.target.value, int(r.event_id),
        None if r.message_id is None else int(r.message_id)) for r in rows}


async def _why_not(session: AsyncSession, request_id: int, step: Transition,
                   assignee: int | None, field: str) -> InvalidInput:
    row = (await session.execute(text(
        "SELECT status, assignee_id FROM service_request WHERE id = :id"),
        {"id": request_id})).first()
    if row is None:
        return InvalidInput([UserError("NOT_FOUND", "no service request has this id", field)])
    if row.status in {s.value for s in step.sources} and assignee is not None:
        return InvalidInput([UserError("NOT_ASSIGNEE", "only the member the request is "
                                       "dispatched to may do this", field)])
    allowed = ", ".join(s.value for s in step.sources)
    return InvalidInput([UserError(
        "INVALID_TRANSITION", f"the request is {row.status}; {step.action.replace('_', ' ')} "
        f"needs it to be {allowed}", field)])


def timeline_actor(viewer: Viewer) -> str:
    """How the timeline names a caller: "account:<id>", "admin" or "member:<id>"."""
    if viewer.account_id is not None:
        return f"account:{viewer.account_id}"
    return "admin" if viewer.admin else f"member:{viewer.member_id}"


def checked_text(value: str, field: str, limit: int) -> str:
    """A note, reason or resolution: not blank, at most `limit` characters; stripped."""
    if not value.strip():
        raise InvalidInput.one("REQUIRED", f"{field} must not be empty", field)
    if len(value) > limit:
        raise InvalidInput.one("TOO_LONG", f"{field} must be at most {limit} characters",
                               field)
    return value.strip()
