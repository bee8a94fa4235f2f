"""PHONE_REVEALED: every answer that carried someone else's phone number unmasked.

A resolver that hands out a phone whole calls `reveal`, which only notes it in the request's
context; `write_reveals`, a step of the one schema extension (schema.common.operation),
writes the notes of the operation in ONE insert when it ends (a list of 500 members costs one
statement, not 500), in a transaction of its own, before the answer leaves. The caller's own
phone is no reveal; neither is a resident's own submission answered to them.
"""

from __future__ import annotations

from domain.infra.db import transaction
from domain.people.audit import Entry, actor_of, record_many
from schema.common.context import Context, Info

ACTION = "PHONE_REVEALED"


def field_path(info: Info) -> str:
    """The path of the field being resolved, e.g. `members.edges.3.node.phone`."""
    return ".".join(str(part) for part in info.path.as_list())


def reveal(info: Info, subject: tuple[str, int], *, whose: str,
           community_id: int | None = None) -> None:
    """Note that this answer carries, unmasked, the phone of `whose` (e.g. "member", "contact")
    of `subject`, the Node it belongs to."""
    info.context.reveals.append(Entry(ACTION, subject, community_id, {
        "whose": whose, "path": field_path(info)}))


async def write_reveals(context: object) -> None:
    """Write an operation's reveals in one statement, when it has ended."""
    if not isinstance(context, Context) or not context.reveals:
        return
    entries, context.reveals = list(context.reveals), []
    async with transaction(context.sessions) as session:
        await record_many(session, actor=actor_of(context.viewer), entries=entries)
