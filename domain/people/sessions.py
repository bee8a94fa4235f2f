"""Sessions and their refresh tokens, rotated as OAuth 2.0 advises for public clients.

A session starts at a sign-in and holds a chain of refresh tokens: 256 random bits each,
stored only as their SHA-256. `rotate` exchanges the newest for a new one (the old one then
stops working); presenting an old one again means it was stolen or replayed, so the whole
session is revoked and every token of it stops working, the access tokens included (they
name the session: domain.access.load_viewer). `revoke` ends a session (signOut); a session of
an inactive account or of a member who left is refused too.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from domain.errors import UserError
from domain.people.audit import record

DEFAULT_REFRESH_TTL = timedelta(days=30)
FIELD = "refreshToken"


@dataclass(frozen=True)
class Issued:
    """A session just started or rotated: the refresh token to hand out (only here in plain)."""

    session_id: int
    account_id: int | None
    member_id: int | None
    refresh_token: str
    refresh_expires_at: datetime


def hash_token(token: str) -> str:
    """What is stored of a refresh token."""
    return hashlib.sha256(token.encode()).hexdigest()


_START = text("""
    INSERT INTO auth_session (account_id, member_id, created_at) VALUES (:account, :member, :now)
    RETURNING id""")
_TOKEN = text("""
    INSERT INTO refresh_token (session_id, token_hash, issued_at, expires_at)
    VALUES (:session, :hash, :now, :expires)""")


async def _new_token(session: AsyncSession, session_id: int, now: datetime,
                     ttl: timedelta) -> tuple[str, datetime]:
    token = secrets.token_urlsafe(32)
    await session.execute(_TOKEN, {"session": session_id, "hash": hash_token(token), "now": now,
                                   "expires": now + ttl})
    return token, now + ttl


async def start_session(session: AsyncSession, *, now: datetime, account_id: int | None = None,
                        member_id: int | None = None,
                        ttl: timedelta = DEFAULT_REFRESH_TTL) -> Issued:
    """A new session of an account or a member, with its first refresh token."""
    session_id = int((await session.execute(_START, {"account": account_id, "member": member_id,
                                                     "now": now})).scalar_one())
    token, expires = await _new_token(session, session_id, now, ttl)
    return Issued(session_id, account_id, member_id, token, expires)


_FIND = text("""
    SELECT t.id, t.session_id, t.expires_at, t.used_at, s.revoked_at, s.account_id,
           s.member_id,
           (s.account_id IS NULL OR a.active) AND (s.member_id IS NULL OR m.status <> 'EXITED')
             AS allowed
    FROM refresh_token t JOIN auth_session s ON s.id = t.session_id
    LEFT JOIN staff_account a ON a.id = s.account_id
    LEFT JOIN member m ON m.id = s.member_id
    WHERE t.token_hash = :hash FOR UPDATE OF t, s""")
_USED = text("UPDATE refresh_token SET used_at = :now WHERE id = :id")
_REVOKE = text("""
    UPDATE auth_session SET revoked_at = :now, revoked_reason = :reason
    WHERE id = :id AND revoked_at IS NULL""")


def _refused(code: str, message: str) -> UserError:
    return UserError(code, message, FIELD)


async def rotate(session: AsyncSession, *, token: str, now: datetime,
                 ttl: timedelta = DEFAULT_REFRESH_TTL) -> Issued | UserError:
    """A new refresh token for the session of `token`, which stops working; or why not. A
    token used before revokes its whole session (the caller must commit that too)."""
    row = (await session.execute(_FIND, {"hash": hash_token(token)})).first()
    if row is None:
        return _refused("INVALID_TOKEN", "this refresh token is not one this API issued")
    if row.revoked_at is not None or not row.allowed:
        return _refused("REVOKED", "this session has ended: sign in again")
    if row.used_at is not None:
        await session.execute(_REVOKE, {"id": row.session_id, "now": now, "reason": "REUSED"})
        await _record(session, "REUSE_DETECTED", row)
        return _refused("REUSED", "this refresh token was used already: the session is ended "
                        "for safety, sign in again")
    if row.expires_at <= now:
        return _refused("EXPIRED", "this refresh token has expired: sign in again")
    await session.execute(_USED, {"id": row.id, "now": now})
    new, expires = await _new_token(session, row.session_id, now, ttl)
    await _record(session, "SESSION_REFRESHED", row)
    return Issued(row.session_id, row.account_id, row.member_id, new, expires)


async def revoke(session: AsyncSession, *, token: str, now: datetime) -> UserError | None:
    """End the session of `token` (signOut); None when it is ended, also when it was already.
    An unknown token is INVALID_TOKEN."""
    row = (await session.execute(_FIND, {"hash": hash_token(token)})).first()
    if row is None:
        return _refused("INVALID_TOKEN", "this refresh token is not one this API issued")
    await session.execute(_REVOKE, {"id": row.session_id, "now": now, "reason": "SIGNED_OUT"})
    await _record(session, "SIGN_OUT", row)
    return None


async def _record(session: AsyncSession, action: str, row: Any) -> None:
    """An audit entry of the session's owner about their session (never the token)."""
    if row.account_id is not None:
        actor, subject = f"account:{row.account_id}", ("StaffAccount", int(row.account_id))
    else:
        actor, subject = f"member:{row.member_id}", ("Member", int(row.member_id))
    await record(session, actor=actor, action=action, subject=subject,
                 detail={"session": int(row.session_id)})


_END_ALL = text("""
    UPDATE auth_session SET revoked_at = :now, revoked_reason = :reason
    WHERE account_id = :account AND revoked_at IS NULL
      AND (CAST(:keep AS integer) IS NULL OR id <> :keep)""")


async def end_account_sessions(session: AsyncSession, *, account_id: int, now: datetime,
                               reason: str, keep: int | None = None) -> int:
    """Revoke every session of an account (but `keep`); how many were open."""
    result = await session.execute(_END_ALL, {"account": account_id, "now": now,
                                              "reason": reason, "keep": keep})
    return int(result.rowcount)  # type: ignore[attr-defined]


_END_MEMBER = text("""
    UPDATE auth_session SET revoked_at = :now, revoked_reason = :reason
    WHERE member_id = :member AND revoked_at IS NULL""")


async def end_member_sessions(session: AsyncSession, *, member_id: int, now: datetime,
                              reason: str) -> int:
    """Revoke every session of a member (when they exit); how many were open."""
    result = await session.execute(_END_MEMBER, {"member": member_id, "now": now,
                                                 "reason": reason})
    return int(result.rowcount)  # type: ignore[attr-defined]
