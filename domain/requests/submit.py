"""Submitting a request (群众点单): checked, located through coverage, numbered, timed."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, Literal

from domain import templates
from domain.calendar import ZONE
from domain.errors import InvalidInput, UserError
from domain.infra import rows
from domain.requests import notices
from domain.requests.models import ServiceRequest
from domain.requests.outbox import DEFAULT_CHANNEL
from domain.requests.overrides import community_calendar
from domain.requests.policy import due_at, due_limits
from domain.requests.tracking import STOP, TRACK, code_hash, derive_code, new_nonce
from domain.spatial.coverage import (
    ADDRESS_MATCH_THRESHOLD,
    NEAREST_BUILDING_METRES,
    CoverageResult,
    address_problems,
    cover_address,
    cover_point,
)
from domain.spatial.models import ServiceCategory
from domain.spatial.phone import normalize_phone
from domain.templates import local_time
from domain.workdays import Due, Limit, Unit
from geo.sql import geography_distance_sql, within_metres_sql

MAX_DESCRIPTION = 4000
DUPLICATE_METRES = 50
DUPLICATE_DAYS = 7


@dataclass
class NewRequest:
    """What a resident sends; `point` is WGS-84 (lon, lat), already converted."""

    category: str
    description: str
    address: str | None = None
    point: tuple[float, float] | None = None
    contact_name: str | None = None
    contact_phone: str | None = None
    idempotency_key: str | None = None
    #: Whether the resident wants notices (accepted, completed, ...; domain.requests.notices).
    notify: bool = True


@dataclass(frozen=True)
class Nearby:
    """A possible duplicate: another open request, and how far it is from this one."""

    request_id: int
    metres: float


@dataclass(frozen=True)
class Submitted:
    """The stored request's id, whether it is new (False: an earlier submission with the same
    idempotency key), possible duplicates nearby, newest first, the tracking code of a
    new request (None for a replay: it was given to the first submission only) and, for a
    new request, its row as stored (None for a replay: read it)."""

    request_id: int
    created: bool
    duplicates: list[Nearby]
    tracking_code: str | None = None
    row: ServiceRequest | None = None

    @property
    def possible_duplicates(self) -> list[int]:
        """The ids of the possible duplicates."""
        return [d.request_id for d in self.duplicates]


@dataclass(frozen=True)
class Tuning:
    """Settings submission needs: the time limits (policy.due_limits: the defaults, then
    `limits`, then `due_hours` round the clock), coverage thresholds, the key of tracking
    codes (domain.requests.tracking) and the channel of the confirmation."""

    due_hours: dict[str, int]
    nearest_metres: float = NEAREST_BUILDING_METRES
    address_threshold: float = ADDRESS_MATCH_THRESHOLD
    limits: Mapping[str, Limit] | None = None
    tracking_key: bytes = b""
    channel: str = DEFAULT_CHANNEL


def _check(new: NewRequest, where: str) -> list[UserError]:
    errors = []
    if new.category not in ServiceCategory.__members__:
        errors.append(UserError("INVALID_VALUE", f"unknown category {new.category!r}",
                                f"{where}.category"))
    if not new.description.strip():
        errors.append(UserError("REQUIRED", "description must not be empty",
                                f"{where}.description"))
    elif len(new.description) > MAX_DESCRIPTION:
        errors.append(UserError("TOO_LONG", f"description must be at most {MAX_DESCRIPTION} "
                                "characters", f"{where}.description"))
    if (new.address is None) == (new.point is None):
        errors.append(UserError("INVALID_ARGUMENTS", "give exactly one of address and point",
                                f"{where}.address"))
    elif new.address is not None:
        errors += address_problems(new.address, f"{where}.address")
    errors += _too_long(new, where)
    if new.contact_phone:
        try:
            normalize_phone(new.contact_phone)
        except ValueError as exc:
            errors.append(UserError("INVALID_PHONE", str(exc), f"{where}.contactPhone"))
    return errors


#: Longest accepted values of the text columns that the resident chooses.
_MAX_LENGTHS = {"contact_name": 100, "idempotency_key": 200}
_FIELD_NAMES = {"contact_name": "contactName", "idempotency_key": "idempotencyKey"}


def _too_long(new: NewRequest, where: str) -> list[UserError]:
    errors = []
    for name, limit in _MAX_LENGTHS.items():
        value = getattr(new, name)
        if value is not None and len(value) > limit:
            field = _FIELD_NAMES[name]
            errors.append(UserError("TOO_LONG", f"{field} must be at most {limit} characters",
                                    f"{where}.{field}"))
    return errors


async def _locate(session: rows.Executor, new: NewRequest, tuning: Tuning,
                  where: str) -> CoverageResult:
    if new.point is not None:
        found = await cover_point(session, lon=new.point[0], lat=new.point[1],
                                  nearest_metres=tuning.nearest_metres)
    else:
        found = await cover_address(session, new.address or "",
                                    threshold=tuning.address_threshold)
    if found is None or found.grid_id is None:
        field = f"{where}.point" if new.point is not None else f"{where}.address"
        raise InvalidInput.one("OUT_OF_AREA", "no grid of any community covers this place; "
                               "check the address or the point", field)
    return found


async def submit_request(session: rows.Executor, new: NewRequest, *, now: datetime,
                         tuning: Tuning, where: str = "input") -> Submitted:
    """Store a new request (or return the one a retried `idempotency_key` made).

    A new request costs two statements: where it is (coverage), and one that stores it
    with its first two events and the resident's confirmation and finds its possible
    duplicates (`_STORE`), its time limit counted on the national calendar; only when its
    community has an override on a day that count looked at, the community's calendar is
    read and the request stored with the limit counted on it (two statements more)."""
    errors = _check(new, where)
    if errors:
        raise InvalidInput(errors)
    if new.idempotency_key:
        existing = await _by_key(session, new.idempotency_key)
        if existing is not None:
            return Submitted(existing, False, await _duplicates(session, existing, now))
    found = await _locate(session, new, tuning, where)
    limits = due_limits(tuning.limits, tuning.due_hours)
    due = due_at(new.category, now, limits)  # the national calendar; see _overrides_window
    nonce = new_nonce()
    code = derive_code(tuning.tracking_key, nonce)
    tracking = {"nonce": nonce, "hash": code_hash(code), "notify": new.notify}
    stored = await _store(session, new, found, now, due, tuning.channel, tracking,
                          _overrides_window(now, due, limits[new.category]))
    if stored == "overridden":  # the community's calendar changes the time limit
        calendar = await community_calendar(session, found.community_id)
        due = due_at(new.category, now, limits, calendar)
        stored = await _store(session, new, found, now, due, tuning.channel, tracking, None)
    if stored is None or stored == "overridden":  # a concurrent retry with the same key won
        return Submitted(await _by_key(session, new.idempotency_key or "") or 0, False, [])
    row, duplicates = stored
    assert row.id is not None
    return Submitted(row.id, True, duplicates, code, row)


def _overrides_window(now: datetime, due: Due, limit: Limit) -> tuple[date, date] | None:
    """The days whose community overrides could change `due`, counted on the national
    calendar from `now`: from the day of submission to the due day (in China Standard
    Time), the only days the count looks at. None when no override can change it: a limit
    round the clock. A count that fell back to calendar days (a year the national calendar
    does not know) may change with any override: every day from the submission's on."""
    if limit.unit is Unit.HOURS:
        return None
    first = now.astimezone(ZONE).date()
    return (first, date.max if due.fallback else due.at.astimezone(ZONE).date())


