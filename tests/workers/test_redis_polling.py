"""The Redis broker polls an idle dispatch queue at least every POLL_CAP_MS, other queues
as Dramatiq does."""

from __future__ import annotations

from dramatiq.brokers.redis import RedisBroker

from workers.broker import DISPATCH_QUEUE, OUTBOUND_QUEUE, make_broker
from workers.redis_polling import POLL_CAP_MS


def test_the_dispatch_queue_is_polled_promptly_and_others_as_usual() -> None:
    broker = make_broker("redis://127.0.0.1:6379/0")  # nothing connects until used
    assert isinstance(broker, RedisBroker)
    timeouts = {name: broker.consume(name, prefetch=2, timeout=1000).timeout
                for name in (DISPATCH_QUEUE, OUTBOUND_QUEUE, f"{DISPATCH_QUEUE}.DQ")}
    assert timeouts == {DISPATCH_QUEUE: POLL_CAP_MS, OUTBOUND_QUEUE: 1000,
                        f"{DISPATCH_QUEUE}.DQ": 1000}
    assert broker.consume(DISPATCH_QUEUE, timeout=20).timeout == 20
    broker.close()
