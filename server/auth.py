"""Bearer tokens: signed (HS256 with SECRET_KEY), expiring JWTs.

Two kinds: a session's access token (`sub` "account:<id>" or "member:<id>", `sid` the session:
a revoked session refuses it at once, see domain.access.load_viewer), issued by the sign-in
mutations through `SessionTokens`; and the tokens of `gridsteward token --admin` / `--member
ID` for scripts and tests (`sub` "admin", city-wide, or "member:<id>", no session). The API
reads `Authorization: Bearer`.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import jwt

from domain.access import ANONYMOUS, CITY_ADMIN, Viewer, load_viewer
from domain.people.codes import code_key

ALGORITHM = "HS256"
ISSUER = "gridsteward"


class TokenError(Exception):
    """A token that cannot be trusted; the message says why, for the client."""


@dataclass(frozen=True)
class Claims:
    """Who a valid token speaks for, and the session it belongs to (None for the tokens of
    `gridsteward token`)."""

    admin: bool
    member_id: int | None
    account_id: int | None = None
    session_id: int | None = None


def issue_token(secret: str, *, admin: bool = False, member_id: int | None = None,
                ttl_seconds: int = 12 * 3600, now: float | None = None) -> str:
    """A signed token for an administrator or a member, valid for `ttl_seconds`."""
    if admin == (member_id is not None):
        raise ValueError("a token is for an administrator or for one member")
    issued = int(now if now is not None else time.time())
    subject = "admin" if admin else f"member:{member_id}"
    payload = {"sub": subject, "iss": ISSUER, "iat": issued, "exp": issued + ttl_seconds}
    return jwt.encode(payload, secret, algorithm=ALGORITHM)


def issue_session_token(secret: str, *, session_id: int, account_id: int | None = None,
                        member_id: int | None = None, ttl_seconds: int,
                        now: datetime) -> tuple[str, datetime]:
    """A session's access token for its account or member, and when it expires."""
    if (account_id is None) == (member_id is None):
        raise ValueError("a session is of one account or of one member")
    subject = f"account:{account_id}" if account_id is not None else f"member:{member_id}"
    issued = int(now.timestamp())
    payload = {"sub": subject, "sid": session_id, "iss": ISSUER, "iat": issued,
               "exp": issued + ttl_seconds}
    return (jwt.encode(payload, secret, algorithm=ALGORITHM),
            datetime.fromtimestamp(issued + ttl_seconds, UTC))


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
    return _claims(str(payload["sub"]), payload.get("sid"))


def _claims(subject: str, session_id: object) -> Claims:
    if session_id is not None and (not isinstance(session_id, int) or subject == "admin"):
        raise TokenError("token session is not valid")
    if subject == "admin":
        return Claims(admin=True, member_id=None)
    kind, _, pk = subject.partition(":")
    if kind not in ("member", "account") or not pk.isdigit():
        raise TokenError("token subject is not valid")
    if kind == "account":
        if session_id is None:
            raise TokenError("token session is missing")
        return Claims(admin=False, member_id=None, account_id=int(pk), session_id=session_id)
    return Claims(admin=False, member_id=int(pk), session_id=session_id)


def bearer_token(header: str | None) -> str | None:
    """The token in an `Authorization: Bearer <token>` header; None when there is none."""
    if not header:
        return None
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise TokenError("Authorization header must be `Bearer <token>`")
    return token.strip()


@dataclass(frozen=True)
class SessionTokens:
    """What the sign-in mutations need of the server: access tokens signed with SECRET_KEY,
    ACCESS_TOKEN_TTL_SECONDS long, and the key of sign-in codes (schema.common.context.Tokens).
    """

    secret: str
    access_ttl: timedelta = timedelta(minutes=15)

    def access_token(self, *, session_id: int, account_id: int | None, member_id: int | None,
                     now: datetime) -> tuple[str, datetime]:
        return issue_session_token(self.secret, session_id=session_id, account_id=account_id,
                                   member_id=member_id,
                                   ttl_seconds=int(self.access_ttl.total_seconds()), now=now)

    @property
    def code_key(self) -> bytes:
        return code_key(self.secret)


async def viewer_of(sessions: Any, claims: Claims | None) -> Viewer:
    """The caller a token names (domain.access.load_viewer); anonymous without one. The
    GraphQL context and the tile route both ask this."""
    if claims is None:
        return ANONYMOUS
    if claims.admin:
        return CITY_ADMIN
    async with sessions() as session:
        return await load_viewer(session, admin=False, member_id=claims.member_id,
                                 account_id=claims.account_id, session_id=claims.session_id)
