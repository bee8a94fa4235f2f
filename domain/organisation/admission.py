"""The admission cycle of the documents (准入、公示、考核、退出): a CANDIDATE is posted for a
public notice of 1 to 30 days, anyone may object while it runs, staff dismiss or uphold each
objection with a reason, and the candidate is admitted (ACTIVE, `joined_at`) only after the
notice has ended with no objection open and none upheld. Staff suspend, reinstate and exit
members, each with a reason; suspension and exit hand the member's open requests back to
dispatch (domain.organisation.handback), and exit ends the member's sessions.

Every step is written into the member's history and the audit trail, before and after, in the
transaction of the change; the member's row is locked for it, so two staff acting on one
member take turns and the second sees the first's result.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from domain.access import Viewer, mask_phone
from domain.errors import InvalidInput
from domain.organisation import within
from domain.organisation.handback import hand_back_requests
from domain.organisation.history import append_change
from domain.organisation.models import CandidateNotice, Objection, ObjectionStatus
from domain.people.audit import RESIDENT, record
from domain.people.sessions import end_member_sessions
from domain.requests.policy import due_limits
from domain.spatial.members import snapshot
from domain.spatial.models import Member
from domain.spatial.models import MemberStatus as S
from domain.spatial.phone import normalize_phone
from domain.workdays import Limit

#: The shortest and longest public notice (公示), in days.
NOTICE_DAYS = (1, 30)
#: The longest reason or objection kept.
MAX_REASON = 1000


@dataclass(frozen=True)
class Dispatching:
    """What a status change needs to hand requests back: the settings of dispatch."""

    accept_timeout: timedelta
    channel: str = "log"
    #: Each category's time limit (Settings.limits), for requests waiting on the resident.
    limits: Mapping[str, Limit] = field(default_factory=due_limits)


@dataclass
class Changed:
    """A member after a step, and the notices it wrote (to send after commit)."""

    member: Member
    handed_back: list[int] = field(default_factory=list)
    message_ids: list[int] = field(default_factory=list)


def check_reason(reason: str | None, field_name: str = "reason") -> str:
    """A reason: 1 to MAX_REASON characters after trimming; InvalidInput naming the field."""
    value = (reason or "").strip()
    if not value:
        raise InvalidInput.one("REQUIRED", "give a reason", field_name)
    if len(value) > MAX_REASON:
        raise InvalidInput.one("TOO_LONG", f"at most {MAX_REASON} characters", field_name)
    return value


async def _member(session: AsyncSession, viewer: Viewer, member_id: int) -> Member:
    """The member, locked, within the caller's territories (NOT_FOUND / FORBIDDEN naming `id`)."""
    member = await session.get(Member, member_id, with_for_update=True)
    if member is None:
        raise InvalidInput.one("NOT_FOUND", "no member has this id", "id")
    within.require(viewer, await within.community_of(
        session, within.MEMBER_COMMUNITY, member_id), "id")
    return member


def _require_status(member: Member, *allowed: S, doing: str) -> None:
    if member.status not in {s.value for s in allowed}:
        names = " or ".join(s.value for s in allowed)
        raise InvalidInput.one("INVALID_STATUS", f"the member is {member.status}; {doing} "
                               f"needs {names}", "id")


async def _latest_notice(session: AsyncSession, member_id: int) -> CandidateNotice | None:
    return (await session.execute(
        select(CandidateNotice).where(col(CandidateNotice.member_id) == member_id)
        .order_by(col(CandidateNotice.id).desc()).limit(1))).scalar_one_or_none()


async def _step(session: AsyncSession, member: Member, *, to: S, actor: str,
                reason: str | None, now: datetime, action: str,
                extra: dict[str, object] | None = None) -> None:
    """Set the status, append the history and audit entry (before and after)."""
    before, old = snapshot(member, []), member.status
    member.status = to.value
    if to == S.ACTIVE and member.joined_at is None:
        member.joined_at = now
    await session.flush()
    await append_change(session, member_id=member.id or 0, from_status=old,
                        to_status=to.value, actor=actor, reason=reason, now=now)
    await record(session, actor=actor, action=action, subject=("Member", member.id or 0),
                 detail={"before": before, "after": snapshot(member, []), "reason": reason,
                         **(extra or {})})


