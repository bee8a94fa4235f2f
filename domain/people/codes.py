"""One-time sign-in codes: six digits, never stored.

A code row keeps a random `nonce` and an HMAC of the code; the code itself is the HMAC of the
nonce under a key derived from SECRET_KEY (`code_key`), so the database alone reveals no code.
The SIGN_IN_CODE message in the outbox carries the placeholder `{code}` (what
`outboundMessages` shows) and the nonce in its dedupe key; the deliverer, which holds the key
too, writes the code into the body it hands to the channel (`sign_in_payload`), and nowhere
else.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections.abc import Callable
from typing import Any

from sqlalchemy import Row

from domain import templates
from domain.requests.delivery import payload

KIND = "SIGN_IN_CODE"
DIGITS = 6
PLACEHOLDER = "{code}"
BODY = templates.render(KIND, code=PLACEHOLDER)
_DEDUPE_PREFIX = f"{KIND}:"


def code_key(secret: str) -> bytes:
    """The key of sign-in codes, derived from SECRET_KEY (and distinct from the token key):
    the API checks codes with it, the workers write them into their messages with it."""
    return hmac.new(secret.encode(), b"gridsteward sign-in codes", hashlib.sha256).digest()


def new_nonce() -> str:
    """A fresh random nonce (128 bits) for one code."""
    return secrets.token_hex(16)


def derive_code(key: bytes, nonce: str) -> str:
    """The six digits of the code of `nonce`."""
    digest = hmac.new(key, f"code:{nonce}".encode(), hashlib.sha256).digest()
    return str(int.from_bytes(digest[:8], "big") % 10 ** DIGITS).zfill(DIGITS)


def code_hash(key: bytes, nonce: str, code: str) -> str:
    """What is stored of a code, and compared with what the person types."""
    return hmac.new(key, f"check:{nonce}:{code}".encode(), hashlib.sha256).hexdigest()


def matches(key: bytes, nonce: str, stored_hash: str, code: str) -> bool:
    """Whether `code` is the code of this row (constant time)."""
    return hmac.compare_digest(code_hash(key, nonce, code), stored_hash)


def dedupe_key(nonce: str) -> str:
    """The outbox dedupe key of the message of one code: it carries the nonce."""
    return f"{_DEDUPE_PREFIX}{nonce}"


def sign_in_payload(key: bytes) -> Callable[[Row[Any]], dict[str, Any]]:
    """domain.requests.delivery.payload, with the code written into SIGN_IN_CODE bodies."""
    def render(row: Row[Any]) -> dict[str, Any]:
        message = payload(row)
        if row.kind == KIND and str(row.dedupe_key).startswith(_DEDUPE_PREFIX):
            nonce = str(row.dedupe_key)[len(_DEDUPE_PREFIX):]
            message["body"] = message["body"].replace(PLACEHOLDER, derive_code(key, nonce))
        return message
    return render
