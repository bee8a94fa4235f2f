"""server.child: one SIGTERM to the child, then SIGKILL to its whole group, so that nothing it
started is left; `hurry` cuts the grace short."""

from __future__ import annotations

import signal
import sys
import threading
from pathlib import Path

from server.child import Child, stop_all

#: A child that ignores SIGTERM and leaves a grandchild in its group, printing its pid.
STUBBORN = """
import signal, subprocess, sys, time
signal.signal(signal.SIGTERM, signal.SIG_IGN)
grandchild = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(600)"])
open(sys.argv[1], "w").write(str(grandchild.pid))
time.sleep(600)
"""


def _stubborn(tmp_path: Path, grace: float) -> tuple[Child, Path]:
    pid_file = tmp_path / "grandchild"
    child = Child("stubborn", [sys.executable, "-c", STUBBORN, str(pid_file)],
                  grace=grace).start()
    while not (pid_file.exists() and pid_file.read_text()):
        assert child.running
        threading.Event().wait(0.05)
    return child, pid_file


def _dead(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except FileNotFoundError:
        return True
    return state == "Z"


def _gone(pid: int) -> bool:
    """Whether `pid` dies (SIGKILL takes effect a moment after killpg returns)."""
    for _ in range(200):
        if _dead(pid):
            return True
        threading.Event().wait(0.05)
    return False


def test_a_child_that_ignores_sigterm_is_killed_with_its_group(tmp_path: Path) -> None:
    child, pid_file = _stubborn(tmp_path, grace=0.5)
    assert child.stop() == -signal.SIGKILL
    assert _gone(int(pid_file.read_text()))


def test_hurry_cuts_the_grace_short(tmp_path: Path) -> None:
    child, pid_file = _stubborn(tmp_path, grace=3600)
    hurry = threading.Event()
    hurry.set()
    stop_all([child], hurry)
    assert child.exit_code == -signal.SIGKILL
    assert _gone(int(pid_file.read_text()))


def test_a_child_that_stops_on_sigterm_exits_by_itself() -> None:
    child = Child("sleeper", [sys.executable, "-c", "import time; time.sleep(600)"],
                  grace=3600).start()
    assert child.stop() == -signal.SIGTERM
    assert child.exit_code == -signal.SIGTERM and not child.running
