"""Bearer tokens: signed (HS256 with SECRET_KEY), expiring, naming an administrator or a member.

`gridsteward token --admin` / `--member ID` prints one. The API reads `Authorization: Bearer`.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import jwt

ALGORITHM = "HS256"
ISSUER = "gridsteward"


class TokenError(Exception):
    """A token that cannot be trusted; the message says why, for the client."""


@dataclass(frozen=True)
class Claims:
    """Who a valid token speaks for."""

    admin: bool
    member_id: int | None


def issue_token(secret: str, *, admin: bool = False, member_id: int | None = None,
                ttl_seconds: int = 12 * 3600, now: float | None = None) -> str:
    """A signed token for an administrator or a member, valid for `ttl_seconds`."""
    if admin == (member_id is not None):
        raise ValueError("a token is for an administrator or for one member")
    issued = int(now if now is not None else time.time())
    subject = "admin" if admin else f"member:{member_id}"
    payload = {"sub": subject, "iss": ISSUER, "iat": issued, "exp": issued + ttl_seconds}
    return jwt.encode(payload, secret, algorithm=ALGORITHM)


def read_token(secret: str, token: str) -> Claims:
    """The claims of a valid token; TokenError when expired, forged or malformed."""
    try:
        payload = jwt.decode(token, secret, algorithms=[ALGORITHM], issuer=ISSUER,
                             options={"require": ["exp", "iat", "sub", "iss"]})
    except jwt.ExpiredSignatureError:
        raise TokenError("token has expired: ask for a new one") from None
    except jwt.InvalidSignatureError:
        raise TokenError("token signature is not valid") from None
    except jwt.InvalidTokenError as exc:
        raise TokenError(f"token is not valid: {exc}") from None
    return _claims(str(payload["sub"]))


def _claims(subject: str) -> Claims:
    if subject == "admin":
        return Claims(admin=True, member_id=None)
    kind, _, pk = subject.partition(":")
    if kind != "member" or not pk.isdigit():
        raise TokenError("token subject is not valid")
    return Claims(admin=False, member_id=int(pk))


def bearer_token(header: str | None) -> str | None:
    """The token in an `Authorization: Bearer <token>` header; None when there is none."""
    if not header:
        return None
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise TokenError("Authorization header must be `Bearer <token>`")
    return token.strip()