async def post_candidate(session: AsyncSession, *, viewer: Viewer, member_id: int,
                         notice_days: int, now: datetime, actor: str) -> Member:
    """Start the public notice of a CANDIDATE: `notice_days` (1 to 30) from now."""
    low, high = NOTICE_DAYS
    if not low <= notice_days <= high:
        raise InvalidInput.one("INVALID_VALUE", f"a notice lasts {low} to {high} days",
                               "noticeDays")
    member = await _member(session, viewer, member_id)
    _require_status(member, S.CANDIDATE, doing="posting a notice")
    running = await _latest_notice(session, member_id)
    if running is not None and running.ends_at > now:
        raise InvalidInput.one("NOTICE_RUNNING", f"the notice runs until "
                               f"{running.ends_at.isoformat()}", "id")
    notice = CandidateNotice(member_id=member_id, posted_at=now,
                             ends_at=now + timedelta(days=notice_days), actor=actor)
    session.add(notice)
    await session.flush()
    reason = f"posted for {notice_days} days until {notice.ends_at.date().isoformat()}"
    await append_change(session, member_id=member_id, from_status=member.status,
                        to_status=member.status, actor=actor, reason=reason, now=now)
    await record(session, actor=actor, action="CANDIDATE_POSTED", subject=("Member", member_id),
                 detail={"after": {"postedAt": now.isoformat(),
                                   "endsAt": notice.ends_at.isoformat()}})
    return member


async def object_to_candidate(session: AsyncSession, *, member_id: int, reason: str,
                              contact_phone: str | None, now: datetime) -> Objection:
    """Anyone's objection to a candidate whose notice is running now (NOT_ON_NOTICE naming
    `id` otherwise; a wrong phone INVALID_PHONE naming `contactPhone`)."""
    text_ = check_reason(reason)
    phone = None
    if contact_phone and contact_phone.strip():
        try:
            phone = normalize_phone(contact_phone)
        except ValueError as exc:
            raise InvalidInput.one("INVALID_PHONE", str(exc), "contactPhone") from None
    member = await session.get(Member, member_id)
    notice = None if member is None else await _latest_notice(session, member_id)
    if member is None or member.status != S.CANDIDATE.value or notice is None or \
            not notice.posted_at <= now < notice.ends_at:
        raise InvalidInput.one("NOT_ON_NOTICE", "no candidate with this id is on public "
                               "notice now", "id")
    objection = Objection(notice_id=notice.id or 0, at=now, reason=text_, contact_phone=phone)
    session.add(objection)
    await session.flush()
    await record(session, actor=RESIDENT, action="OBJECTION_RECEIVED",
                 subject=("Member", member_id),
                 detail={"after": {"objection": objection.id, "reason": text_,
                                   "contactPhone": mask_phone(phone)}})
    return objection


async def resolve_objection(session: AsyncSession, *, viewer: Viewer, objection_id: int,
                            uphold: bool, reason: str, now: datetime, actor: str) -> Objection:
    """Dismiss or uphold an OPEN objection with a reason, within the caller's territories."""
    why = check_reason(reason)
    objection = await session.get(Objection, objection_id, with_for_update=True)
    notice = None if objection is None else await session.get(CandidateNotice,
                                                              objection.notice_id)
    if objection is None or notice is None:
        raise InvalidInput.one("NOT_FOUND", "no objection has this id", "id")
    await _member(session, viewer, notice.member_id)
    if objection.status != ObjectionStatus.OPEN.value:
        raise InvalidInput.one("INVALID_STATUS", f"the objection is {objection.status} already",
                               "id")
    status = ObjectionStatus.UPHELD if uphold else ObjectionStatus.DISMISSED
    objection.status, objection.resolved_at = status.value, now
    objection.resolved_by, objection.resolution = actor, why
    await session.flush()
    await record(session, actor=actor, action=f"OBJECTION_{status.value}",
                 subject=("Member", notice.member_id),
                 detail={"before": {"objection": objection_id, "status": "OPEN"},
                         "after": {"objection": objection_id, "status": status.value},
                         "reason": why})
    return objection


