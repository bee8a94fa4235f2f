"""The API's side of the workers: enqueue actors after a mutation committed.

Implements schema.common.context.Background. Enqueueing happens on one background thread, so a slow
or absent broker never holds up the event loop that serves GraphQL, and a failure is logged,
never raised: the request is committed already. An enqueue that failed is kept (up to
`FailedEnqueues.limit`) and sent again as soon as the broker answers: the thread tries again
every `RETRY_SECONDS` at the latest, and at once when any other enqueue goes through. So a
request submitted during a broker outage is dispatched seconds after the broker is back, not
when the sweep finds it stale; the sweep still covers what this process could not keep (more
than the limit, or an API process that stopped meanwhile).
"""

from __future__ import annotations

import logging
import queue
import threading
import time

from domain.settings import Settings
from server.probe import unreachable
from workers.actors import Actors, declare_actors
from workers.broker import make_broker
from workers.runtime import Runtime

log = logging.getLogger("gridsteward.background")

#: The longest pause between two attempts to re-send failed enqueues (the first is shorter).
RETRY_SECONDS = 2.0
#: How long `close()` waits for what is queued to be sent.
CLOSE_SECONDS = 10.0
#: A dispatch that comes within this many seconds of the previous one waits as long for
#: others to go with it in one `dispatch_requests` message (up to DISPATCH_BATCH): under a
#: burst the workers get a few messages with several requests each instead of one message
#: per request, each a transaction and a delivery (a burst of 3,000 over HTTP: workers'
#: CPU 2.1 ms per request with 5 ms, 1.1 ms with 20 ms; a burst of 5,000, alternated:
#: 1.8-2.6 ms with 20 ms, 1.1-1.6 ms with 50 ms, and PostgreSQL's 0.4-0.7 ms less); a
#: dispatch after a quiet moment goes at once, so a request submitted alone is not held up.
LINGER_SECONDS = 0.05
DISPATCH_BATCH = 50

#: An enqueue: the actor's name and its argument.
Enqueue = tuple[str, int]


class FailedEnqueues:
    """Enqueues that failed, oldest first, at most `limit` (past that the oldest are left to
    the sweep), with the pause before the next attempt: `first`, doubling up to `longest`."""

    def __init__(self, *, limit: int = 10_000, first: float = 0.25,
                 longest: float = RETRY_SECONDS) -> None:
        self.limit = limit
        self._pauses = (first, longest)
        self._items: dict[Enqueue, None] = {}
        self._pause = first
        self.retry_at: float | None = None  # time.monotonic() of the next attempt
        self.last_error = ""
        self.forgotten = 0  # since the last time nothing was waiting

    def __len__(self) -> int:
        return len(self._items)

    def oldest_first(self) -> list[Enqueue]:
        return list(self._items)

    def add(self, item: Enqueue, error: BaseException, *, now: float) -> None:
        """Keep `item` to try again (forgetting the oldest one past the limit)."""
        if not self._items:
            self._pause = self._pauses[0]
            self.retry_at = now + self._pause
            self.forgotten = 0
        self.last_error = _describe(error)
        self._items[item] = None
        if len(self._items) > self.limit:
            del self._items[next(iter(self._items))]
            self.forgotten += 1

    def sent(self, item: Enqueue) -> None:
        self._items.pop(item, None)
        if not self._items:
            self.retry_at = None

    def failed_again(self, error: BaseException, *, now: float) -> None:
        """An attempt failed: wait longer before the next one."""
        self.last_error = _describe(error)
        self._pause = min(self._pause * 2, self._pauses[1])
        self.retry_at = now + self._pause

    def wait_seconds(self, now: float) -> float | None:
        """How long the enqueue thread may wait for new work before retrying (None: no
        limit, nothing failed)."""
        return None if self.retry_at is None else max(0.0, self.retry_at - now)


def _describe(error: BaseException) -> str:
    return " ".join(f"{type(error).__name__}: {error}".split())[:300]


