"""The measured phases of the dispatch benchmark: submissions, and the clock that sees each
request become DISPATCHED.

Submissions take the API's path, one of two ways:

- `http`: the GraphQL mutation `submitServiceRequest` over HTTP to a `gridsteward serve`;
- `domain`: what that mutation's resolver does, without HTTP and GraphQL: one transaction of
  `submit_request` (and `requests_by_ids`, which the resolver reads for its answer), then,
  after commit, `DramatiqBackground.dispatch`, the very object the API enqueues through.

The clock: every insert into request_event fires `pg_notify('gridsteward_request_events')`,
delivered when its transaction commits. One connection LISTENs and stamps each event id with
the wall-clock time it arrived; a request's latency is from the moment its submission call
started until its DISPATCHED event arrived, that is until the dispatch was committed.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import math
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Coroutine, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import httpx
import psycopg

from benchmarks.stewards import Report
from domain.infra.db import make_async_engine, session_factory, transaction
from domain.requests import queries
from domain.requests.submit import NewRequest, Tuning, submit_request
from schema.common.ids import decode_id
from server.background import DramatiqBackground
from server.settings import DEFAULT_DUE_HOURS
from workers.config import WorkerConfig

CHANNEL = "gridsteward_request_events"
MUTATION = ("mutation($i: SubmitRequestInput!){ submitServiceRequest(input: $i){ "
            "request{ id } errors{ code message field } } }")
TUNING = Tuning(due_hours=dict(DEFAULT_DUE_HOURS))
CONTACT_PHONE = "13912345678"


class EventClock:
    """LISTENs on the request-event channel and stamps each event id on arrival."""

    def __init__(self, conninfo: str) -> None:
        self.conninfo = conninfo
        self.arrived: dict[int, float] = {}
        self._conn: psycopg.AsyncConnection[Any] | None = None
        self._task: asyncio.Task[None] | None = None

    async def __aenter__(self) -> EventClock:
        self._conn = await psycopg.AsyncConnection.connect(self.conninfo, autocommit=True)
        await self._conn.execute(f"LISTEN {CHANNEL}")
        self._task = asyncio.create_task(self._listen(self._conn))
        return self

    async def _listen(self, conn: psycopg.AsyncConnection[Any]) -> None:
        async for note in conn.notifies():
            self.arrived[int(json.loads(note.payload)["id"])] = time.time()

    async def __aexit__(self, *exc: object) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        if self._conn is not None:
            await self._conn.close()


@dataclass
class Sample:
    """One submission: wall-clock times (s) of its call starting and answering, and of its
    DISPATCHED event's arrival; the event's own `at` stamps from the database."""

    started: float
    answered: float
    request_id: int | None
    error: str | None = None
    dispatched: float = math.nan
    db_submitted: float = math.nan  # SUBMITTED.at (the resolver's clock, before its insert)
    db_dispatched: float = math.nan  # DISPATCHED.at (the worker's clock, before its UPDATE)

    @property
    def latency(self) -> float:
        return self.dispatched - self.started


@dataclass
class Outcome:
    """What the database holds for the phase's requests once they are all dispatched."""

    requests: int = 0
    dispatched_once: int = 0
    dispatched_twice: int = 0
    escalated: int = 0
    not_dispatched: int = 0
    notices: int = 0
    notices_sent: int = 0
    last_notice_sent: float = math.nan

    @property
    def exactly_once(self) -> bool:
        return (self.dispatched_once == self.requests and not self.dispatched_twice
                and not self.escalated and self.notices == self.requests)


@dataclass
class Phase:
    """A measured phase: its samples, what the database holds afterwards, its window."""

    name: str
    via: str
    samples: list[Sample]
    outcome: Outcome
    started: float
    finished: float  # arrival of the last DISPATCHED event (or the timeout)
    submitted_by: float  # the last submission answered
    timed_out: bool = False
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def measured(self) -> list[Sample]:
        return [s for s in self.samples if s.error is None and not math.isnan(s.dispatched)]

    @property
    def errors(self) -> list[str]:
        return [s.error for s in self.samples if s.error is not None]


