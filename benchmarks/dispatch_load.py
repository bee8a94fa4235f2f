"""The measured phases of the dispatch benchmark: submissions, the clock that sees each
request become DISPATCHED, and what the workers and this process logged meanwhile.

Submissions take the API's path, one of two ways:

- `http`: the GraphQL mutation `submitServiceRequest` over HTTP to a `gridsteward serve`;
- `domain`: what that mutation's resolver does, without HTTP and GraphQL: `submit_request`
  in an autocommit session (its one write statement returns the row the resolver answers),
  then `DramatiqBackground.dispatch`, the very object the API enqueues through.

The clock: every insert into request_event fires `pg_notify('gridsteward_request_events')`,
delivered when its transaction commits. One connection LISTENs and stamps each event id with
the wall-clock time it arrived; a request's latency is from the moment its submission call
started until its DISPATCHED event arrived, that is until the dispatch was committed.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import math
import re
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Coroutine, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import httpx
import psycopg

from benchmarks.harness import cpu, load
from benchmarks.harness.processes import Running
from benchmarks.harness.project import (
    DramatiqBackground,
    NewRequest,
    Tuning,
    autocommit,
    decode_id,
    make_async_engine,
    session_factory,
    settings,
    submit_request,
)
from benchmarks.stewards import Report

CHANNEL = "gridsteward_request_events"
MUTATION = ("mutation($i: SubmitRequestInput!){ submitServiceRequest(input: $i){ "
            "request{ id } errors{ code message field } } }")
CONTACT_PHONE = "13912345678"
#: The sweep's summary line (logged by gridsteward.periodic) and any warning or error in the
#: worker's log.
SWEEP_LINE = re.compile(r"gridsteward\.periodic.*sweep: \d+ accept timeouts, "
                        r"\d+ escalations, (\d+) triggers enqueued")
TROUBLE_LINE = re.compile(r"^.*\] \[(?:WARNING|ERROR|CRITICAL)\] .*$", re.MULTILINE)


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
    """A measured phase: its samples, what the database holds afterwards, its window, and
    the cores each party used, the sweeper's triggers and the warnings logged meanwhile."""

    name: str
    samples: list[Sample]
    outcome: Outcome
    started: float
    finished: float  # arrival of the last DISPATCHED event (or the timeout)
    submitted_by: float  # the last submission answered
    timed_out: bool = False
    cpu: dict[str, float] = field(default_factory=dict)
    sweeper: int = 0
    trouble: list[str] = field(default_factory=list)

    @property
    def measured(self) -> list[Sample]:
        return [s for s in self.samples if s.error is None and not math.isnan(s.dispatched)]

    @property
    def errors(self) -> list[str]:
        return [s.error for s in self.samples if s.error is not None]


# --- submitting --------------------------------------------------------------------------------

Submit = Callable[[Report, int], Coroutine[Any, Any, Sample]]


def _description(n: int) -> str:
    return f"楼道灯不亮，请来看看 {n}"


def http_submitter(post: load.Post) -> Submit:
    """submitServiceRequest over HTTP (`post`: load.raw_poster's, or httpx's for an in-process
    app); the sample's error says what went wrong, if anything."""
    async def submit(report: Report, n: int) -> Sample:
        body = load.graphql_body(MUTATION, {"i": {
            "category": report.category, "description": _description(n),
            "point": {"lon": report.lon, "lat": report.lat}, "contactPhone": CONTACT_PHONE}})
        started = time.time()
        try:
            error, data = load.graphql_data(*await post(body))
            payload = data.get("submitServiceRequest") or {}
            if error or payload.get("errors"):
                return Sample(started, time.time(), None, error or f"errors: {payload}")
            request_id = decode_id(payload["request"]["id"], "ServiceRequest", "id")
            return Sample(started, time.time(), request_id)
        except (httpx.HTTPError, OSError, EOFError, ValueError, KeyError, TypeError) as exc:
            return Sample(started, time.time(), None, f"{type(exc).__name__}: {exc}")
    return submit


@contextlib.asynccontextmanager
async def domain_submitter(database_url: str, broker_url: str,
                           pool_size: int) -> AsyncIterator[Submit]:
    """The resolver's work without HTTP and GraphQL (see the module docstring)."""
    engine = make_async_engine(database_url, pool_size=pool_size)
    sessions = session_factory(engine)
    config = settings(DATABASE_URL=database_url, BROKER_URL=broker_url)
    tuning = Tuning(due_hours=dict(config.due_hours))
    background = DramatiqBackground(config)

    async def submit(report: Report, n: int) -> Sample:
        new = NewRequest(category=report.category, description=_description(n),
                         point=(report.lon, report.lat), contact_phone=CONTACT_PHONE)
        started = time.time()
        async with autocommit(sessions) as session:
            done = await submit_request(session, new, now=datetime.now(UTC), tuning=tuning)
        if done.created:
            background.dispatch(done.request_id)
        return Sample(started, time.time(), done.request_id)
    try:
        yield submit
    finally:
        await asyncio.to_thread(background.close)
        await engine.dispose()


