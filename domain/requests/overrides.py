"""A community's exceptions to the national working calendar: a day off (a local festival)
or a working day, set by an administrator within their territory, audited.

Time limits of requests submitted afterwards count with them (domain.workdays); requests
already submitted keep their due time.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from domain.access import Viewer
from domain.errors import InvalidInput
from domain.infra import rows
from domain.people.audit import actor_of, record
from domain.workdays import WorkCalendar, known_years

MAX_NOTE = 200


@dataclass(frozen=True)
class Override:
    """One community's exception: `working` True makes the day a working day."""

    community_id: int
    day: date
    working: bool
    note: str | None


async def community_calendar(session: rows.Executor,
                             community_id: int | None) -> WorkCalendar:
    """The national calendar with the overrides of `community_id` (none when None)."""
    if community_id is None:
        return WorkCalendar()
    found = await rows.fetch_all(
        session, "SELECT day, working FROM calendar_override WHERE community_id = %(c)s",
        {"c": community_id})
    return WorkCalendar({day: bool(working) for day, working in found})


async def list_overrides(session: AsyncSession, viewer: Viewer,
                         community_id: int) -> list[Override]:
    """A community's overrides, by day, for staff who administer it (else FORBIDDEN)."""
    await _within(session, viewer, community_id)
    rows = await session.execute(text("""
        SELECT community_id, day, working, note FROM calendar_override
        WHERE community_id = :c ORDER BY day"""), {"c": community_id})
    return [Override(int(r.community_id), r.day, bool(r.working), r.note) for r in rows]


async def _within(session: AsyncSession, viewer: Viewer, community_id: int) -> None:
    """The community exists and the caller administers it (domain.access.Viewer.administers:
    city-wide staff, or staff whose territories hold it); else NOT_FOUND or FORBIDDEN."""
    found = (await session.execute(text("SELECT id FROM community WHERE id = :id"),
                                   {"id": community_id})).first()
    if found is None:
        raise InvalidInput.one("NOT_FOUND", "no community has this id", "communityId")
    if not viewer.administers(community_id):
        raise InvalidInput.one("FORBIDDEN", "the community is outside your territory",
                               "communityId")


async def _check(session: AsyncSession, viewer: Viewer, community_id: int, day: date) -> None:
    """Within the caller's territory, and a day the calendar knows (else FORBIDDEN,
    NOT_FOUND or OUT_OF_RANGE, naming the argument)."""
    await _within(session, viewer, community_id)
    years = known_years()
    if day.year not in years:
        raise InvalidInput.one(
            "OUT_OF_RANGE", f"the working calendar knows the years {years.start} to "
            f"{years.stop - 1}; {day.isoformat()} is outside them", "date")


async def set_override(session: AsyncSession, *, viewer: Viewer, community_id: int, day: date,
                       working: bool, note: str | None = None) -> Override:
    """Make `day` a working day (`working`) or a day off in one community, replacing any
    earlier override of that day; audited (CALENDAR_OVERRIDE_SET)."""
    await _check(session, viewer, community_id, day)
    note = (note or "").strip() or None
    if note is not None and len(note) > MAX_NOTE:
        raise InvalidInput.one("TOO_LONG", f"note must be at most {MAX_NOTE} characters", "note")
    before = (await session.execute(text("""
        SELECT working FROM calendar_override WHERE community_id = :c AND day = :d"""),
        {"c": community_id, "d": day})).scalar_one_or_none()
    await session.execute(text("""
        INSERT INTO calendar_override (community_id, day, working, note, created_by)
        VALUES (:c, :d, :working, :note, :by)
        ON CONFLICT (community_id, day) DO UPDATE SET working = EXCLUDED.working,
            note = EXCLUDED.note, created_by = EXCLUDED.created_by, created_at = now()"""),
        {"c": community_id, "d": day, "working": working, "note": note,
         "by": actor_of(viewer)})
    await record(session, actor=actor_of(viewer), action="CALENDAR_OVERRIDE_SET",
                 subject=("Community", community_id), community_id=community_id,
                 detail={"date": day.isoformat(), "before": before, "after": working,
                         "note": note})
    return Override(community_id, day, working, note)


async def remove_override(session: AsyncSession, *, viewer: Viewer, community_id: int,
                          day: date) -> bool:
    """Drop a community's override of `day` (the national calendar applies again); whether
    there was one. Audited (CALENDAR_OVERRIDE_REMOVED) when there was."""
    await _check(session, viewer, community_id, day)
    removed = (await session.execute(text("""
        DELETE FROM calendar_override WHERE community_id = :c AND day = :d
        RETURNING working"""), {"c": community_id, "d": day})).scalar_one_or_none()
    if removed is not None:
        await record(session, actor=actor_of(viewer), action="CALENDAR_OVERRIDE_REMOVED",
                     subject=("Community", community_id), community_id=community_id,
                     detail={"date": day.isoformat(), "before": removed})
    return removed is not None