# --- submitting --------------------------------------------------------------------------------


def _variables(report: Report, n: int) -> dict[str, Any]:
    return {"i": {"category": report.category, "description": f"楼道灯不亮，请来看看 {n}",
                  "point": {"lon": report.lon, "lat": report.lat},
                  "contactPhone": CONTACT_PHONE}}


Submit = Callable[[Report, int], Coroutine[Any, Any, Sample]]


def http_submitter(client: httpx.AsyncClient) -> Submit:
    """submitServiceRequest over HTTP; the sample's error says what went wrong, if anything."""
    async def submit(report: Report, n: int) -> Sample:
        body = json.dumps({"query": MUTATION, "variables": _variables(report, n)},
                          ensure_ascii=False).encode()
        started = time.time()
        try:
            response = await client.post("/graphql", content=body,
                                         headers={"Content-Type": "application/json"})
            answered = time.time()
            doc = response.json()
            payload = (doc.get("data") or {}).get("submitServiceRequest") or {}
            if response.status_code != 200 or doc.get("errors") or payload.get("errors"):
                return Sample(started, answered, None, f"HTTP {response.status_code}: "
                              f"{json.dumps(doc, ensure_ascii=False)[:300]}")
            request_id = decode_id(payload["request"]["id"], "ServiceRequest", "id")
            return Sample(started, answered, request_id)
        except (httpx.HTTPError, ValueError, KeyError, TypeError) as exc:
            return Sample(started, time.time(), None, f"{type(exc).__name__}: {exc}")
    return submit


@contextlib.asynccontextmanager
async def domain_submitter(database_url: str, broker_url: str,
                           pool_size: int) -> AsyncIterator[Submit]:
    """The resolver's work without HTTP and GraphQL (see the module docstring)."""
    engine = make_async_engine(database_url, pool_size=pool_size)
    sessions = session_factory(engine)
    background = DramatiqBackground(WorkerConfig(database_url=database_url,
                                                 broker_url=broker_url))

    async def submit(report: Report, n: int) -> Sample:
        new = NewRequest(category=report.category, description=f"楼道灯不亮，请来看看 {n}",
                         point=(report.lon, report.lat), contact_phone=CONTACT_PHONE)
        started = time.time()
        async with transaction(sessions) as session:
            done = await submit_request(session, new, now=datetime.now(UTC), tuning=TUNING)
            await queries.requests_by_ids(session, [done.request_id,
                                                    *done.possible_duplicates])
        if done.created:
            background.dispatch(done.request_id)
        return Sample(started, time.time(), done.request_id)
    try:
        yield submit
    finally:
        await asyncio.to_thread(background.close)
        await engine.dispose()


# --- the phases ------------------------------------------------------------------------------


async def steady(submit: Submit, reports: Sequence[Report], rate: float) -> list[Sample]:
    """Open loop: submission n starts at n / rate seconds, whether or not earlier ones have
    answered (so a slow answer does not hide the queueing it causes)."""
    start = time.monotonic() + 0.05
    tasks: list[asyncio.Task[Sample]] = []
    for n, report in enumerate(reports):
        await asyncio.sleep(max(0.0, start + n / rate - time.monotonic()))
        tasks.append(asyncio.create_task(submit(report, n)))
    return list(await asyncio.gather(*tasks))


async def burst(submit: Submit, reports: Sequence[Report], concurrency: int) -> list[Sample]:
    """Closed loop: `concurrency` submitters, each sending its next as soon as its last is
    answered, until all are sent."""
    queue: Iterator[tuple[int, Report]] = iter(enumerate(reports))
    samples: list[Sample] = []

    async def submitter() -> None:
        for n, report in queue:
            samples.append(await submit(report, n))
    await asyncio.gather(*(submitter() for _ in range(concurrency)))
    return samples


