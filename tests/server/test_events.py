"""EventHub: fan-out to subscribers, slow subscribers dropped and told, NOTIFY from the real
database, and surviving a lost connection."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from typing import Any

import psycopg
import pytest

from domain.requests.feed import FeedLost
from server.events import EventHub, libpq_url
from tests.requests_factory import community_with_stewards

WAIT = 10.0  # seconds: every wait below is bounded


async def _until(condition: Any, what: str) -> None:
    async with asyncio.timeout(WAIT):
        while not condition():
            await asyncio.sleep(0.01)


def _subscribe(hub: EventHub) -> AsyncIterator[int]:
    return hub.subscribe().__aiter__()


async def test_ids_fan_out_and_a_slow_subscriber_is_dropped_and_told(
        caplog: pytest.LogCaptureFixture) -> None:
    hub = EventHub("postgresql+psycopg://nobody@127.0.0.1:1/none", queue_limit=2)
    fast, slow = _subscribe(hub), _subscribe(hub)
    first = asyncio.ensure_future(anext(fast))
    second = asyncio.ensure_future(anext(slow))
    await _until(lambda: hub.subscriber_count == 2, "both subscribed")
    hub.publish(1)
    assert (await first, await second) == (1, 1)
    received = []
    with caplog.at_level(logging.WARNING, "gridsteward.events"):
        for event_id in (2, 3, 4, 5):
            hub.publish(event_id)
            received.append(await anext(fast))  # the fast one keeps up
    assert received == [2, 3, 4, 5]
    assert hub.subscriber_count == 1
    assert [await anext(slow), await anext(slow)] == [2, 3]  # what was queued, then the news
    with pytest.raises(FeedLost):
        await anext(slow)
    assert "dropped" in caplog.text


async def test_stop_ends_every_subscription() -> None:
    hub = EventHub("postgresql+psycopg://nobody@127.0.0.1:1/none")
    subscription = _subscribe(hub)
    waiting = asyncio.ensure_future(anext(subscription))
    await _until(lambda: hub.subscriber_count == 1, "subscribed")
    await hub.stop()
    with pytest.raises(StopAsyncIteration):
        await waiting
    with pytest.raises(StopAsyncIteration):
        await anext(_subscribe(hub))


async def test_a_database_that_is_down_is_retried_without_crashing(
        caplog: pytest.LogCaptureFixture) -> None:
    hub = EventHub("postgresql+psycopg://nobody@127.0.0.1:1/none", min_backoff=0.01,
                   max_backoff=0.02)
    with caplog.at_level(logging.WARNING, "gridsteward.events"):
        await hub.start()
        await _until(lambda: caplog.text.count("retrying") >= 3, "three attempts")
        await hub.stop()
    assert "no database connection" in caplog.text


def _insert_event(url: str, note: str) -> None:
    """Writes one event from a connection of its own, as another process would."""
    with psycopg.connect(libpq_url(url), autocommit=True) as conn:
        conn.execute("INSERT INTO request_event (request_id, kind, note) "
                     "SELECT min(id), 'NOTE', %s FROM service_request", (note,))


async def _a_request(sessions: Any) -> None:
    from datetime import UTC, datetime

    from tests.requests_factory import completed_request
    await community_with_stewards(sessions)
    await completed_request(sessions, at=datetime.now(UTC))


async def _note_of(url: str, event_id: int) -> str:
    async with await psycopg.AsyncConnection.connect(libpq_url(url)) as conn:
        cursor = await conn.execute("SELECT note FROM request_event WHERE id = %s",
                                    (event_id,))
        row = await cursor.fetchone()
        return str(row[0]) if row else ""


async def _receive(url: str, subscription: AsyncIterator[int], note: str) -> None:
    """Reads ids until the event with `note` arrives; the setup's own events (whose
    notifications may still be on their way) are passed over."""
    async with asyncio.timeout(WAIT):
        while await _note_of(url, await anext(subscription)) != note:
            pass


@pytest.fixture
async def hub(database_url: str, sessions: Any) -> AsyncIterator[EventHub]:
    """A listening hub, started after the tables were emptied (ids restart at 1)."""
    hub = EventHub(database_url, min_backoff=0.05, max_backoff=0.2,
                   application_name="gridsteward-events-test")
    await hub.start()
    async with asyncio.timeout(WAIT):
        await hub.listening.wait()
    yield hub
    await hub.stop()


async def test_an_event_written_elsewhere_reaches_subscribers(
        hub: EventHub, database_url: str, sessions: Any) -> None:
    await _a_request(sessions)
    subscription = _subscribe(hub)
    waiting = asyncio.ensure_future(_receive(database_url, subscription, "from elsewhere"))
    await _until(lambda: hub.subscriber_count == 1, "subscribed")
    await asyncio.to_thread(_insert_event, database_url, "from elsewhere")
    await waiting
    await subscription.aclose()  # type: ignore[attr-defined]
    assert hub.subscriber_count == 0


async def test_the_hub_reconnects_and_replays_what_it_missed(
        hub: EventHub, database_url: str, sessions: Any,
        caplog: pytest.LogCaptureFixture) -> None:
    await _a_request(sessions)
    subscription = _subscribe(hub)
    waiting = asyncio.ensure_future(_receive(database_url, subscription, "while away"))
    await _until(lambda: hub.subscriber_count == 1, "subscribed")
    with caplog.at_level(logging.INFO, "gridsteward.events"):
        await asyncio.to_thread(_kill_listener, database_url)
        await asyncio.to_thread(_insert_event, database_url, "while away")
        await waiting
        async with asyncio.timeout(WAIT):
            await hub.listening.wait()
    assert "no database connection" in caplog.text
    await asyncio.to_thread(_insert_event, database_url, "after")  # the new LISTEN works
    await _receive(database_url, subscription, "after")


def _kill_listener(url: str) -> None:
    """What a database restart does to the hub: its connection is cut."""
    with psycopg.connect(libpq_url(url), autocommit=True) as conn:
        killed = conn.execute("SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                              "WHERE application_name = 'gridsteward-events-test'").fetchone()
    assert killed is not None and killed[0] == 1


async def test_a_gap_too_long_to_replay_drops_every_subscriber(
        database_url: str, sessions: Any) -> None:
    await _a_request(sessions)
    hub = EventHub(database_url, min_backoff=1.0, catch_up_limit=1,
                   application_name="gridsteward-events-test")
    await hub.start()
    try:
        async with asyncio.timeout(WAIT):
            await hub.listening.wait()
        subscription = _subscribe(hub)
        waiting = asyncio.ensure_future(_receive(database_url, subscription, "never"))
        await _until(lambda: hub.subscriber_count == 1, "subscribed")
        await asyncio.to_thread(_kill_listener, database_url)
        for note in ("one", "two"):  # written while the hub waits to reconnect
            await asyncio.to_thread(_insert_event, database_url, note)
        with pytest.raises(FeedLost):
            await waiting
    finally:
        await hub.stop()
