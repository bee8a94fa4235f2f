"""Survey batches, set-based in SQL and chunked: schedule, send, remind, expire.

Every completed request gets a SCHEDULED survey due SURVEY_DELAY_SECONDS after completion (or
a SURVEY_SKIPPED event when there is no contact phone); due surveys are SENT with a one-time
token; one reminder follows SURVEY_REMINDER_SECONDS after sending; unanswered surveys EXPIRE
SURVEY_EXPIRY_SECONDS after sending.

Each step is one statement per chunk of CHUNK rows, committed chunk by chunk, so a million
completed requests never sit in Python memory and a crash loses at most one chunk's work
(which the next run redoes: every step only picks rows still due). Tokens are 256 random bits
from gen_random_uuid() (two v4 UUIDs: 244 random bits), URL-safe hex; only their SHA-256 is
stored on the survey. The plaintext lives in the outbound message that carries it.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from domain.calendar import ZONE_NAME
from domain.infra.db import transaction
from domain.templates import CATEGORY_NAMES, sql_format

CHUNK = 20_000
#: A category's name (domain.templates), from the `categories` parameter (JSON).
_CATEGORY = "(CAST(:categories AS jsonb) ->> r.category)"
#: The texts' templates as format() strings (domain.templates), and the fields they take.
_SURVEY_BODY = sql_format("SURVEY", ("number", "category", "completed", "link", "token"))
_REMINDER_BODY = sql_format("SURVEY_REMINDER", ("number", "category", "link", "token"))


@dataclass(frozen=True)
class SurveyTimes:
    """SURVEY_DELAY_SECONDS, SURVEY_REMINDER_SECONDS and SURVEY_EXPIRY_SECONDS."""

    delay: timedelta
    reminder: timedelta
    expiry: timedelta


#: A survey an hour after completion, one reminder two days after sending, expiry after a week.
DEFAULT_SURVEY_TIMES = SurveyTimes(delay=timedelta(hours=1), reminder=timedelta(days=2),
                                   expiry=timedelta(days=7))


@dataclass
class BatchCounts:
    """How many rows each step touched in one run."""

    scheduled: int = 0
    skipped_no_phone: int = 0
    sent: int = 0
    reminded: int = 0
    expired: int = 0


_SCHEDULE = text("""
WITH due AS (
  SELECT r.id, r.contact_phone, r.completed_at FROM service_request r
  WHERE r.status = 'COMPLETED' AND r.completed_at <= :cutoff AND r.id > :after
    AND NOT EXISTS (SELECT 1 FROM survey s WHERE s.request_id = r.id)
    AND NOT EXISTS (SELECT 1 FROM request_event e WHERE e.request_id = r.id
                    AND e.kind = 'SURVEY_SKIPPED')
  ORDER BY r.id LIMIT :chunk),
made AS (
  INSERT INTO survey (request_id, status, phone, scheduled_for)
  SELECT id, 'SCHEDULED', contact_phone, completed_at + :delay FROM due
  WHERE contact_phone IS NOT NULL RETURNING id),
skipped AS (
  INSERT INTO request_event (request_id, at, kind, actor, note)
  SELECT id, :now, 'SURVEY_SKIPPED', 'surveys', 'no contact phone: no survey sent' FROM due
  WHERE contact_phone IS NULL RETURNING id)
SELECT (SELECT max(id) FROM due), (SELECT count(*) FROM made), (SELECT count(*) FROM skipped)
""")

_SEND = text(f"""
WITH due AS (
  SELECT s.id, s.request_id, s.phone FROM survey s
  WHERE s.status = 'SCHEDULED' AND s.scheduled_for <= :now AND s.id > :after
  ORDER BY s.id LIMIT :chunk FOR UPDATE SKIP LOCKED),
tokens AS (
  SELECT due.*, replace(gen_random_uuid()::text, '-', '') ||
                replace(gen_random_uuid()::text, '-', '') AS token FROM due),
sent AS (
  UPDATE survey s SET status = 'SENT', sent_at = :now, expires_at = :now + :expiry,
         token_hash = encode(sha256(convert_to(t.token, 'UTF8')), 'hex')
  FROM tokens t WHERE s.id = t.id RETURNING s.id),
events AS (
  INSERT INTO request_event (request_id, at, kind, actor, note)
  SELECT request_id, :now, 'SURVEY_SENT', 'surveys', NULL FROM tokens RETURNING id),
messages AS (
  INSERT INTO outbound_message (channel, recipient, kind, body, request_id, survey_token,
                                dedupe_key, next_attempt_at)
  SELECT CAST(:channel AS text), t.phone, 'SURVEY',
         format(CAST(:survey_body AS text), r.number, {_CATEGORY},
                to_char(r.completed_at AT TIME ZONE '{ZONE_NAME}', 'YYYY-MM-DD'),
                CAST(:link AS text), t.token),
         r.id, t.token, 'SURVEY:' || t.id, :now
  FROM tokens t JOIN service_request r ON r.id = t.request_id
  ON CONFLICT (dedupe_key) DO NOTHING RETURNING id)