async def wait_dispatched(conninfo: str, ids: Sequence[int], *, timeout: float) -> bool:
    """Until no request in `ids` is left SUBMITTED at level 0 (each was dispatched or
    escalated); False on timeout. Polls less often while many are left, to stay cheap."""
    if not ids:
        return True
    deadline = time.monotonic() + timeout
    async with await psycopg.AsyncConnection.connect(conninfo, autocommit=True) as conn:
        while time.monotonic() < deadline:
            cur = await conn.execute("""
                SELECT count(*) FROM service_request WHERE id BETWEEN %s AND %s
                AND status = 'SUBMITTED' AND escalation_level = 0""", (min(ids), max(ids)))
            row = await cur.fetchone()
            left = int(row[0]) if row is not None else 0
            if left == 0:
                return True
            await asyncio.sleep(min(0.5, max(0.05, left / 2000)))
    return False


async def settle(conninfo: str, samples: list[Sample], arrived: dict[int, float]) -> Outcome:
    """Stamp the samples with their DISPATCHED event's arrival and the database's `at`
    stamps, and check that each request was dispatched exactly once."""
    by_id = {s.request_id: s for s in samples if s.request_id is not None}
    ids = list(by_id)
    async with await psycopg.AsyncConnection.connect(conninfo, autocommit=True) as conn:
        cur = await conn.execute("""
            SELECT id, request_id, kind, extract(epoch FROM at) FROM request_event
            WHERE request_id = ANY(%s) AND kind IN ('SUBMITTED', 'DISPATCHED', 'ESCALATED')
            ORDER BY id""", (ids,))
        events = await cur.fetchall()
        cur = await conn.execute("""
            SELECT count(*), count(*) FILTER (WHERE status = 'SENT'),
                   extract(epoch FROM max(sent_at)) FROM outbound_message
            WHERE request_id = ANY(%s) AND kind = 'DISPATCH_NOTICE'""", (ids,))
        notices = await cur.fetchone()
    outcome = Outcome(requests=len(ids))
    dispatches: dict[int, int] = dict.fromkeys(ids, 0)
    for event_id, request_id, kind, at in events:
        sample = by_id[request_id]
        if kind == "SUBMITTED":
            sample.db_submitted = float(at)
        elif kind == "ESCALATED":
            outcome.escalated += 1
        else:
            dispatches[request_id] += 1
            if dispatches[request_id] == 1:
                sample.db_dispatched = float(at)
                sample.dispatched = arrived.get(event_id, math.nan)
    outcome.dispatched_once = sum(1 for n in dispatches.values() if n == 1)
    outcome.dispatched_twice = sum(1 for n in dispatches.values() if n > 1)
    outcome.not_dispatched = sum(1 for n in dispatches.values() if n == 0)
    if notices is not None:
        outcome.notices, outcome.notices_sent = int(notices[0]), int(notices[1])
        outcome.last_notice_sent = float(notices[2]) if notices[2] is not None else math.nan
    return outcome


async def run_phase(name: str, via: str, conninfo: str,
                    send: Callable[[], Awaitable[list[Sample]]], *, timeout: float,
                    on_start: Callable[[], None] = lambda: None,
                    on_end: Callable[[], None] = lambda: None) -> Phase:
    """Listen, run `send`, wait until everything sent is dispatched, settle the figures.
    `on_start` and `on_end` mark the window (CPU snapshots)."""
    async with EventClock(conninfo) as clock:
        on_start()
        samples = await send()
        ids = [s.request_id for s in samples if s.request_id is not None]
        done = await wait_dispatched(conninfo, ids, timeout=timeout)
        on_end()
        await asyncio.sleep(0.5)  # notifications of the last commits still on their way
        arrived = dict(clock.arrived)
    outcome = await settle(conninfo, samples, arrived)
    started = min((s.started for s in samples), default=math.nan)
    seen = [s.dispatched for s in samples if not math.isnan(s.dispatched)]
    return Phase(name=name, via=via, samples=samples, outcome=outcome, started=started,
                 finished=max(seen, default=math.nan),
                 submitted_by=max((s.answered for s in samples), default=math.nan),
                 timed_out=not done)
