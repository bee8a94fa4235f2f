"""Signing in: staff with a login and password, members with their phone and a one-time code.

Failures never tell whether the login or phone exists: the answer is the same and takes about
as long (an unknown login verifies a dummy argon2 hash; an unknown phone gets a code row like
any other, only no message is sent). A code is good for CODE_TTL, once, and void after
MAX_ATTEMPTS wrong tries; asking for a new one voids the earlier ones of that phone.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from domain.access import mask_phone
from domain.errors import InvalidInput, UserError
from domain.people import codes
from domain.people.accounts import normalize_login
from domain.people.audit import RESIDENT, record
from domain.people.passwords import verify_password
from domain.people.sessions import DEFAULT_REFRESH_TTL, Issued, start_session
from domain.requests.outbox import Message, write_message
from domain.spatial.phone import normalize_mobile

CODE_TTL = timedelta(minutes=5)
MAX_ATTEMPTS = 5


@dataclass(frozen=True)
class CodeSent:
    """The answer to requestSignInCode: the phone masked, when the code expires, and the
    outbox message to deliver (None when no member has that phone: nothing is sent)."""

    sent_to: str
    expires_at: datetime
    message_id: int | None


def mobile_number(raw: str, field: str = "phone") -> str:
    """A mainland mobile number (13812345678) from what a person typed (spaces, dashes,
    full-width digits, a +86 / 0086 prefix); InvalidInput naming `field` otherwise."""
    digits = normalize_mobile(raw)
    if digits is None:
        raise InvalidInput.one("INVALID_PHONE", "a mainland mobile number has 11 digits "
                               "starting with 1, e.g. 13812345678", field)
    return digits


def _denied(field: str, what: str) -> UserError:
    return UserError("SIGN_IN_FAILED", f"the {what} is not right", field)


async def sign_in_with_password(session: AsyncSession, *, login: str, password: str,
                                now: datetime,
                                ttl: timedelta = DEFAULT_REFRESH_TTL) -> Issued | UserError:
    """A new session of the active account with this login and password; otherwise the same
    SIGN_IN_FAILED for an unknown login, a wrong password or an inactive account."""
    row = (await session.execute(text(
        "SELECT id, password_hash, active FROM staff_account WHERE login = :login"),
        {"login": normalize_login(login)})).first()
    good = await verify_password(row.password_hash if row else None, password)
    subject = None if row is None else ("StaffAccount", int(row.id))
    if row is None or not good or not row.active:
        await record(session, actor=RESIDENT, action="SIGN_IN_FAILED", subject=subject,
                     detail={"method": "password", "login": normalize_login(login)[:64]})
        return _denied("password", "login or password")
    await session.execute(text("UPDATE staff_account SET last_sign_in_at = :now WHERE id = :id"),
                          {"id": row.id, "now": now})
    issued = await start_session(session, now=now, account_id=int(row.id), ttl=ttl)
    await record(session, actor=f"account:{row.id}", action="SIGN_IN", subject=subject,
                 detail={"method": "password", "login": normalize_login(login),
                         "session": issued.session_id})
    return issued


_MEMBER_BY_PHONE = text("""
    SELECT id FROM member WHERE phone = :phone AND status <> 'EXITED' ORDER BY id LIMIT 1""")
_SPEND_OLD = text("""
    UPDATE sign_in_code SET spent_at = :now WHERE phone = :phone AND spent_at IS NULL""")
_NEW_CODE = text("""
    INSERT INTO sign_in_code (phone, member_id, nonce, code_hash, created_at, expires_at)
    VALUES (:phone, :member, :nonce, :hash, :now, :expires) RETURNING id""")


async def request_code(session: AsyncSession, *, phone: str, now: datetime, key: bytes,
                       channel: str, field: str = "phone") -> CodeSent:
    """Make a code for `phone` and, when a member (not EXITED) has that phone, the
    SIGN_IN_CODE message carrying it (the caller hands `message_id` to delivery after the
    commit). The answer is the same whether or not anyone has the phone."""
    number = mobile_number(phone, field)
    member = (await session.execute(_MEMBER_BY_PHONE, {"phone": number})).scalar_one_or_none()
    await session.execute(_SPEND_OLD, {"phone": number, "now": now})
    nonce = codes.new_nonce()
    code = codes.derive_code(key, nonce)
    await session.execute(_NEW_CODE, {"phone": number, "member": member, "nonce": nonce,
                                      "hash": codes.code_hash(key, nonce, code), "now": now,
                                      "expires": now + CODE_TTL})
    message_id = None
    if member is not None:
        message_id = await write_message(session, Message(
            recipient=number, kind=codes.KIND, body=codes.BODY,
            dedupe_key=codes.dedupe_key(nonce), member_id=int(member), channel=channel))
    return CodeSent(sent_to=mask_phone(number) or "", expires_at=now + CODE_TTL,
                    message_id=message_id)


_LIVE_CODE = text("""
    SELECT c.id, c.nonce, c.code_hash, c.attempts, c.member_id,
           m.status IS NOT NULL AND m.status <> 'EXITED' AS allowed
    FROM sign_in_code c LEFT JOIN member m ON m.id = c.member_id
    WHERE c.phone = :phone AND c.spent_at IS NULL AND c.expires_at > :now
    ORDER BY c.id DESC LIMIT 1 FOR UPDATE OF c""")
_WRONG = text("""
    UPDATE sign_in_code SET attempts = attempts + 1,
           spent_at = CASE WHEN attempts + 1 >= :max THEN :now END WHERE id = :id""")
_SPEND = text("UPDATE sign_in_code SET spent_at = :now WHERE id = :id")


def _six_digits(code: str, field: str) -> str:
    value = unicodedata.normalize("NFKC", code).strip()
    if len(value) != codes.DIGITS or not value.isdigit():
        raise InvalidInput.one("INVALID_VALUE", f"a sign-in code has {codes.DIGITS} digits",
                               field)
    return value


async def sign_in_with_code(session: AsyncSession, *, phone: str, code: str, now: datetime,
                            key: bytes,
                            ttl: timedelta = DEFAULT_REFRESH_TTL) -> Issued | UserError:
    """A new session of the member the code was sent to; SIGN_IN_FAILED (naming `code`) for a
    wrong, expired, used or voided code or a phone nobody has. A wrong try counts against the
    code (the caller commits that too)."""
    number = mobile_number(phone)
    value = _six_digits(code, "code")
    row = (await session.execute(_LIVE_CODE, {"phone": number, "now": now})).first()
    detail = {"method": "code", "phone": mask_phone(number)}
    if row is None or not codes.matches(key, row.nonce, row.code_hash, value):
        if row is not None:
            await session.execute(_WRONG, {"id": row.id, "max": MAX_ATTEMPTS, "now": now})
        return await _code_failed(session, row, detail)
    await session.execute(_SPEND, {"id": row.id, "now": now})
    if not row.allowed:
        return await _code_failed(session, row, detail)
    issued = await start_session(session, now=now, member_id=int(row.member_id), ttl=ttl)
    await record(session, actor=f"member:{row.member_id}", action="SIGN_IN",
                 subject=("Member", int(row.member_id)),
                 detail={**detail, "session": issued.session_id})
    return issued


async def _code_failed(session: AsyncSession, row: Any, detail: dict[str, Any]) -> UserError:
    """SIGN_IN_FAILED for a code, recorded (with the masked phone, never the code)."""
    member = None if row is None or row.member_id is None else int(row.member_id)
    await record(session, actor=RESIDENT, action="SIGN_IN_FAILED",
                 subject=None if member is None else ("Member", member), detail=detail)
    return _denied("code", "code")