class DramatiqBackground:
    """Sends `dispatch_request` (`dispatch_requests` for several submitted together) and
    `deliver_message` messages to the workers' broker.

    Build one per process (in the app's lifespan) from the settings, and `close()` it on
    shutdown. Its broker is its own: it does not touch Dramatiq's global broker."""

    def __init__(self, settings: Settings) -> None:
        self.broker_url = settings.broker_url
        self.actors: Actors = declare_actors(make_broker(settings.broker_url),
                                             Runtime(settings))
        self.failed = FailedEnqueues()
        self._queue: queue.SimpleQueue[Enqueue | None] = queue.SimpleQueue()
        self._closed = False
        # One thread: the broker's connection is per thread, and order is kept.
        self._thread = threading.Thread(target=self._run, name="gridsteward-enqueue",
                                        daemon=True)
        self._thread.start()

    def dispatch(self, request_id: int) -> None:
        """Ask the workers to dispatch a request (just submitted, declined or reopened)."""
        self._put(("dispatch_request", request_id))

    def send(self, message_id: int) -> None:
        """Ask the workers to deliver an outbound message."""
        self._put(("deliver_message", message_id))

    def health(self) -> str:
        """"ok" when the broker accepts connections and no enqueue waits to be sent again,
        else "down: " and why (for /healthz)."""
        why = unreachable(self.broker_url)
        waiting = len(self.failed)
        if why is not None:
            return f"down: {why}" + (f" ({waiting} enqueues waiting)" if waiting else "")
        if waiting:
            return f"down: {waiting} enqueues waiting to be sent again ({self.failed.last_error})"
        return "ok"

    def close(self) -> None:
        """Send what is queued (not retrying what failed: the sweep will), then release the
        broker's connections."""
        self._closed = True
        self._queue.put(None)
        self._thread.join(timeout=CLOSE_SECONDS)
        self.actors.dispatch_request.broker.close()

    def _put(self, item: Enqueue) -> None:
        if self._closed:  # the process is stopping
            log.warning("not enqueueing %s(%s) after close; the sweep will", *item)
            return
        self._queue.put(item)

    def _run(self) -> None:
        """The enqueue thread: send what comes (dispatches that come together in one
        message); retry the failed ones when one goes through, or when their pause is
        over."""
        last_dispatch = -float("inf")
        while True:
            try:
                item = self._queue.get(timeout=self.failed.wait_seconds(time.monotonic()))
            except queue.Empty:
                self._retry()
                continue
            if item is None:
                break
            linger = item[0] == "dispatch_request" and \
                time.monotonic() - last_dispatch < LINGER_SECONDS
            items, stop = self._gather(item, linger)
            dispatches = [i for name, i in items if name == "dispatch_request"]
            if dispatches:
                last_dispatch = time.monotonic()
            sent = self._send_dispatches(dispatches) if dispatches else True
            for other in (i for i in items if i[0] != "dispatch_request"):
                sent = self._send(other) and sent
            if sent and self.failed:
                self._retry()
            if stop:
                break
        if self.failed:
            log.warning("%d enqueues not sent before stopping; the sweep will send them",
                        len(self.failed))

    def _gather(self, first: Enqueue, linger: bool) -> tuple[list[Enqueue], bool]:
        """`first` and what is queued behind it (waiting up to LINGER_SECONDS for more when
        `linger`), at most DISPATCH_BATCH dispatches; and whether close() was called."""
        items = [first]
        dispatches = int(first[0] == "dispatch_request")
        deadline = time.monotonic() + (LINGER_SECONDS if linger else 0.0)
        while dispatches < DISPATCH_BATCH:
            try:
                wait = deadline - time.monotonic()
                item = self._queue.get(timeout=wait) if wait > 0 else self._queue.get_nowait()
            except queue.Empty:
                break
            if item is None:
                return items, True
            items.append(item)
            dispatches += item[0] == "dispatch_request"
        return items, False

    def _send_dispatches(self, request_ids: list[int]) -> bool:
        """One `dispatch_request`, or one `dispatch_requests` for several; a failure keeps
        each request to be sent again on its own."""
        if len(request_ids) == 1:
            return self._send(("dispatch_request", request_ids[0]))
        try:
            self.actors.dispatch_requests.send(request_ids)
        except Exception as exc:
            for request_id in request_ids:
                self.failed.add(("dispatch_request", request_id), exc, now=time.monotonic())
            log.warning("could not enqueue dispatch_requests(%s); retrying until the broker "
                        "answers: %s", request_ids, self.failed.last_error)
            return False
        return True

    def _send(self, item: Enqueue) -> bool:
        try:
            getattr(self.actors, item[0]).send(item[1])
        except Exception as exc:
            self.failed.add(item, exc, now=time.monotonic())
            if self.failed.forgotten == 1:
                log.warning("over %d enqueues failed; the oldest are left to the sweep",
                            self.failed.limit)
            log.warning("could not enqueue %s(%s); retrying until the broker answers: %s",
                        item[0], item[1], self.failed.last_error)
            return False
        return True

    def _retry(self) -> None:
        """Send the failed enqueues again, oldest first, until one fails."""
        waiting = self.failed.oldest_first()
        for item in waiting:
            try:
                getattr(self.actors, item[0]).send(item[1])
            except Exception as exc:
                self.failed.failed_again(exc, now=time.monotonic())
                log.debug("broker still unreachable: %s", self.failed.last_error)
                return
            self.failed.sent(item)
        log.info("the broker answers again: sent %d enqueues that had failed", len(waiting))
