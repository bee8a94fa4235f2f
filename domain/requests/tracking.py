"""The resident's tracking code: how someone without an account looks their request up.

Each request gets a random `tracking_nonce` at submission; its code is the HMAC of the
nonce under a key derived from SECRET_KEY (`tracking_key`): 160 bits, written as 32
base-32 characters. Only the code's SHA-256 is stored (`tracking_hash`), so the database
alone reveals no code. The submitter receives the code in the submission's payload; the
resident's messages carry `{track}` and `{stop}` placeholders (domain.templates) that the
deliverer, which holds the key too, turns into links with the code (`tracking_payload`).

A code is valid while the request is open and for VALID_AFTER_CLOSE after it closes
(completed, closed or cancelled). `find_tracked` answers None alike for an unknown number,
a wrong code and an expired one.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Row, text
from sqlalchemy.ext.asyncio import AsyncSession

from domain.requests.delivery import Render, payload

#: How long after its request closes a tracking code still opens it.
VALID_AFTER_CLOSE = timedelta(days=30)
TRACK = "{track}"
STOP = "{stop}"
#: Longest code accepted (a code is 32 characters; spaces and dashes are ignored).
MAX_CODE = 64


def tracking_key(secret: str) -> bytes:
    """The key of tracking codes, derived from SECRET_KEY (distinct from the token and
    sign-in code keys): the API and the deliverer both derive it."""
    return hmac.new(secret.encode(), b"gridsteward tracking codes", hashlib.sha256).digest()


def new_nonce() -> str:
    """A fresh random nonce (128 bits) for one request."""
    return secrets.token_hex(16)


def derive_code(key: bytes, nonce: str) -> str:
    """The tracking code of a request's nonce: 160 bits, 32 base-32 characters."""
    digest = hmac.new(key, f"track:{nonce}".encode(), hashlib.sha256).digest()[:20]
    return base64.b32encode(digest).decode()


def normalize(code: str) -> str:
    """A code as typed, made canonical: no spaces or dashes, upper case."""
    return "".join(code.split()).replace("-", "").upper()


def code_hash(code: str) -> str:
    """What is stored of a code."""
    return hashlib.sha256(normalize(code).encode()).hexdigest()


def link(base: str, number: str, code: str, *, stop: bool = False) -> str:
    """The resident's link to their request (TRACKING_LINK with the number and code), or
    to stop its notices; without a TRACKING_LINK, the number and code in words."""
    if not base:
        return "凭服务单号和查询码在查询页面办理" if stop else f"服务单号{number}，查询码{code}"
    sep = "&" if "?" in base else "?"
    return f"{base}{sep}n={number}&c={code}" + ("&stop=1" if stop else "")


def tracking_payload(key: bytes, base: str, render: Render = payload) -> Render:
    """`render` (domain.requests.delivery.payload by default) with the `{track}` and
    `{stop}` placeholders of a resident's message written as links with the request's
    code; the claimed row carries the request's `request_number` and `tracking_nonce`
    (domain.requests.delivery)."""
    def render_tracked(row: Row[Any]) -> dict[str, Any]:
        message = render(row)
        nonce = getattr(row, "tracking_nonce", None)
        number = getattr(row, "request_number", None)
        body = message["body"]
        if nonce and number and (TRACK in body or STOP in body):
            code = derive_code(key, nonce)
            message["body"] = (body.replace(TRACK, link(base, number, code))
                               .replace(STOP, link(base, number, code, stop=True)))
        return message
    return render_tracked


_FIND = text("""
    SELECT r.id, r.tracking_hash,
           CASE WHEN r.status IN ('COMPLETED', 'CLOSED') THEN r.completed_at
                WHEN r.status = 'CANCELLED' THEN r.updated_at END AS closed_at
    FROM service_request r WHERE r.number = :number""")


async def find_tracked(session: AsyncSession, number: str, code: str,
                       now: datetime) -> int | None:
    """The id of the request `number` if `code` is its tracking code and still valid; None
    for an unknown number, a wrong code or an expired one alike."""
    if not number or not code or len(number) > 32 or len(code) > MAX_CODE:
        return None
    row = (await session.execute(_FIND, {"number": number.strip().upper()})).first()
    given = code_hash(code)
    if row is None or row.tracking_hash is None:
        hmac.compare_digest(given, given)  # the same work as a real comparison
        return None
    if not hmac.compare_digest(given, row.tracking_hash):
        return None
    if row.closed_at is not None and row.closed_at + VALID_AFTER_CLOSE < now:
        return None
    return int(row.id)
