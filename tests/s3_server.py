"""A real S3-compatible server for the S3 media store's tests: s3rver (npm), a Node.js HTTP
server speaking the S3 REST API (SigV4 signatures checked, objects kept in a folder),
installed by scripts/bootstrap into tests/s3server/node_modules. Without Node.js or s3rver
the tests that need it are skipped locally, with the reason, and fail in CI."""

from __future__ import annotations

import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from domain.media.s3_store import S3Location
from tests.unavailable import unavailable

ROOT = Path(__file__).resolve().parent.parent
S3RVER = ROOT / "tests" / "s3server" / "node_modules" / "s3rver" / "bin" / "s3rver.js"
BUCKET = "gridsteward-test"
#: s3rver's one built-in account.
ACCESS_KEY = SECRET_KEY = "S3RVER"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _require() -> str:
    node = shutil.which("node")
    reason = None if node and S3RVER.exists() else (
        "s3rver is not installed (Node.js and `scripts/bootstrap`: tests/s3server)")
    if reason:
        unavailable(reason)
    assert node is not None
    return node


@contextmanager
def running_s3rver(directory: Path) -> Iterator[S3Location]:
    """s3rver on a free loopback port with the bucket BUCKET, its data in `directory`;
    yields where to reach it, and stops it afterwards."""
    node = _require()
    port = _free_port()
    process = subprocess.Popen(
        [node, str(S3RVER), "--directory", str(directory), "--address", "127.0.0.1",
         "--port", str(port), "--silent", "--configure-bucket", BUCKET],
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        _wait(port, process)
        yield S3Location(bucket=BUCKET, prefix="media/", endpoint_url=f"http://127.0.0.1:{port}",
                         region="us-east-1", access_key_id=ACCESS_KEY,
                         secret_access_key=SECRET_KEY, path_style=True)
    finally:
        process.terminate()
        process.wait(timeout=10)


def _wait(port: int, process: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        if process.poll() is not None:
            error = process.stderr.read().decode() if process.stderr else ""
            raise RuntimeError(f"s3rver exited: {error}")
        try:
            with socket.create_connection(("127.0.0.1", port), 0.5):
                return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError("s3rver did not start within 20 s")
