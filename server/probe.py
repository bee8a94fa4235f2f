"""Whether something listens where a service's URL points: one quick TCP connect.

`gridsteward dev` asks it before starting a worker (is there a broker?), and /healthz before
saying the broker is up. It says nothing of credentials or virtual hosts, only of reachability.
"""

from __future__ import annotations

import socket
from urllib.parse import urlsplit

#: Default ports of the schemes BROKER_URL and DATABASE_URL may name.
DEFAULT_PORTS = {"amqp": 5672, "amqps": 5671, "redis": 6379, "rediss": 6379,
                 "postgresql": 5432, "postgres": 5432}


def address_of(url: str) -> tuple[str, int]:
    """Host and port of `url` (without its credentials, which are not for printing)."""
    parts = urlsplit(url)
    scheme = parts.scheme.partition("+")[0].lower()
    return parts.hostname or "127.0.0.1", parts.port or DEFAULT_PORTS.get(scheme, 0)


def unreachable(url: str, *, timeout: float = 1.0) -> str | None:
    """None when something accepts a TCP connection at `url`'s host and port; otherwise why
    not, in a few words ("127.0.0.1:5672: Connection refused")."""
    host, port = address_of(url)
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return None
    except OSError as exc:
        return f"{host}:{port}: {exc.strerror or type(exc).__name__}"
