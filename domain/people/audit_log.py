"""Reading the audit trail within a caller's territories, and its retention.

A city-wide caller sees every entry; an account of subdistricts or communities only those
whose community lies within them (an entry without a community, such as a sign-in of a staff
account, is for city-wide callers only). Pages are newest first.

Retention: entries older than AUDIT_RETENTION_DAYS are deleted by a periodic job, in batches
of RETENTION_BATCH, each its own transaction that sets `gridsteward.retention` on for itself:
the only DELETE the table's trigger lets through.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, select, text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlmodel import col

from domain.access import Territories
from domain.infra.paging import Page, fetch_page
from domain.people.models import AuditEntry
from domain.visibility import Kind, staff_of, visible_clause

#: Three years, as the issue asks (AUDIT_RETENTION_DAYS).
DEFAULT_RETENTION_DAYS = 3 * 365
#: Entries one retention transaction deletes at most.
RETENTION_BATCH = 5000


@dataclass(frozen=True)
class AuditFilter:
    """auditLog's filters; None matches anything. `since` is inclusive, `until` exclusive."""

    subject: tuple[str, int] | None = None
    actor: str | None = None
    action: str | None = None
    since: datetime | None = None
    until: datetime | None = None


def within_clause(scope: Territories) -> Any:
    """Entries whose community lies within `scope`, as a SQL condition (domain.visibility's
    AUDIT_ENTRY rule)."""
    return visible_clause(staff_of(scope), Kind.AUDIT_ENTRY, AuditEntry)


def _filters(given: AuditFilter) -> list[Any]:
    found: list[Any] = []
    if given.subject is not None:
        found.append(and_(col(AuditEntry.subject_type) == given.subject[0],
                          col(AuditEntry.subject_id) == given.subject[1]))
    if given.actor is not None:
        found.append(col(AuditEntry.actor) == given.actor)
    if given.action is not None:
        found.append(col(AuditEntry.action) == given.action)
    if given.since is not None:
        found.append(col(AuditEntry.at) >= given.since)
    if given.until is not None:
        found.append(col(AuditEntry.at) < given.until)
    return found


async def audit_page(session: AsyncSession, *, scope: Territories, given: AuditFilter,
                     first: int, after: int | None) -> Page[AuditEntry]:
    """The entries within `scope` matching `given`, newest first."""
    stmt = select(AuditEntry).where(within_clause(scope), *_filters(given))
    return await fetch_page(session, stmt, col(AuditEntry.id), first=first, after=after,
                            descending=True)


async def entry_within(session: AsyncSession, *, scope: Territories, entry_id: int) -> bool:
    """Whether the entry lies within `scope` (node look-ups)."""
    stmt = select(col(AuditEntry.id)).where(col(AuditEntry.id) == entry_id,
                                            within_clause(scope))
    return (await session.execute(stmt)).first() is not None


_DELETE_BATCH = text("""
    DELETE FROM audit_entry WHERE id IN (
        SELECT id FROM audit_entry WHERE at < :cutoff ORDER BY id LIMIT :batch)""")


async def delete_expired(sessions: async_sessionmaker[AsyncSession], *, now: datetime,
                         days: int, batch: int = RETENTION_BATCH) -> int:
    """Delete the entries older than `days` as of `now`, `batch` per transaction; how many.
    Safe to run twice at once (the second finds fewer or none)."""
    cutoff, deleted = now - timedelta(days=days), 0
    while True:
        async with sessions() as session, session.begin():
            await session.execute(text("SET LOCAL gridsteward.retention = on"))
            result = await session.execute(_DELETE_BATCH, {"cutoff": cutoff, "batch": batch})
        count = int(result.rowcount)  # type: ignore[attr-defined]
        deleted += count
        if count < batch:
            return deleted
