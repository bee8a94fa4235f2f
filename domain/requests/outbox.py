"""Outbound messages, written in the same transaction as the change that causes them.

Delivery happens later (the sender actor): a message that was written is never lost, and the
`dedupe_key` makes a retried change unable to write it twice.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, fields

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


_WRITE_MANY = text("""
    INSERT INTO outbound_message (channel, recipient, kind, body, request_id, member_id,
                                  survey_token, dedupe_key)
    SELECT * FROM unnest(CAST(:channel AS text[]), CAST(:recipient AS text[]),
                         CAST(:kind AS text[]), CAST(:body AS text[]),
                         CAST(:request_id AS integer[]), CAST(:member_id AS integer[]),
                         CAST(:survey_token AS text[]), CAST(:dedupe_key AS text[]))
    ON CONFLICT (dedupe_key) DO NOTHING RETURNING dedupe_key, id""")


async def write_messages(session: AsyncSession, messages: Sequence[Message]) -> dict[str, int]:
    """Store many messages in one statement; the ids of those written, by dedupe key (a
    message whose dedupe key exists already is skipped, as in `write_message`)."""
    if not messages:
        return {}
    columns = {f.name: [getattr(m, f.name) for m in messages] for f in fields(Message)}
    rows = await session.execute(_WRITE_MANY, columns)
    return {r.dedupe_key: int(r.id) for r in rows}
