"""Writing the audit trail: who did or saw what, in the same transaction as the change.

`record` appends one entry, `record_many` any number in ONE statement (the phone numbers
revealed by one GraphQL operation). `detail` goes through `scrub` first, which drops every key
naming a password, code, token, secret, hash or nonce at any depth, so none can land in the
trail whatever a caller passes. The table refuses UPDATE and DELETE (migration 0012).

Actors: "account:<id>" (a staff account), "member:<id>" (a member), "resident" (an anonymous
caller: a resident, or someone trying to sign in), "cli" (the `gridsteward` command line and
the `gridsteward token --admin` token of scripts), "system" (the workers).

An entry's community is where it happened, for territory filtering: given, or for a Member
subject the community of the member's group or building (found in the same statement).
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from domain.access import Viewer

#: Key fragments never written into `detail` (compared without case, `_` and `-`).
SECRET_FRAGMENTS = ("password", "token", "secret", "hash", "nonce")
#: Whole keys never written either (a sign-in code and its kin).
SECRET_KEYS = frozenset({"code", "signincode", "otp", "pin"})

SYSTEM = "system"
CLI = "cli"
RESIDENT = "resident"


def _secret(key: str) -> bool:
    name = key.lower().replace("_", "").replace("-", "")
    return name in SECRET_KEYS or any(part in name for part in SECRET_FRAGMENTS)


def scrub(value: Any) -> Any:
    """`value` without any key naming a secret, at any depth (mappings inside lists too)."""
    if isinstance(value, Mapping):
        return {str(k): scrub(v) for k, v in value.items() if not _secret(str(k))}
    if isinstance(value, list | tuple | set | frozenset):
        return [scrub(v) for v in value]
    return value


def actor_of(viewer: Viewer) -> str:
    """The actor an entry names for the caller of a request."""
    if viewer.account_id is not None:
        return f"account:{viewer.account_id}"
    if viewer.member_id is not None:
        return f"member:{viewer.member_id}"
    return CLI if viewer.admin else RESIDENT


@dataclass(frozen=True)
class Entry:
    """One entry to append (the actor is given to `record_many` for all of them)."""

    action: str
    subject: tuple[str, int] | None = None  # (Node type name, id)
    community_id: int | None = None
    detail: Any = field(default=None)

    def row(self) -> dict[str, Any]:
        return {"subject_type": self.subject[0] if self.subject else None,
                "subject_id": self.subject[1] if self.subject else None,
                "community_id": self.community_id, "detail": scrub(self.detail)}


_MEMBER_COMMUNITY = """(SELECT g.community_id FROM member m
    LEFT JOIN building_group bg ON bg.id = m.group_id
    LEFT JOIN building b ON b.id = m.building_id
    JOIN grid g ON g.id = COALESCE(bg.grid_id, b.grid_id) WHERE m.id = r.subject_id)"""
_INSERT = text(f"""
    INSERT INTO audit_entry (actor, action, subject_type, subject_id, community_id, detail)
    SELECT :actor, r.action, r.subject_type, r.subject_id,
           COALESCE(r.community_id, CASE WHEN r.subject_type = 'Member'
                                         THEN {_MEMBER_COMMUNITY} END), r.detail
    FROM jsonb_to_recordset(CAST(:rows AS jsonb)) AS r(
        action text, subject_type text, subject_id integer, community_id integer, detail jsonb)
    """)


async def record_many(session: AsyncSession, *, actor: str, entries: Sequence[Entry]) -> int:
    """Append `entries` in one INSERT (none: no statement); how many were written."""
    if not entries:
        return 0
    rows = [{"action": e.action, **e.row()} for e in entries]
    await session.execute(_INSERT, {"actor": actor,
                                    "rows": json.dumps(rows, default=str, ensure_ascii=False)})
    return len(rows)


async def record(session: AsyncSession, *, actor: str, action: str,
                 subject: tuple[str, int] | None = None, community_id: int | None = None,
                 detail: Any = None) -> None:
    """Append one entry, in the caller's transaction (it commits or rolls back with the change
    it records)."""
    await record_many(session, actor=actor, entries=[Entry(action, subject, community_id,
                                                           detail)])
