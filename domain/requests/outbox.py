"""Outbound messages, written in the same transaction as the change that causes them.

Delivery happens later (the sender actor): a message that was written is never lost, and the
`dedupe_key` makes a retried change unable to write it twice.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

DEFAULT_CHANNEL = "log"


@dataclass(frozen=True)
class Message:
    """A message to write: who, what kind, the text, and the key that makes it unique."""

    recipient: str
    kind: str
    body: str
    dedupe_key: str
    request_id: int | None = None
    member_id: int | None = None
    survey_token: str | None = None
    channel: str = DEFAULT_CHANNEL


_WRITE = text("""
    INSERT INTO outbound_message (channel, recipient, kind, body, request_id, member_id,
                                  survey_token, dedupe_key)
    VALUES (:channel, :recipient, :kind, :body, :request_id, :member_id, :survey_token,
            :dedupe_key)
    ON CONFLICT (dedupe_key) DO NOTHING RETURNING id""")


async def write_message(session: AsyncSession, message: Message) -> int | None:
    """Store a message for delivery; None when one with the same dedupe key exists."""
    row = await session.execute(_WRITE, message.__dict__)
    value = row.scalar_one_or_none()
    return None if value is None else int(value)