async def _by_key(session: rows.Executor, key: str) -> int | None:
    row = await rows.fetch_one(
        session, "SELECT id FROM service_request WHERE idempotency_key = %(key)s", {"key": key})
    return None if row is None else int(row[0])


#: Open requests of the same category as `p` (its id, category and point g) within
#: DUPLICATE_METRES of it, submitted in the last DUPLICATE_DAYS, newest first, ten at most.
_NEARBY = f"""
    SELECT o.id, {geography_distance_sql("o.location", "p.g")} AS metres, o.submitted_at
    FROM p, service_request o
    WHERE o.category = p.category
      AND o.status IN ('SUBMITTED', 'DISPATCHED', 'ACCEPTED', 'IN_PROGRESS')
      AND o.submitted_at >= CAST(:now AS timestamptz) - interval '{DUPLICATE_DAYS} days'
      AND {within_metres_sql("o.location", "p.g", str(DUPLICATE_METRES))}
      AND o.id <> p.id
    ORDER BY o.submitted_at DESC, o.id DESC LIMIT 10"""

#: The resident's confirmation (notices.RECEIVED) as a format() string of the number and
#: the fields known before the insert, in this order.
_RECEIVED_FIELDS = ("number", "category", "due", "track", "stop")
_RECEIVED_FORMAT = templates.sql_format(notices.RECEIVED, _RECEIVED_FIELDS)

_COLUMNS = rows.columns(ServiceRequest, shapes=True)

