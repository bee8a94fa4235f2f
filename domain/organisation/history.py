"""A member's status history: every change of status, with who made it and why, appended in
the transaction of the change (the API's `Member.history`)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

_APPEND = text("""
    INSERT INTO member_status_change (member_id, at, from_status, to_status, actor, reason)
    VALUES (:member_id, :at, :from_status, :to_status, :actor, :reason)""")


async def append_change(session: AsyncSession, *, member_id: int, from_status: str | None,
                        to_status: str, actor: str, reason: str | None,
                        now: datetime) -> None:
    """Append one step of the member's history."""
    await session.execute(_APPEND, {"member_id": member_id, "at": now,
                                    "from_status": from_status, "to_status": to_status,
                                    "actor": actor, "reason": reason})
