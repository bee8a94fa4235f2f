"""Who may see a request's photos, and the signed links that let a browser fetch them.

A photo is as private as its request: staff and the assignee see it by token (the one rule
of domain.requests.queries.can_see; the permission layer will replace it here, in
`may_see_photos` only), and whoever the API shows the request to gets links signed for it.
A link names one photo, one variant and when it stops working; its signature is an HMAC
with a key derived from SECRET_KEY, so an `<img src>` works without the bearer token, a link
cannot be changed into another photo's, and it dies by itself. Links of one window (a whole
TTL, counted from the epoch) are identical, so browsers and proxies can cache them.
"""

from __future__ import annotations

import hashlib
import hmac
import math
from datetime import datetime

from domain.access import Viewer
from domain.requests.models import ServiceRequest
from domain.requests.queries import can_see

#: How long a link works, at least, by default (MEDIA_LINK_TTL_SECONDS): one to two hours.
DEFAULT_LINK_TTL_SECONDS = 3600


def may_see_photos(viewer: Viewer, request: ServiceRequest) -> bool:
    """Whether `viewer`, by their token alone, may see the photos of `request`."""
    return can_see(viewer, request)


def link_key(secret: str) -> bytes:
    """The key media links are signed with, derived from SECRET_KEY (never the key that
    signs tokens)."""
    return hashlib.sha256(b"gridsteward media links\x00" + secret.encode()).digest()


def link_expiry(now: datetime, ttl_seconds: int) -> int:
    """The end of the window after the one `now` is in (Unix seconds): a link handed out now
    works for at least `ttl_seconds`, at most twice that."""
    return (math.floor(now.timestamp() / ttl_seconds) + 2) * ttl_seconds


def signature(key: bytes, photo_id: int, variant: str, expires: int) -> str:
    """The link's signature (hex, 128 bits)."""
    message = f"{photo_id}:{variant}:{expires}".encode()
    return hmac.new(key, message, hashlib.sha256).hexdigest()[:32]


def valid_signature(key: bytes, photo_id: int, variant: str, expires: int, given: str,
                    now: datetime) -> bool:
    """Whether `given` signs this photo and variant, and the link has not expired."""
    if expires < now.timestamp():
        return False
    return hmac.compare_digest(signature(key, photo_id, variant, expires), given)
