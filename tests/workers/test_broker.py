"""The broker follows BROKER_URL's scheme, with GridSteward's middleware; Redis polls an idle
dispatch queue at least every POLL_CAP_MS; `gridsteward worker` is Dramatiq's command line."""

from __future__ import annotations

from typing import Any

import pytest
from dramatiq.brokers.rabbitmq import RabbitmqBroker
from dramatiq.brokers.redis import RedisBroker
from dramatiq.middleware import AsyncIO, Retries
from dramatiq_pg import PostgresBroker

from workers.broker import DISPATCH_QUEUE, OUTBOUND_QUEUE, POLL_CAP_MS, make_broker
from workers.cli import dramatiq_arguments, run_worker


@pytest.mark.parametrize(("url", "kind"), [
    ("amqp://guest:guest@127.0.0.1:5672/", RabbitmqBroker),
    ("redis://127.0.0.1:6379/0", RedisBroker),
    ("postgresql+psycopg://root@127.0.0.1:5432/gridsteward", PostgresBroker),
    ("postgresql://root@127.0.0.1:5432/gridsteward", PostgresBroker),
])
def test_the_broker_follows_the_url_scheme_without_connecting(url: str, kind: Any) -> None:
    broker = make_broker(url)
    assert isinstance(broker, kind)
    assert any(isinstance(m, AsyncIO) for m in broker.middleware)
    assert any(isinstance(m, Retries) for m in broker.middleware)


def test_an_unknown_broker_scheme_is_refused() -> None:
    with pytest.raises(ValueError, match="amqp://"):
        make_broker("kafka://127.0.0.1:9092")


def test_the_dispatch_queue_is_polled_promptly_and_others_as_usual() -> None:
    broker = make_broker("redis://127.0.0.1:6379/0")  # nothing connects until used
    assert isinstance(broker, RedisBroker)
    timeouts = {name: broker.consume(name, prefetch=2, timeout=1000).timeout
                for name in (DISPATCH_QUEUE, OUTBOUND_QUEUE, f"{DISPATCH_QUEUE}.DQ")}
    assert timeouts == {DISPATCH_QUEUE: POLL_CAP_MS, OUTBOUND_QUEUE: 1000,
                        f"{DISPATCH_QUEUE}.DQ": 1000}
    assert broker.consume(DISPATCH_QUEUE, timeout=20).timeout == 20
    broker.close()


def test_the_worker_is_dramatiqs_command_line_with_no_process_of_its_own() -> None:
    args = dramatiq_arguments(processes=2, threads=3)
    assert args[0] == "workers.cli:setup"
    assert "--fork-function" not in args
    with pytest.raises(ValueError):
        run_worker(processes=0, threads=1)
