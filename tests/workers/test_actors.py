"""The actors on a StubBroker with a real Worker and the real database: run twice they act
once, follow-ups go out after commit, delivery failures are recorded for the sweep, and two
sweeps at once never dispatch anything twice."""

from __future__ import annotations

import asyncio
import json
import logging
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from dramatiq.brokers.stub import StubBroker

from domain.infra.db import transaction
from domain.settings import Settings
from tests.requests_factory import TIMEOUT, community_with_stewards, dispatch_request
from tests.settings import changed, make_settings
from tests.workers.conftest import Stub, events, scalar, sent_messages, submit
from workers.actors import declare_actors, send_quietly
from workers.broker import DISPATCH_QUEUE, worker_middleware
from workers.runtime import Runtime
from workers.schedule import Sweep

HOUR_AGO = datetime.now(UTC) - timedelta(hours=1)


def _outbound_lines(caplog: pytest.LogCaptureFixture) -> list[dict[str, Any]]:
    return [json.loads(r.getMessage()) for r in caplog.records
            if r.name == "gridsteward.outbound"]


async def test_dispatch_run_twice_dispatches_and_notifies_once(
        sessions: Any, stub: Stub, caplog: pytest.LogCaptureFixture) -> None:
    await community_with_stewards(sessions, 2)
    (request_id,) = await submit(sessions, 1, now=HOUR_AGO)
    with caplog.at_level(logging.INFO, logger="gridsteward.outbound"):
        for _ in range(2):
            stub.actors.dispatch_request.send(request_id)
        stub.drain()
        stub.actors.dispatch_request(request_id)  # a direct call runs synchronously
        stub.drain()
    assert await events(sessions, "DISPATCHED") == {request_id: 1}
    assert await scalar(sessions, "SELECT status FROM service_request") == "DISPATCHED"
    assert await scalar(sessions, "SELECT string_agg(status, ',') FROM outbound_message") \
        == "SENT"
    (line,) = _outbound_lines(caplog)
    assert (line["kind"], line["request_id"], line["recipient"]) == (
        "DISPATCH_NOTICE", request_id, "13800000001")


async def test_many_triggers_for_many_requests_dispatch_each_exactly_once(
        sessions: Any, stub: Stub) -> None:
    await community_with_stewards(sessions, 3)
    ids = await submit(sessions, 12, now=HOUR_AGO)
    for request_id in ids * 3:
        stub.actors.dispatch_request.send(request_id)
    stub.drain()
    assert await events(sessions, "DISPATCHED") == dict.fromkeys(ids, 1)
    assert await sent_messages(sessions, "DISPATCH_NOTICE") == 12


async def test_a_failing_channel_is_recorded_for_the_sweep_not_raised(
        sessions: Any, stub_factory: Any, worker_settings: Settings) -> None:
    stub = stub_factory(worker_settings, outbound_channel="webhook",
                        webhook_url="http://127.0.0.1:9/hook", webhook_secret="s" * 16)
    await community_with_stewards(sessions, 1)
    (request_id,) = await submit(sessions, 1, now=HOUR_AGO)
    stub.actors.dispatch_request.send(request_id)
    stub.drain()
    retry = "SELECT status = 'PENDING' AND attempts = 1 AND next_attempt_at > now() " \
            "AND last_error LIKE 'ConnectError%' FROM outbound_message"
    assert await scalar(sessions, retry)
    stub.actors.deliver_message(1)  # not due yet: the backoff holds it back
    assert await scalar(sessions, retry)


async def test_the_sweep_dispatches_what_was_left_submitted(
        sessions: Any, stub: Stub, worker_settings: Settings) -> None:
    await community_with_stewards(sessions, 2)
    ids = await submit(sessions, 5, now=HOUR_AGO)
    assert await Sweep(worker_settings, stub.actors, sessions)() == 5
    stub.drain()
    assert await events(sessions, "DISPATCHED") == dict.fromkeys(ids, 1)
    assert await sent_messages(sessions) == 5


async def test_two_sweeps_at_once_never_dispatch_twice(
        sessions: Any, stub: Stub, worker_settings: Settings) -> None:
    """Half the requests were never dispatched, half were dispatched and let time out: two
    sweeps at once time each out once and get each dispatched exactly once more."""
    await community_with_stewards(sessions, 2)
    waiting = await submit(sessions, 6, now=HOUR_AGO)
    timed_out = await submit(sessions, 6, now=HOUR_AGO)
    for request_id in timed_out:
        async with transaction(sessions) as session:
            await dispatch_request(session, request_id=request_id, now=HOUR_AGO,
                                   accept_timeout=TIMEOUT)
    sweeps = [Sweep(worker_settings, stub.actors, sessions) for _ in range(2)]
    await asyncio.gather(*(sweep() for sweep in sweeps))
    stub.drain()
    assert await events(sessions, "ACCEPT_TIMEOUT") == dict.fromkeys(timed_out, 1)
    dispatched = await events(sessions, "DISPATCHED")
    assert dispatched == {**dict.fromkeys(waiting, 1), **dict.fromkeys(timed_out, 2)}
    assert await scalar(sessions, "SELECT count(*) FROM service_request WHERE status <> "
                        "'DISPATCHED'") == 0


async def test_the_sweep_does_not_repeat_a_trigger_within_the_window(
        sessions: Any, worker_settings: Settings) -> None:
    await community_with_stewards(sessions, 1)
    await submit(sessions, 2, now=HOUR_AGO)
    config = changed(worker_settings, dispatch_stale_seconds=60)
    broker = StubBroker(middleware=worker_middleware())  # no worker: triggers stay queued
    clock = [0.0]
    sweep = Sweep(config, declare_actors(broker, Runtime(config)), sessions,
                  clock=lambda: clock[0])
    assert await sweep() == 2
    clock[0] = 59.9
    assert await sweep() == 0
    assert broker.queues[DISPATCH_QUEUE].qsize() == 2
    clock[0] = 60.1  # the window has passed: the same two again
    assert await sweep() == 2
    broker.close()


def test_enqueueing_stops_at_the_first_failure(caplog: pytest.LogCaptureFixture) -> None:
    failing = StubBroker(middleware=worker_middleware())
    actors = declare_actors(failing, Runtime(make_settings(database_url="", broker_url="")))
    failing.enqueue = _broken  # type: ignore[method-assign]
    with caplog.at_level(logging.WARNING, logger="gridsteward.workers"):
        assert send_quietly(actors.dispatch_request, [1, 2, 3]) == []
    (record,) = caplog.records
    assert "for 3 id(s) from 1 on" in record.getMessage()


def _broken(*args: Any, **kwargs: Any) -> None:
    raise ConnectionError("broker away")
