"""The pauses between restarts of a supervised process and the exit codes of its child
(workers.supervise); the restarts themselves are tested on a real worker in
test_real_worker.py."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest

from workers.supervise import Backoff, _fork


def test_pauses_double_up_to_the_longest_and_start_over_after_a_healthy_run() -> None:
    backoff = Backoff(first=1.0, longest=8.0, healthy_after=60.0)
    pauses: list[float] = []
    pause: float | None = None
    for _ in range(6):
        pause = backoff.pause(pause, ran=0.5)
        pauses.append(pause)
    assert pauses == [1.0, 2.0, 4.0, 8.0, 8.0, 8.0]
    assert backoff.pause(8.0, ran=61.0) == 1.0


def _exits(code: object) -> None:
    raise SystemExit(code)


def _fails() -> None:
    raise RuntimeError("boom")


@pytest.mark.parametrize(("target", "expected"), [
    (lambda parent: None, 0),
    (lambda parent: _exits(None), 0),
    (lambda parent: _exits(3), 3),
    (lambda parent: _exits("bad settings"), 1),
    (lambda parent: _fails(), 1),
])
def test_the_child_leaves_with_its_targets_exit_code(target: Any, expected: int) -> None:
    pid = _fork(target)
    assert os.waitstatus_to_exitcode(os.waitpid(pid, 0)[1]) == expected


def test_the_child_is_told_who_supervises_it(tmp_path: Path) -> None:
    seen = tmp_path / "parent"
    pid = _fork(lambda parent: seen.write_text(str(parent)))
    os.waitpid(pid, 0)
    assert seen.read_text() == str(os.getpid())
