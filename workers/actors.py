"""The actors: dispatch requests (one, or several sent together), deliver messages.

They are declared by `declare_actors(broker, runtime)`, never at import, so the broker is
always chosen first and explicitly. Each takes ids only, runs one transaction through the
runtime (workers.jobs), and enqueues follow-ups only after that transaction committed. All
are safe to run twice or at once: the domain locks rows and changes state by compare-and-set.

Enqueueing a follow-up may fail (the broker is away): that is logged, not raised, because the
work is already committed and the sweep re-sends whatever is due.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

import dramatiq

from domain.requests.delivery import Delivery
from domain.requests.sweep import SweepResult
from workers import jobs
from workers.broker import DISPATCH_QUEUE, OUTBOUND_QUEUE
from workers.channels import make_sender
from workers.runtime import Runtime

log = logging.getLogger("gridsteward.workers")

#: Delivery outcomes worth a warning in the log.
_TROUBLE = frozenset({Delivery.RETRY, Delivery.FAILED})

#: At most this many message ids travel in one `deliver_messages` message.
DELIVERY_BATCH = 50

#: A batch stops starting sends after this many seconds (a slow or hung gateway: webhook
#: timeouts are 10 s); what it did not try is enqueued again at once.
DELIVERY_BUDGET_SECONDS = 15.0

T = TypeVar("T")


@dataclass(frozen=True)
class Actors:
    """The declared actors of one broker; `.send(...)` enqueues, a call runs synchronously."""

    dispatch_request: dramatiq.Actor[[int], None]
    deliver_message: dramatiq.Actor[[int], None]
    deliver_messages: dramatiq.Actor[[list[int]], None]
    dispatch_requests: dramatiq.Actor[[list[int]], None]


def chunks(ids: Sequence[int], size: int = DELIVERY_BATCH) -> list[list[int]]:
    """`ids` in lists of at most `size`, in order."""
    return [list(ids[i:i + size]) for i in range(0, len(ids), size)]


def send_quietly(actor: dramatiq.Actor[Any, Any], ids: Iterable[T]) -> list[T]:
    """Enqueue `actor` once per id (or list of ids) and return those enqueued. At the first
    failure (the broker is away, most likely) it logs once and stops: the rest would fail the
    same way, and the sweep re-sends all of them once the broker is back."""
    pending = list(ids)
    for done, item in enumerate(pending):
        try:
            actor.send(item)
        except Exception as exc:
            log.warning("could not enqueue %s for %d id(s) from %s on (%s: %s); the sweep "
                        "will retry", actor.actor_name, len(pending) - done, item,
                        type(exc).__name__, exc)
            return pending[:done]
    return pending


def enqueue_sweep_result(actors: Actors, result: SweepResult, *,
                         skip: frozenset[tuple[str, int]] = frozenset()) -> list[tuple[str, int]]:
    """Enqueue what a sweep found, except pairs in `skip`; returns the pairs enqueued."""
    dispatch = [i for i in result.to_dispatch if ("dispatch", i) not in skip]
    send = [i for i in result.to_send if ("send", i) not in skip]
    sent = send_quietly(actors.deliver_messages, chunks(send))
    return ([("dispatch", i) for i in send_quietly(actors.dispatch_request, dispatch)]
            + [("send", i) for chunk in sent for i in chunk])


def declare_actors(broker: dramatiq.Broker, runtime: Runtime) -> Actors:
    """Declare the actors on `broker`, running their work through `runtime` (added to the
    broker's middleware, after AsyncIO, so it closes the engine at worker shutdown)."""
    if runtime not in broker.middleware:
        broker.add_middleware(runtime)
    settings = runtime.settings
    send = make_sender(settings)

    @dramatiq.actor(broker=broker, queue_name=DISPATCH_QUEUE)
    def dispatch_request(request_id: int) -> None:
        """Offer a SUBMITTED request to the best member of its group, or escalate it, and
        likewise up to `domain.requests.dispatch.BATCH` other waiting requests in the same
        transaction; then send the notices that wrote."""
        message_ids = runtime.run(lambda s: jobs.dispatch_job(s, settings, [request_id]))
        send_quietly(deliver_messages, chunks(message_ids))

    @dramatiq.actor(broker=broker, queue_name=DISPATCH_QUEUE)
    def dispatch_requests(request_ids: list[int]) -> None:
        """`dispatch_request` for several requests at once: the API sends those submitted
        within a few milliseconds of each other in one message (server.background)."""
        message_ids = runtime.run(lambda s: jobs.dispatch_job(s, settings, request_ids))
        send_quietly(deliver_messages, chunks(message_ids))

    def deliver(message_ids: list[int]) -> None:
        """Deliver outbound messages through their channel. A channel failure is recorded
        on the row (attempts, next_attempt_at) and retried by the sweep with backoff, so it
        does not raise here."""
        outcomes = runtime.run(lambda s: jobs.deliver_job(
            s, message_ids, send, DELIVERY_BUDGET_SECONDS, secret_key=settings.secret_key,
            tracking_link=settings.tracking_link))
        for message_id, outcome in outcomes.items():
            level = logging.WARNING if outcome in _TROUBLE else logging.DEBUG
            log.log(level, "outbound message %s: %s", message_id, outcome)
        deferred = [i for i, outcome in outcomes.items() if outcome == Delivery.DEFERRED]
        send_quietly(deliver_messages, chunks(deferred))

    @dramatiq.actor(broker=broker, queue_name=OUTBOUND_QUEUE)
    def deliver_message(message_id: int) -> None:
        """Deliver one outbound message (see `deliver_messages`)."""
        deliver([message_id])

    @dramatiq.actor(broker=broker, queue_name=OUTBOUND_QUEUE)
    def deliver_messages(message_ids: list[int]) -> None:
        """Deliver a batch of outbound messages in one transaction. A channel failure is
        recorded on its row (attempts, next_attempt_at) and retried by the sweep with
        backoff, so it does not raise here."""
        deliver(message_ids)

    return Actors(dispatch_request, deliver_message, deliver_messages, dispatch_requests)
