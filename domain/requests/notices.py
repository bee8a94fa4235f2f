"""What the resident hears about their request: a confirmation at submission
(REQUEST_RECEIVED) and one notice each when it is accepted, completed, escalated or
cancelled (REQUEST_ACCEPTED, REQUEST_COMPLETED, REQUEST_ESCALATED, REQUEST_CANCELLED), and
when the assignee needs them (REQUEST_WAITING).

Written to the outbox in the transaction of the change, to the contact phone, only when
there is one; the notices (not the confirmation) only while the resident wants them
(`service_request.notify`: the submission's `notices`, or the stop link in every message).
Texts are domain.templates'; their `{track}` and `{stop}` links are written in on delivery
(domain.requests.tracking).
"""

from __future__ import annotations

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from domain import templates
from domain.requests.outbox import DEFAULT_CHANNEL, Message, write_message
from domain.requests.tracking import STOP, TRACK

RECEIVED = "REQUEST_RECEIVED"
ACCEPTED = "REQUEST_ACCEPTED"
COMPLETED = "REQUEST_COMPLETED"
ESCALATED = "REQUEST_ESCALATED"
CANCELLED = "REQUEST_CANCELLED"
WAITING = "REQUEST_WAITING"

_REQUEST = text("""
    SELECT number, category, contact_phone, notify FROM service_request WHERE id = :id""")


async def notify_resident(session: AsyncSession, *, request_id: int, kind: str,
                          channel: str = DEFAULT_CHANNEL, once_per: str | int | None = None,
                          **fields: object) -> int | None:
    """Write the resident's message of `kind` about a request (the template's fields beyond
    number, category and the links in `fields`); one per request and kind, or per request,
    kind and `once_per` (an event id, for a kind that may happen again). The message's id,
    or None when none was written (no phone, notices stopped, written already)."""
    row = (await session.execute(_REQUEST, {"id": request_id})).first()
    if row is None or not row.contact_phone or (kind != RECEIVED and not row.notify):
        return None
    body = templates.render(kind, number=row.number,
                            category=templates.category_name(row.category),
                            track=TRACK, stop=STOP, **fields)
    key = f"{kind}:{request_id}" + ("" if once_per is None else f":{once_per}")
    return await write_message(session, Message(
        recipient=row.contact_phone, kind=kind, body=body, dedupe_key=key,
        request_id=request_id, channel=channel))
