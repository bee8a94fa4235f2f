"""The API's Background: enqueueing never raises into a mutation that already committed; a
broker that is away is logged, and what failed is kept to be sent again once it answers."""

from __future__ import annotations

import logging
import threading

import pytest

from server.background import DramatiqBackground, FailedEnqueues
from tests.settings import make_settings
from workers.actors import Actors

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


class _Recording:
    """An actor that records what it was sent; a send says it started (`sending`) and
    waits for `go`."""

    def __init__(self, name: str, sent: list[tuple[str, object]], sending: threading.Event,
                 go: threading.Event) -> None:
        self.name, self.sent, self.sending, self.go = name, sent, sending, go
        self.broker = self

    def send(self, argument: object) -> None:
        self.sending.set()
        self.go.wait(timeout=10)
        self.sent.append((self.name, argument))

    def close(self) -> None:
        return None


def test_dispatches_queued_together_go_in_one_message() -> None:
    """While one enqueue is on its way, the dispatches queued behind it leave together
    (dispatch_requests), and other enqueues after them; a lone dispatch goes as before."""
    background = DramatiqBackground(make_settings(database_url="",
                                                  broker_url=UNREACHABLE[0]))
    sent: list[tuple[str, object]] = []
    sending, go = threading.Event(), threading.Event()
    background.actors = Actors(*(  # type: ignore[arg-type]
        _Recording(name, sent, sending, go) for name in (
            "dispatch_request", "deliver_message", "deliver_messages", "dispatch_requests")))
    background.dispatch(1)
    assert sending.wait(timeout=10)  # held up in send() until go
    for request_id in (2, 3, 4):
        background.dispatch(request_id)
    background.send(9)
    go.set()
    background.close()
    assert sent == [("dispatch_request", 1), ("dispatch_requests", [2, 3, 4]),
                    ("deliver_message", 9)]