#: A new request in one round trip: the row (its number from the sequence), its first two
#: timeline events, SUBMITTED then LOCATED (what two state.record_event calls would write,
#: in that order), the confirmation to the contact phone (what notices.notify_resident
#: writes for RECEIVED), and the possible duplicates (ids and metres, newest first: the new
#: row is not among them, a statement does not see its own inserts). No row when the
#: idempotency key is taken. Fixed text for psycopg (`rows.fetch_one`): its row becomes a
#: ServiceRequest without the ORM's loading (a fifth of a submission's CPU in the API).
_STORE = rows.pyformat(f"""
    WITH overridden AS (
      SELECT 1 FROM calendar_override WHERE community_id = :community_id
        AND day BETWEEN CAST(:first_day AS date) AND CAST(:last_day AS date) LIMIT 1),
    r AS (
      INSERT INTO service_request (number, category, description, status, address, location,
          building_id, group_id, grid_id, community_id, submitted_at, updated_at, due_at,
          contact_name, contact_phone, idempotency_key, due_fallback, tracking_nonce,
          tracking_hash, notify)
      SELECT 'GS' || to_char(CAST(:now AS timestamptz), 'YYMMDD') ||
              lpad((nextval('service_request_number_seq') % 1000000)::text, 6, '0'),
              :category, :description, 'SUBMITTED', :address,
              ST_SetSRID(ST_MakePoint(:lon, :lat), 4326), :building_id, :group_id, :grid_id,
              :community_id, :now, :now, :due_at, :contact_name, :contact_phone, :key,
              :fallback, :nonce, :hash, :notify
      WHERE NOT EXISTS (SELECT 1 FROM overridden)
      ON CONFLICT (idempotency_key) DO NOTHING RETURNING *),
    events AS (
      INSERT INTO request_event (request_id, at, kind, to_status, actor, note)
      SELECT id, CAST(:now AS timestamptz), 'SUBMITTED', 'SUBMITTED', 'resident', NULL
      FROM r
      UNION ALL SELECT id, CAST(:now AS timestamptz), 'LOCATED', NULL, 'coverage',
                       CAST(:note AS text) FROM r),
    received AS (
      INSERT INTO outbound_message (channel, recipient, kind, body, request_id, dedupe_key)
      SELECT CAST(:channel AS text), contact_phone, '{notices.RECEIVED}',
             format(CAST(:received AS text), number, CAST(:category_name AS text),
                    CAST(:due AS text), CAST(:track AS text), CAST(:stop AS text)), id,
             '{notices.RECEIVED}:' || id
      FROM r WHERE contact_phone IS NOT NULL
      ON CONFLICT (dedupe_key) DO NOTHING),
    p AS (SELECT id, category, location AS g FROM r),
    nearby AS ({_NEARBY})
    SELECT {", ".join(f"r.{name}" for name in _COLUMNS)},
           ARRAY(SELECT id FROM nearby ORDER BY submitted_at DESC, id DESC) AS nearby_ids,
           ARRAY(SELECT metres FROM nearby ORDER BY submitted_at DESC, id DESC)
             AS nearby_metres, false AS overridden
    FROM r
    UNION ALL
    SELECT {", ".join("NULL" for _ in _COLUMNS)}, NULL, NULL, true FROM overridden""")


async def _store(session: rows.Executor, new: NewRequest, found: CoverageResult,
                 now: datetime, due: Due, channel: str, tracking: dict[str, Any],
                 window: tuple[date, date] | None
                 ) -> tuple[ServiceRequest, list[Nearby]] | Literal["overridden"] | None:
    """The new request's row and its possible duplicates (`_STORE`); None when another
    request holds the idempotency key; "overridden", storing nothing, when the community
    has an override within `window` (None: whatever its overrides)."""
    values: dict[str, Any] = {
        "category": new.category, "description": new.description.strip(),
        "address": found.matched_address or new.address, "lon": found.lon, "lat": found.lat,
        "building_id": found.building_id, "group_id": found.group_id,
        "grid_id": found.grid_id, "community_id": found.community_id, "now": now,
        "due_at": due.at, "fallback": due.fallback, **tracking,
        "contact_name": (new.contact_name or "").strip() or None,
        "contact_phone": normalize_phone(new.contact_phone) if new.contact_phone else None,
        "key": new.idempotency_key, "note": _located_note(found), "channel": channel,
        "received": _RECEIVED_FORMAT, "category_name": templates.category_name(new.category),
        "due": local_time(due.at), "track": TRACK, "stop": STOP,
        "first_day": window[0] if window else date.max, "last_day": window[1] if window
        else date.min,
    }
    stored = await rows.fetch_one(session, _STORE, values)
    if stored is None:
        return None
    *fields, ids, metres, overridden = stored
    if overridden:
        return "overridden"
    row = rows.detached(ServiceRequest, _COLUMNS, fields)
    assert row is not None  # the insert returned it
    return row, [Nearby(int(i), float(m)) for i, m in zip(ids, metres, strict=True)]


def _located_note(found: CoverageResult) -> str:
    parts = [f"grid {found.grid_id}"]
    if found.group_id:
        parts.append(f"building group {found.group_id}")
    if found.building_id:
        parts.append(f"building {found.building_id}")
    if found.matched_address:
        parts.append(f"address {found.matched_address} ({found.match_confidence})")
    return ", ".join(parts)


_DUPLICATES = rows.pyformat(f"""
    WITH p AS (SELECT id, category, location AS g FROM service_request WHERE id = :id)
    {_NEARBY}""")


async def _duplicates(session: rows.Executor, request_id: int,
                      now: datetime) -> list[Nearby]:
    """Open requests of the same category within 50 m in the last 7 days."""
    found = await rows.fetch_all(session, _DUPLICATES, {"id": request_id, "now": now})
    return [Nearby(int(pk), float(metres)) for pk, metres, _ in found]
