"""The API's Background: enqueueing never raises into a mutation that already committed; a
broker that is away is logged, and what failed is kept to be sent again once it answers."""

from __future__ import annotations

import logging

import pytest

from server.background import DramatiqBackground, FailedEnqueues
from tests.settings import make_settings

UNREACHABLE = ["amqp://guest:guest@127.0.0.1:1/", "redis://127.0.0.1:1/0"]


@pytest.mark.parametrize("url", UNREACHABLE)
def test_an_unreachable_broker_is_logged_not_raised(url: str,
                                                    caplog: pytest.LogCaptureFixture) -> None:
    background = DramatiqBackground(make_settings(database_url="", broker_url=url))
    with caplog.at_level(logging.WARNING, logger="gridsteward.background"):
        background.dispatch(1)
        background.send(2)
        background.close()
        background.dispatch(3)  # after close: logged too
    messages = [r.getMessage() for r in caplog.records if r.name == "gridsteward.background"]
    assert [m.split(";")[0] for m in messages] == [
        "could not enqueue dispatch_request(1)", "could not enqueue deliver_message(2)",
        "2 enqueues not sent before stopping", "not enqueueing dispatch_request(3) after close"]
    assert all("\n" not in m for m in messages)


@pytest.mark.parametrize("url", UNREACHABLE)
def test_health_names_an_unreachable_broker(url: str) -> None:
    background = DramatiqBackground(make_settings(database_url="", broker_url=url))
    try:
        assert background.health() == "down: 127.0.0.1:1: Connection refused"
    finally:
        background.close()


def test_failed_enqueues_are_kept_oldest_first_and_bounded() -> None:
    failed = FailedEnqueues(limit=3)
    for request_id in range(5):
        failed.add(("dispatch_request", request_id), ConnectionError("refused"), now=0.0)
    assert failed.oldest_first() == [("dispatch_request", n) for n in (2, 3, 4)]
    assert failed.forgotten == 2 and failed.last_error == "ConnectionError: refused"
    failed.add(("dispatch_request", 3), ConnectionError("refused"), now=0.0)  # kept once
    assert len(failed) == 3


def test_failed_enqueues_back_off_up_to_the_longest_pause() -> None:
    failed = FailedEnqueues(first=0.25, longest=2.0)
    assert failed.wait_seconds(now=0.0) is None  # nothing failed: wait for work
    failed.add(("deliver_message", 7), OSError("down"), now=10.0)
    assert failed.wait_seconds(now=10.0) == 0.25
    pauses = []
    for _attempt in range(6):
        failed.failed_again(OSError("down"), now=20.0)
        pauses.append(failed.wait_seconds(now=20.0))
    assert pauses == [0.5, 1.0, 2.0, 2.0, 2.0, 2.0]
    failed.sent(("deliver_message", 7))
    assert failed.wait_seconds(now=30.0) is None and not failed
