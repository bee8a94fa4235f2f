"""The API's side of the workers: enqueue actors after a mutation committed.

Implements schema.common.context.Background. Enqueueing happens on one background thread, so a slow
or absent broker never holds up the event loop that serves GraphQL, and a failure is logged,
never raised: the request is committed already and the sweep dispatches or sends it anyway.
"""

from __future__ import annotations

import logging
from concurrent.futures import Future, ThreadPoolExecutor

from workers.actors import Actors, declare_actors
from workers.broker import make_broker
from workers.config import WorkerConfig, WorkerSettings
from workers.runtime import Runtime

log = logging.getLogger("gridsteward.background")


class DramatiqBackground:
    """Sends `dispatch_request` and `deliver_message` messages to the workers' broker.

    Build one per process (in the app's lifespan) from the settings, and `close()` it on
    shutdown. Its broker is its own: it does not touch Dramatiq's global broker."""

    def __init__(self, settings: WorkerSettings) -> None:
        self.actors: Actors = declare_actors(make_broker(settings.broker_url),
                                             Runtime(WorkerConfig.from_settings(settings)))
        # One thread: the broker's connection is per thread, and order is kept.
        self._executor = ThreadPoolExecutor(max_workers=1,
                                            thread_name_prefix="gridsteward-enqueue")

    def dispatch(self, request_id: int) -> None:
        """Ask the workers to dispatch a request (just submitted, declined or reopened)."""
        self._enqueue("dispatch_request", request_id)

    def send(self, message_id: int) -> None:
        """Ask the workers to deliver an outbound message."""
        self._enqueue("deliver_message", message_id)

    def close(self) -> None:
        """Finish what is queued, then release the broker's connections."""
        self._executor.shutdown(wait=True)
        self.actors.dispatch_request.broker.close()

    def _enqueue(self, actor_name: str, item: int) -> None:
        actor = getattr(self.actors, actor_name)
        try:
            future = self._executor.submit(actor.send, item)
        except RuntimeError:  # closed: the process is stopping
            log.warning("not enqueueing %s(%s) after close; the sweep will", actor_name, item)
            return
        future.add_done_callback(lambda done: _log_failure(done, actor_name, item))


def _log_failure(done: Future[object], actor_name: str, item: int) -> None:
    error = done.exception()
    if error is not None:
        log.warning("could not enqueue %s(%s); the sweep will: %s", actor_name, item, error)