SELECT (SELECT max(id) FROM due), (SELECT count(*) FROM sent),
       (SELECT count(*) FROM events), (SELECT count(*) FROM messages)""")

_REMIND = text(f"""
WITH due AS (
  SELECT s.id, s.request_id, s.phone FROM survey s
  WHERE s.status = 'SENT' AND s.reminded_at IS NULL AND s.sent_at <= :cutoff
    AND s.expires_at > :now AND s.id > :after
  ORDER BY s.id LIMIT :chunk FOR UPDATE SKIP LOCKED),
reminded AS (
  UPDATE survey s SET reminded_at = :now FROM due WHERE s.id = due.id RETURNING s.id),
messages AS (
  INSERT INTO outbound_message (channel, recipient, kind, body, request_id, survey_token,
                                dedupe_key, next_attempt_at)
  SELECT CAST(:channel AS text), due.phone, 'SURVEY_REMINDER',
         format(CAST(:reminder_body AS text), r.number, {_CATEGORY}, CAST(:link AS text),
                first.survey_token),
         r.id, first.survey_token, 'SURVEY_REMINDER:' || due.id, :now
  FROM due JOIN service_request r ON r.id = due.request_id
  JOIN outbound_message first ON first.dedupe_key = 'SURVEY:' || due.id
  ON CONFLICT (dedupe_key) DO NOTHING RETURNING id)
SELECT (SELECT max(id) FROM due), (SELECT count(*) FROM reminded)""")

_EXPIRE = text("""
WITH due AS (
  SELECT s.id, s.request_id FROM survey s
  WHERE s.status = 'SENT' AND s.expires_at <= :now AND s.id > :after
  ORDER BY s.id LIMIT :chunk FOR UPDATE SKIP LOCKED),
expired AS (UPDATE survey s SET status = 'EXPIRED' FROM due WHERE s.id = due.id RETURNING s.id),
events AS (
  INSERT INTO request_event (request_id, at, kind, actor, note)
  SELECT request_id, :now, 'SURVEY_EXPIRED', 'surveys', NULL FROM due RETURNING id)
SELECT (SELECT max(id) FROM due), (SELECT count(*) FROM expired)""")


Step = Callable[[AsyncSession, int], Awaitable[tuple[int | None, ...]]]


async def _chunks(sessions: async_sessionmaker[AsyncSession], step: Step) -> list[int]:
    """Run `step` chunk after chunk, each in its own transaction, walking ids upwards (so no
    chunk rescans rows an earlier one handled) until a chunk finds nothing; sum the counts
    that follow the last id in each step's result."""
    totals: list[int] = []
    after = 0
    while True:
        async with transaction(sessions) as session:
            last, *counts = await step(session, after)
        if last is None:
            return totals or [0] * len(counts)
        totals = [a + int(b or 0) for a, b in zip(totals or [0] * len(counts), counts,
                                                   strict=True)]
        after = int(last)


async def run_survey_batch(sessions: async_sessionmaker[AsyncSession], *, now: datetime,
                           times: SurveyTimes, channel: str = "log", link: str = "",
                           chunk: int = CHUNK) -> BatchCounts:
    """Everything due at `now`: schedule surveys of completed requests, send due ones,
    expire old ones, remind once. Safe to run twice or at once."""
    params = {"now": now, "chunk": chunk, "channel": channel, "link": link,
              "categories": json.dumps(CATEGORY_NAMES, ensure_ascii=False),
              "survey_body": _SURVEY_BODY, "reminder_body": _REMINDER_BODY}

    async def schedule(session: AsyncSession, after: int) -> tuple[int | None, ...]:
        row = await session.execute(_SCHEDULE, {**params, "after": after, "cutoff": now,
                                                "delay": times.delay})
        return tuple(row.one())

    async def send(session: AsyncSession, after: int) -> tuple[int | None, ...]:
        row = await session.execute(_SEND, {**params, "after": after, "expiry": times.expiry})
        return tuple(row.one())[:2]

    async def remind(session: AsyncSession, after: int) -> tuple[int | None, ...]:
        row = await session.execute(_REMIND, {**params, "after": after,
                                              "cutoff": now - times.reminder})
        return tuple(row.one())

    async def expire(session: AsyncSession, after: int) -> tuple[int | None, ...]:
        return tuple((await session.execute(_EXPIRE, {**params, "after": after})).one())

    scheduled, skipped = await _chunks(sessions, schedule)
    (sent,) = await _chunks(sessions, send)
    (expired,) = await _chunks(sessions, expire)
    (reminded,) = await _chunks(sessions, remind)
    return BatchCounts(scheduled, skipped, sent, reminded, expired)