async def steady(submit: Submit, reports: Sequence[Report], rate: float) -> list[Sample]:
    """Open loop: submission n starts at n / rate seconds, whether or not earlier ones have
    answered (so a slow answer does not hide the queueing it causes)."""
    samples = await load.open_loop(lambda n, _at: submit(reports[n], n), rate=rate,
                                   count=len(reports), begin=time.perf_counter() + 0.05)
    return [s for s in samples if s is not None]


async def burst(submit: Submit, reports: Sequence[Report], concurrency: int) -> list[Sample]:
    """Closed loop: `concurrency` submitters, each sending its next as soon as its last is
    answered, until all are sent."""
    return await load.closed_loop(lambda n: submit(reports[n], n), clients=concurrency,
                                  count=len(reports))


# --- the clock and the outcome -----------------------------------------------------------------


@contextlib.asynccontextmanager
async def event_clock(conninfo: str) -> AsyncIterator[dict[int, float]]:
    """LISTENs on the request-event channel and stamps each event id on arrival."""
    arrived: dict[int, float] = {}

    async def listen(conn: psycopg.AsyncConnection[Any]) -> None:
        async for note in conn.notifies():
            arrived[int(json.loads(note.payload)["id"])] = time.time()
    async with await psycopg.AsyncConnection.connect(conninfo, autocommit=True) as conn:
        await conn.execute(f"LISTEN {CHANNEL}")
        task = asyncio.create_task(listen(conn))
        try:
            yield arrived
        finally:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task


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


# --- one phase ---------------------------------------------------------------------------------


class Watch:
    """CPU snapshots and the worker's log over one phase's window. `worker` may be None when
    the phase starts the worker itself: `attach` it then (its whole log and CPU count, boot
    included)."""

    def __init__(self, database: str, worker: Running | None, server_pid: int | None) -> None:
        self.database, self.worker, self.server_pid = database, worker, server_pid
        self.start = self.end = cpu.snapshot()
        self.log_from = 0

    def begin(self) -> None:
        self.log_from = self.worker.log.stat().st_size if self.worker else 0
        self.start = cpu.snapshot()

    def finish(self) -> None:
        self.end = cpu.snapshot()

    def settle(self, phase: Phase, complaints: list[str]) -> None:
        """The phase's cores per party, sweeper triggers and warnings (read the worker's log
        before it stops: its log goes with it)."""
        assert self.worker is not None, "no worker attached"
        phase.cpu = cpu.cores(self.start, self.end, cpu.parties(
            self.end, database=self.database, server=self.server_pid, workers=self.worker.pid))
        with self.worker.log.open("rb") as log:
            log.seek(self.log_from)
            text = log.read().decode(errors="replace")
        phase.sweeper = sum(int(m.group(1)) for m in SWEEP_LINE.finditer(text))
        phase.trouble = [*TROUBLE_LINE.findall(text), *complaints]


class _Complaints(logging.Handler):
    """Collects what this process logs at WARNING or above (failed enqueues, say)."""

    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(f"[{record.name}] {record.getMessage()}")


@contextlib.contextmanager
def complaints() -> Iterator[list[str]]:
    """What this process logs at WARNING or above within the block."""
    handler, root = _Complaints(), logging.getLogger()
    root.addHandler(handler)
    try:
        yield handler.lines
    finally:
        root.removeHandler(handler)


async def run_phase(name: str, conninfo: str, send: Callable[[], Awaitable[list[Sample]]], *,
                    timeout: float, watch: Watch) -> Phase:
    """Listen, run `send`, wait until everything sent is dispatched, settle the figures;
    the watch's window is from just before `send` until the last dispatch."""
    async with event_clock(conninfo) as clock:
        watch.begin()
        samples = await send()
        ids = [s.request_id for s in samples if s.request_id is not None]
        done = await wait_dispatched(conninfo, ids, timeout=timeout)
        watch.finish()
        await asyncio.sleep(0.5)  # notifications of the last commits still on their way
        arrived = dict(clock)
    outcome = await settle(conninfo, samples, arrived)
    seen = [s.dispatched for s in samples if not math.isnan(s.dispatched)]
    return Phase(name=name, samples=samples, outcome=outcome,
                 started=min((s.started for s in samples), default=math.nan),
                 finished=max(seen, default=math.nan),
                 submitted_by=max((s.answered for s in samples), default=math.nan),
                 timed_out=not done)
