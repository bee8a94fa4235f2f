"""A resident's answer to a survey (submitSurveyResponse): once per token, before expiry.

An answer closes the request; "not resolved" reopens it for dispatch one escalation level
higher, with an event, so the grid (or the community) looks at it again.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import Row, text
from sqlalchemy.ext.asyncio import AsyncSession

from domain.errors import InvalidInput, UserError
from domain.requests.dispatch import escalate
from domain.requests.state import record_event, transition

MAX_COMMENT = 1000
_TOKEN = re.compile(r"[0-9a-f]{64}")


@dataclass(frozen=True)
class Answer:
    """What the resident sends."""

    token: str
    score: object
    resolved: bool | None = None
    comment: str | None = None


@dataclass(frozen=True)
class Answered:
    """The survey that was answered and what happened to its request."""

    survey_id: int
    request_id: int
    reopened: bool


def token_hash(token: str) -> str:
    """How a token is stored: its SHA-256, hex."""
    return hashlib.sha256(token.encode()).hexdigest()


def _check(answer: Answer) -> list[UserError]:
    errors = []
    if not answer.token.strip():
        errors.append(UserError("REQUIRED", "token must not be empty", "token"))
    elif not _TOKEN.fullmatch(answer.token.strip()):
        errors.append(UserError("MALFORMED_TOKEN", "token is not a survey token (64 "
                                "characters 0-9 and a-f, as in the message)", "token"))
    if isinstance(answer.score, bool) or not isinstance(answer.score, int):
        errors.append(UserError("INVALID_VALUE", "score must be a whole number from 1 to 5",
                                "score"))
    elif not 1 <= answer.score <= 5:
        errors.append(UserError("OUT_OF_RANGE", "score must be from 1 to 5", "score"))
    if answer.comment is not None and len(answer.comment) > MAX_COMMENT:
        errors.append(UserError("TOO_LONG", f"comment must be at most {MAX_COMMENT} characters",
                                "comment"))
    return errors


async def answer_survey(session: AsyncSession, answer: Answer, *, now: datetime,
                        accept_timeout: timedelta, channel: str = "log") -> Answered:
    """Record the answer; raises InvalidInput (ALREADY_ANSWERED, EXPIRED, NOT_FOUND, ...)."""
    errors = _check(answer)
    if errors:
        raise InvalidInput(errors)
    row = await _claim(session, answer, now)
    resolved = answer.resolved is not False
    await record_event(session, request_id=row.request_id, kind="SURVEY_ANSWERED", now=now,
                       actor="resident", note=f"score {answer.score}, "
                       f"{'resolved' if resolved else 'not resolved'}")
    if resolved:
        await transition(session, request_id=row.request_id, action="close", now=now,
                         actor="resident", field="token")
    else:
        await transition(session, request_id=row.request_id, action="reopen", now=now,
                         actor="resident", note="群众评议：问题未解决",
                         changes={"assignee_id": None, "accept_deadline": None},
                         field="token")
        await escalate(session, request_id=row.request_id, now=now,
                       to_level=min(row.escalation_level + 1, 2), reason="群众评议：问题未解决",
                       accept_timeout=accept_timeout, channel=channel)
    return Answered(row.id, row.request_id, reopened=not resolved)


async def _claim(session: AsyncSession, answer: Answer, now: datetime) -> Row[tuple[int, int, int]]:
    claimed = (await session.execute(text("""
        UPDATE survey s SET status = 'ANSWERED', answered_at = :now, score = :score,
               resolved = :resolved, comment = :comment
        FROM service_request r
        WHERE s.token_hash = :hash AND s.status = 'SENT' AND s.expires_at > :now
          AND r.id = s.request_id
        RETURNING s.id, s.request_id, r.escalation_level"""), {
        "hash": token_hash(answer.token.strip()), "now": now, "score": answer.score,
        "resolved": answer.resolved, "comment": (answer.comment or "").strip() or None,
    })).first()
    if claimed is not None:
        return claimed
    raise await _why_not(session, answer.token.strip(), now)


async def _why_not(session: AsyncSession, token: str, now: datetime) -> InvalidInput:
    row = (await session.execute(text(
        "SELECT status, expires_at FROM survey WHERE token_hash = :hash"),
        {"hash": token_hash(token)})).first()
    if row is None:
        return InvalidInput.one("NOT_FOUND", "no survey has this token", "token")
    if row.status == "ANSWERED":
        return InvalidInput.one("ALREADY_ANSWERED", "this survey was answered already; "
                                "thank you", "token")
    return InvalidInput.one("EXPIRED", "this survey has expired", "token")
