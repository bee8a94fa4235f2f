"""The pauses between restarts of a supervised process (workers.supervise); the restarts
themselves are tested on a real worker in test_real_worker.py."""

from __future__ import annotations

from workers.supervise import Backoff


def test_pauses_double_up_to_the_longest_and_start_over_after_a_healthy_run() -> None:
    backoff = Backoff(first=1.0, longest=8.0, healthy_after=60.0)
    pauses: list[float] = []
    pause: float | None = None
    for _ in range(6):
        pause = backoff.pause(pause, ran=0.5)
        pauses.append(pause)
    assert pauses == [1.0, 2.0, 4.0, 8.0, 8.0, 8.0]
    assert backoff.pause(8.0, ran=61.0) == 1.0