_OBJECTIONS = text("""
    SELECT count(*) FILTER (WHERE status = 'OPEN') AS open,
           count(*) FILTER (WHERE status = 'UPHELD') AS upheld
    FROM objection WHERE notice_id = :notice""")


async def admit_member(session: AsyncSession, *, viewer: Viewer, member_id: int,
                       now: datetime, actor: str) -> Member:
    """ACTIVE, with `joined_at`, once the notice has ended with no objection open and none
    upheld."""
    member = await _member(session, viewer, member_id)
    _require_status(member, S.CANDIDATE, doing="admitting")
    notice = await _latest_notice(session, member_id)
    if notice is None:
        raise InvalidInput.one("NOT_POSTED", "post the candidate for a public notice first",
                               "id")
    if notice.ends_at > now:
        raise InvalidInput.one("NOTICE_RUNNING", f"the notice runs until "
                               f"{notice.ends_at.isoformat()}", "id")
    counts = (await session.execute(_OBJECTIONS, {"notice": notice.id})).one()
    if counts.open:
        raise InvalidInput.one("OBJECTION_OPEN", f"{counts.open} objection(s) still open: "
                               "dismiss or uphold each first", "id")
    if counts.upheld:
        raise InvalidInput.one("OBJECTION_UPHELD", "an objection was upheld: the candidate "
                               "cannot be admitted on this notice", "id")
    await _step(session, member, to=S.ACTIVE, actor=actor, reason="notice ended without "
                "objection", now=now, action="MEMBER_ADMITTED")
    return member


async def suspend_member(session: AsyncSession, *, viewer: Viewer, member_id: int,
                         reason: str, now: datetime, actor: str,
                         dispatching: Dispatching) -> Changed:
    """ACTIVE → SUSPENDED; their open requests go back to dispatch."""
    why = check_reason(reason)
    member = await _member(session, viewer, member_id)
    _require_status(member, S.ACTIVE, doing="suspending")
    return await _leave(session, member, to=S.SUSPENDED, why=why, now=now, actor=actor,
                        dispatching=dispatching, action="MEMBER_SUSPENDED")


async def reinstate_member(session: AsyncSession, *, viewer: Viewer, member_id: int,
                           reason: str, now: datetime, actor: str) -> Member:
    """SUSPENDED → ACTIVE."""
    why = check_reason(reason)
    member = await _member(session, viewer, member_id)
    _require_status(member, S.SUSPENDED, doing="reinstating")
    await _step(session, member, to=S.ACTIVE, actor=actor, reason=why, now=now,
                action="MEMBER_REINSTATED")
    return member


_UNLEAD = text("UPDATE building_group SET leader_id = NULL WHERE leader_id = :id")


async def exit_member(session: AsyncSession, *, viewer: Viewer, member_id: int,
                      reason: str, now: datetime, actor: str,
                      dispatching: Dispatching) -> Changed:
    """Any status but EXITED → EXITED: their open requests go back to dispatch, their
    sessions end, they lead no group any more."""
    why = check_reason(reason)
    member = await _member(session, viewer, member_id)
    _require_status(member, S.CANDIDATE, S.ACTIVE, S.SUSPENDED, doing="exiting")
    ended = await end_member_sessions(session, member_id=member_id, now=now,
                                      reason="MEMBER_EXITED")
    await session.execute(_UNLEAD, {"id": member_id})
    return await _leave(session, member, to=S.EXITED, why=why, now=now, actor=actor,
                        dispatching=dispatching, action="MEMBER_EXITED",
                        extra={"sessionsEnded": ended})


async def _leave(session: AsyncSession, member: Member, *, to: S, why: str, now: datetime,
                 actor: str, dispatching: Dispatching, action: str,
                 extra: dict[str, object] | None = None) -> Changed:
    await _step(session, member, to=to, actor=actor, reason=why, now=now, action=action,
                extra=extra)
    handed, messages = await hand_back_requests(
        session, member_id=member.id or 0, now=now, actor=actor, note=why,
        accept_timeout=dispatching.accept_timeout, channel=dispatching.channel,
        limits=dispatching.limits)
    if handed:
        await record(session, actor=actor, action="REQUESTS_HANDED_BACK",
                     subject=("Member", member.id or 0), detail={"requests": handed})
    return Changed(member, handed, messages)
