"""DATABASE_REPLICA_URL: the replica's sessions, and each request's choice between it and the
primary for the reads that tolerate a little lag (Context.reads, the tiles).

A caller who wrote (a mutation) reads the primary for REPLICA_STICKY_SECONDS, known two ways
so that it holds across API processes and machines as well as for clients without cookies:
- the answer to the mutation sets the cookie `gridsteward_wrote` for that long (browsers, and
  HTTP clients that keep cookies, send it back to whichever process answers next);
- this process remembers the caller (domain.infra.replica.RecentWriters) by its sign-in
  session, account or member, or, when anonymous, by its address (X-Forwarded-For from
  TRUSTED_PROXIES, as the rate limits count it).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from domain.infra.replica import RecentWriters
from schema.common.client_address import Network, request_address
from server.auth import Claims

#: The cookie a write sets: "read the primary", for REPLICA_STICKY_SECONDS.
COOKIE = "gridsteward_wrote"
Factory = async_sessionmaker[AsyncSession]


@dataclass(frozen=True)
class Replica:
    """The replica's sessions and, per process, who wrote lately."""

    sessions: Factory
    writers: RecentWriters
    trusted: tuple[Network, ...] = ()

    def router(self, primary: Factory, request: Any, response: Any = None) -> RequestReads:
        """The choice for one request (`response`: where a write sets the cookie)."""
        return RequestReads(self, primary, request, response)


class RequestReads:
    """One request's router: the replica unless its caller wrote a moment ago."""

    def __init__(self, replica: Replica, primary: Factory, request: Any,
                 response: Any = None) -> None:
        self.replica, self.primary = replica, primary
        self.request, self.response = request, response
        self._sticky: bool | None = None

    def reads(self) -> Factory:
        if self._sticky is None:
            self._sticky = (COOKIE in self.request.cookies
                            or self.replica.writers.recent(self.caller()))
        return self.primary if self._sticky else self.replica.sessions

    def wrote(self) -> None:
        seconds = self.replica.writers.seconds
        self._sticky = True
        self.replica.writers.wrote(self.caller())
        if self.response is not None and seconds > 0:
            self.response.set_cookie(COOKIE, "1", max_age=math.ceil(seconds), path="/",
                                     httponly=True, samesite="lax")

    def caller(self) -> str:
        """Who is asking: the sign-in session, account or member of the token, else the
        client's address."""
        claims: Claims | None = self.request.scope.get("state", {}).get("claims")
        if claims is not None:
            if claims.session_id is not None:
                return f"session:{claims.session_id}"
            if claims.account_id is not None:
                return f"account:{claims.account_id}"
            if claims.member_id is not None:
                return f"member:{claims.member_id}"
            return "admin"
        return "address:" + request_address(self.request, self.replica.trusted)


def reads_for(request: Any) -> Factory:
    """The sessions a lag-tolerant read outside GraphQL (a tile) uses for `request`."""
    state = request.app.state
    replica: Replica | None = state.replica
    if replica is None:
        return state.sessions
    return replica.router(state.sessions, request).reads()
