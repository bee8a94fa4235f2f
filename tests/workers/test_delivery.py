"""Delivery of outbound messages at the domain level, with an explicit clock: sent once,
retried with doubling backoff, FAILED after the last attempt, never sent by two at once."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import text

from domain.infra.db import transaction
from domain.requests.delivery import Delivery, RetryPolicy, deliver, deliver_many
from domain.requests.outbox import Message, write_message
from tests.workers.conftest import scalar

NOW = datetime.now(UTC).replace(microsecond=0) + timedelta(hours=1)
POLICY = RetryPolicy(max_attempts=3, first=timedelta(seconds=10), cap=timedelta(seconds=15))


class Channel:
    """Records what it was given; fails while `failures` is positive."""

    def __init__(self, failures: int = 0) -> None:
        self.failures = failures
        self.sent: list[dict[str, Any]] = []

    def __call__(self, payload: dict[str, Any]) -> None:
        if self.failures > 0:
            self.failures -= 1
            raise ConnectionError("gateway unreachable")
        self.sent.append(payload)


async def _message(sessions: Any, key: str = "k1") -> int:
    async with transaction(sessions) as session:
        made = await write_message(session, Message(
            recipient="13800000001", kind="DISPATCH_NOTICE", body="【红色管家】测试",
            dedupe_key=key))
    assert made is not None
    return made


async def _deliver(sessions: Any, message_id: int, channel: Channel,
                   at: datetime = NOW) -> Delivery:
    async with transaction(sessions) as session:
        return await deliver(session, message_id=message_id, now=at, send=channel,
                             policy=POLICY)


async def _row(sessions: Any, message_id: int) -> Any:
    async with sessions() as session:
        return (await session.execute(text(
            "SELECT status, attempts, next_attempt_at, sent_at, last_error "
            "FROM outbound_message WHERE id = :id"), {"id": message_id})).one()


async def test_a_message_is_sent_once_and_never_again(sessions: Any) -> None:
    message_id = await _message(sessions)
    channel = Channel()
    assert await _deliver(sessions, message_id, channel) == Delivery.SENT
    assert await _deliver(sessions, message_id, channel) == Delivery.DONE
    assert [p["id"] for p in channel.sent] == [message_id]
    assert channel.sent[0]["body"] == "【红色管家】测试"
    assert channel.sent[0]["attempt"] == 1
    row = await _row(sessions, message_id)
    assert (row.status, row.attempts, row.sent_at) == ("SENT", 1, NOW)


async def test_failures_back_off_doubling_up_to_the_cap_then_fail(sessions: Any) -> None:
    message_id = await _message(sessions)
    channel = Channel(failures=10)
    assert await _deliver(sessions, message_id, channel) == Delivery.RETRY
    row = await _row(sessions, message_id)
    assert (row.status, row.attempts) == ("PENDING", 1)
    assert row.next_attempt_at == NOW + timedelta(seconds=10)
    assert row.last_error == "ConnectionError: gateway unreachable"

    early = NOW + timedelta(seconds=9)
    assert await _deliver(sessions, message_id, channel, early) == Delivery.NOT_DUE
    second = NOW + timedelta(seconds=10)
    assert await _deliver(sessions, message_id, channel, second) == Delivery.RETRY
    assert (await _row(sessions, message_id)).next_attempt_at == second + timedelta(seconds=15)

    third = second + timedelta(seconds=15)
    assert await _deliver(sessions, message_id, channel, third) == Delivery.FAILED
    row = await _row(sessions, message_id)
    assert (row.status, row.attempts) == ("FAILED", 3)
    later = third + timedelta(days=1)
    assert await _deliver(sessions, message_id, Channel(), later) == Delivery.DONE


async def test_a_retry_that_succeeds_is_sent(sessions: Any) -> None:
    message_id = await _message(sessions)
    channel = Channel(failures=1)
    assert await _deliver(sessions, message_id, channel) == Delivery.RETRY
    retry_at = NOW + timedelta(seconds=10)
    assert await _deliver(sessions, message_id, channel, retry_at) == Delivery.SENT
    assert [p["attempt"] for p in channel.sent] == [2]
    row = await _row(sessions, message_id)
    assert (row.status, row.attempts, row.last_error) == ("SENT", 2, None)


async def test_a_first_attempt_is_due_whatever_the_clocks_say(sessions: Any) -> None:
    """A fresh message whose next_attempt_at (database time) is ahead of this host's clock is
    still sent at once: only retries wait."""
    message_id = await _message(sessions)
    behind = datetime.now(UTC) - timedelta(minutes=5)
    assert await _deliver(sessions, message_id, Channel(), behind) == Delivery.SENT


async def test_a_message_held_by_another_deliverer_is_left_alone(sessions: Any) -> None:
    message_id = await _message(sessions)
    channel = Channel()
    async with transaction(sessions) as holder:
        await holder.execute(text("SELECT 1 FROM outbound_message WHERE id = :id FOR UPDATE"),
                             {"id": message_id})
        assert await _deliver(sessions, message_id, channel) == Delivery.BUSY
    assert channel.sent == []
    assert await _deliver(sessions, 987654, channel) == Delivery.MISSING
    assert await scalar(sessions, "SELECT status FROM outbound_message") == "PENDING"


async def test_a_batch_reports_each_message_and_one_failure_stops_no_other(
        sessions: Any) -> None:
    failing, fine, done, waiting = [await _message(sessions, f"k{n}") for n in range(4)]
    await _deliver(sessions, done, Channel())
    await _deliver(sessions, waiting, Channel(failures=1))  # RETRY: due in 10 s
    channel = Channel(failures=1)  # the first send of the batch (lowest id) fails
    async with transaction(sessions) as session:
        outcomes = await deliver_many(session, message_ids=[waiting, done, fine, failing, 404],
                                      now=NOW, send=channel, policy=POLICY)
    assert outcomes == {failing: Delivery.RETRY, fine: Delivery.SENT, done: Delivery.DONE,
                        waiting: Delivery.NOT_DUE, 404: Delivery.MISSING}
    assert [p["id"] for p in channel.sent] == [fine]
    assert [(await _row(sessions, i)).status for i in (failing, fine, done, waiting)] == [
        "PENDING", "SENT", "SENT", "PENDING"]


async def test_a_batch_out_of_time_defers_the_rest_untouched(sessions: Any) -> None:
    ids = [await _message(sessions, f"k{n}") for n in range(3)]
    channel = Channel()

    def slow(payload: dict[str, Any]) -> None:  # a gateway that takes its time
        time.sleep(0.2)
        channel(payload)
    async with transaction(sessions) as session:
        outcomes = await deliver_many(session, message_ids=ids, now=NOW, send=slow,
                                      budget=0.1)
    assert outcomes == {ids[0]: Delivery.SENT, ids[1]: Delivery.DEFERRED,
                        ids[2]: Delivery.DEFERRED}
    assert [(r.status, r.attempts) for r in [await _row(sessions, i) for i in ids]] == [
        ("SENT", 1), ("PENDING", 0), ("PENDING", 0)]


def test_backoff_doubles_from_first_and_stops_at_the_cap() -> None:
    policy = RetryPolicy(first=timedelta(seconds=10), cap=timedelta(minutes=15))
    waits = [policy.backoff(n).total_seconds() for n in range(1, 10)]
    assert waits == [10, 20, 40, 80, 160, 320, 640, 900, 900]
