"""The API's Background: enqueueing never raises into a mutation that already committed; a
broker that is away is logged (the sweep recovers the work)."""

from __future__ import annotations

import logging

import pytest

from server.background import DramatiqBackground
from workers.config import WorkerConfig


@pytest.mark.parametrize("url", ["amqp://guest:guest@127.0.0.1:1/", "redis://127.0.0.1:1/0"])
def test_an_unreachable_broker_is_logged_not_raised(url: str,
                                                    caplog: pytest.LogCaptureFixture) -> None:
    background = DramatiqBackground(WorkerConfig(database_url="", broker_url=url))
    with caplog.at_level(logging.WARNING, logger="gridsteward.background"):
        background.dispatch(1)
        background.send(2)
        background.close()
        background.dispatch(3)  # after close: logged too
    messages = [r.getMessage() for r in caplog.records if r.name == "gridsteward.background"]
    assert [m.split(";")[0] for m in messages] == [
        "could not enqueue dispatch_request(1)", "could not enqueue deliver_message(2)",
        "not enqueueing dispatch_request(3) after close"]
