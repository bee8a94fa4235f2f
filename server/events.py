"""The live event feed of one API process: PostgreSQL LISTEN/NOTIFY fanned out to subscribers.

Every insert into request_event, by any process (an API process, a worker, a script), fires
`pg_notify('gridsteward_request_events', '{"id": .., "request_id": ..}')` from a trigger, after
its transaction commits. `EventHub` holds one dedicated connection per API process that
LISTENs on that channel and hands each event id to every subscriber's queue; the GraphQL
subscription then loads the event and decides whether its caller may see it.

- A subscriber that falls `queue_limit` events behind is dropped and told (its iterator raises
  `FeedLost` once it has read what was queued), so that one slow screen never holds up others
  or grows memory without bound.
- When the connection is lost (the database restarts, a network cut), the hub logs it and
  reconnects with exponential backoff; on reconnecting it reads the ids written in between
  (up to `catch_up_limit`; more than that drops every subscriber, who must reload). An event
  whose id is lower than the highest seen and which commits during the gap is the one case
  that can still be missed.
- A heartbeat query every `heartbeat` seconds finds a connection that died silently.
"""

from __future__ import annotations

import asyncio
import contextlib
import enum
import json
import logging
from collections.abc import AsyncIterator
from typing import Any

import psycopg

from domain.infra.db import libpq_url
from domain.requests.feed import FeedLost

CHANNEL = "gridsteward_request_events"
APPLICATION_NAME = "gridsteward-events"

log = logging.getLogger("gridsteward.events")


class _Signal(enum.Enum):
    """What a subscriber's queue carries besides event ids."""

    LOST = "lost"
    CLOSED = "closed"


_Queue = asyncio.Queue[int | _Signal]


