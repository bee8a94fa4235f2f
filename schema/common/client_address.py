"""Who is calling, by network address: the socket's peer, or what a trusted proxy says.

X-Forwarded-For is believed only when the peer is one of TRUSTED_PROXIES, and then only as
far as the chain of trusted proxies goes: the answer is the right-most address of the chain
that is not a trusted proxy (a client can write anything to the left of it). An IPv6
address counts as its /64 network, which one subscriber usually holds whole.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from ipaddress import IPv4Network, IPv6Network, ip_address, ip_network
from typing import Any

Network = IPv4Network | IPv6Network

#: Longest text kept of an address that is not one.
_MAX_TEXT = 64


def networks(texts: Iterable[str]) -> tuple[Network, ...]:
    """TRUSTED_PROXIES as networks ("10.0.0.1" is 10.0.0.1/32)."""
    return tuple(ip_network(text, strict=False) for text in texts)


def _trusted(address: str, trusted: Sequence[Network]) -> bool:
    try:
        parsed = ip_address(address)
    except ValueError:
        return False
    return any(parsed in network for network in trusted)


def _canonical(address: str) -> str:
    """The address as a bucket key: IPv4 as is, IPv6 as its /64."""
    try:
        parsed = ip_address(address)
    except ValueError:
        return address[:_MAX_TEXT]
    if parsed.version == 6:
        return str(ip_network(f"{parsed}/64", strict=False))
    return str(parsed)


def client_address(peer: str | None, forwarded_for: Sequence[str],
                   trusted: Sequence[Network]) -> str:
    """The caller's address: `peer` unless it is trusted, then the right-most untrusted entry
    of the X-Forwarded-For headers `forwarded_for` (the left-most when all are trusted)."""
    if not peer:
        return "unknown"
    if not trusted or not _trusted(peer, trusted):
        return _canonical(peer)
    chain = [part.strip() for header in forwarded_for for part in header.split(",")]
    chain = [part for part in chain if part]
    for address in reversed(chain):
        if not _trusted(address, trusted):
            return _canonical(address)
    return _canonical(chain[0] if chain else peer)


def request_address(request: Any, trusted: Sequence[Network]) -> str:
    """`client_address` of a Starlette request or WebSocket."""
    client = getattr(request, "client", None)
    peer = client.host if client is not None else None
    return client_address(peer, request.headers.getlist("x-forwarded-for"), trusted)
