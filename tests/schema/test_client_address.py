"""The caller's address: the socket's peer, or from X-Forwarded-For behind trusted proxies
only, the right-most address that is not one of them."""

from __future__ import annotations

import pytest

from schema.common.client_address import client_address, networks

TRUSTED = networks(["10.0.0.0/8", "192.168.1.7", "fd00::/8"])


@pytest.mark.parametrize(("peer", "forwarded", "address"), [
    ("1.2.3.4", [], "1.2.3.4"),
    ("1.2.3.4", ["9.9.9.9"], "1.2.3.4"),  # an untrusted peer's header is ignored
    ("10.0.0.2", [], "10.0.0.2"),  # a proxy without the header: itself
    ("10.0.0.2", ["9.9.9.9"], "9.9.9.9"),
    ("10.0.0.2", ["6.6.6.6, 7.7.7.7, 192.168.1.7"], "7.7.7.7"),  # through two proxies
    ("10.0.0.2", ["6.6.6.6", "7.7.7.7,10.1.1.1"], "7.7.7.7"),  # two headers, one list
    ("10.0.0.2", ["10.3.3.3, 10.1.1.1"], "10.3.3.3"),  # all proxies: the left-most
    ("10.0.0.2", ["garbage, 7.7.7.7"], "7.7.7.7"),  # what the client wrote stays left
    ("10.0.0.2", ["7.7.7.7, garbage"], "garbage"),  # a proxy that passes garbage on
    ("fd00::1", ["2001:db8:1:2:3:4:5:6"], "2001:db8:1:2::/64"),  # IPv6 by its /64
    ("2001:db8:1:2::9", ["1.1.1.1"], "2001:db8:1:2::/64"),
    (None, ["1.1.1.1"], "unknown"),
])
def test_client_address(peer: str | None, forwarded: list[str], address: str) -> None:
    assert client_address(peer, forwarded, TRUSTED) == address


def test_without_trusted_proxies_the_header_is_never_read() -> None:
    assert client_address("10.0.0.2", ["9.9.9.9"], ()) == "10.0.0.2"