class EventHub:
    """Implements `schema.common.context.EventFeed` for one process; `start()` and `stop()`
    belong to the application's lifespan."""

    def __init__(self, url: str, *, queue_limit: int = 1000, min_backoff: float = 0.5,
                 max_backoff: float = 30.0, heartbeat: float = 30.0,
                 catch_up_limit: int = 10_000, application_name: str = APPLICATION_NAME
                 ) -> None:
        self._conninfo = libpq_url(url)
        self._application_name = application_name
        self.queue_limit = queue_limit
        self._backoff = (min_backoff, max_backoff)
        self._heartbeat = heartbeat
        self._catch_up_limit = catch_up_limit
        self._subscribers: set[_Queue] = set()
        self._highest: int | None = None  # the highest event id relayed, for catching up
        self._replayed: set[int] = set()  # ids the last catch-up published
        self._task: asyncio.Task[None] | None = None
        self._closed = False
        self.listening = asyncio.Event()

    # ------------------------------------------------------------ subscribers

    @property
    def subscriber_count(self) -> int:
        """How many subscriptions this process is feeding now."""
        return len(self._subscribers)

    async def subscribe(self) -> AsyncIterator[int]:
        """Ids of request events as they are written, from now on; ends when the hub stops;
        raises `FeedLost` when this subscriber fell too far behind and was dropped."""
        if self._closed:
            return
        queue: _Queue = asyncio.Queue()
        self._subscribers.add(queue)
        try:
            while (item := await queue.get()) is not _Signal.CLOSED:
                if item is _Signal.LOST:
                    raise FeedLost("fell behind the live event feed; events were missed")
                yield item
        finally:
            self._subscribers.discard(queue)

    def publish(self, event_id: int) -> None:
        """Hand `event_id` to every subscriber; never waits. A subscriber with `queue_limit`
        ids waiting is dropped instead, and told."""
        for queue in list(self._subscribers):
            if queue.qsize() >= self.queue_limit:
                self._drop(queue, _Signal.LOST)
                log.warning("a live-event subscriber fell %d events behind and was dropped",
                            self.queue_limit)
            else:
                queue.put_nowait(event_id)

    def _drop(self, queue: _Queue, signal: _Signal) -> None:
        self._subscribers.discard(queue)
        queue.put_nowait(signal)

    def _drop_all(self, signal: _Signal) -> None:
        for queue in list(self._subscribers):
            self._drop(queue, signal)

    # ------------------------------------------------------------ lifecycle

    async def start(self) -> None:
        """Start listening in the background; returns at once (the database may be down)."""
        self._closed = False
        self._task = asyncio.create_task(self._run(), name="gridsteward-event-hub")

    async def stop(self) -> None:
        """Stop listening, close the connection and end every subscription."""
        self._closed = True
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        self._drop_all(_Signal.CLOSED)

    async def _run(self) -> None:
        """Listen; on any connection failure log it, wait (doubling up to the maximum) and
        listen again. Only cancellation ends this loop."""
        low, high = self._backoff
        delay = low
        while True:
            try:
                await self._listen()
                failed = "the connection ended"
            except (psycopg.Error, OSError, TimeoutError) as exc:
                failed = " ".join(f"{type(exc).__name__}: {exc}".split())  # one line
            except Exception as exc:  # a bug must not end live events for this process
                log.exception("live events: unexpected failure")
                failed = type(exc).__name__
            if self.listening.is_set():
                self.listening.clear()
                delay = low
            log.warning("live events: no database connection (%s); retrying in %.1f s",
                        failed, delay)
            await asyncio.sleep(delay)
            delay = min(delay * 2, high)

    async def _listen(self) -> None:
        """One connection's life: LISTEN, catch up, then relay notifications until it fails."""
        async with await psycopg.AsyncConnection.connect(
                self._conninfo, autocommit=True, connect_timeout=10,
                application_name=self._application_name, keepalives=1,
                keepalives_idle=30, keepalives_interval=10, keepalives_count=3) as conn:
            await conn.execute(f"LISTEN {CHANNEL}")
            await self._catch_up(conn)
            self.listening.set()
            log.info("live events: listening on %s", CHANNEL)
            while True:
                async for notify in conn.notifies(timeout=self._heartbeat):
                    self._relay(notify.payload)
                await asyncio.wait_for(conn.execute("SELECT 1"), timeout=self._heartbeat)

    def _relay(self, payload: str) -> None:
        """Publish the event id of one notification (unless the catch-up just did)."""
        try:
            event_id = int(json.loads(payload)["id"])
        except (ValueError, KeyError, TypeError):
            log.warning("live events: ignored a notification that names no event: %r",
                        payload[:200])
            return
        if event_id in self._replayed:
            self._replayed.discard(event_id)
            return
        self._highest = max(event_id, self._highest or 0)
        self.publish(event_id)

    async def _catch_up(self, conn: psycopg.AsyncConnection[tuple[Any, ...]]) -> None:
        """After LISTEN: on the first connection remember where the timeline ends; after a
        reconnect publish what was written in between, or drop every subscriber when that is
        more than `catch_up_limit` (they reload instead)."""
        self._replayed.clear()
        if self._highest is None:
            self._highest = await _last_event_id(conn)
            return
        cursor = await conn.execute(
            "SELECT id FROM request_event WHERE id > %s ORDER BY id LIMIT %s",
            (self._highest, self._catch_up_limit + 1))
        missed = [int(row[0]) for row in await cursor.fetchall()]
        if len(missed) > self._catch_up_limit:
            log.warning("live events: more than %d events were written while disconnected; "
                        "dropping every subscriber", self._catch_up_limit)
            self._drop_all(_Signal.LOST)
            self._highest = await _last_event_id(conn)
            return
        for event_id in missed:
            self._highest = event_id
            self.publish(event_id)
        self._replayed.update(missed)
        log.info("live events: reconnected; replayed %d events written meanwhile", len(missed))


async def _last_event_id(conn: psycopg.AsyncConnection[tuple[Any, ...]]) -> int:
    """The highest event id written so far (0 for an empty timeline)."""
    cursor = await conn.execute("SELECT coalesce(max(id), 0) FROM request_event")
    row = await cursor.fetchone()
    return int(row[0]) if row else 0
