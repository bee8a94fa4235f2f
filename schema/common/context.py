"""The typed context every resolver receives: the caller, the database and the loaders."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Protocol

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from strawberry.types import Info as _Info

from domain.access import ANONYMOUS, Viewer
from schema.common.loaders import Loaders, build_loaders

#: The documented time limits (规定时限) per category, in hours: the same values as
#: server.settings.DEFAULT_DUE_HOURS (which schema may not import; a test keeps them equal).
DEFAULT_DUE_HOURS: dict[str, int] = {"EMERGENCY": 4, "ASSISTANCE": 24, "CONSULTATION": 48,
                                     "MEDIATION": 72, "MAINTENANCE": 72, "CULTURE": 168}


@dataclass(frozen=True)
class ApiOptions:
    """Tunables the resolvers need, copied from settings by the server; the defaults are the
    settings' defaults."""

    nearest_building_metres: float = 30.0
    address_match_threshold: float = 0.8
    max_page: int = 500
    due_hours: dict[str, int] = field(default_factory=lambda: dict(DEFAULT_DUE_HOURS))
    accept_timeout_seconds: int = 1800
    outbound_channel: str = "log"
    refresh_token_ttl_seconds: int = 30 * 86400
    #: ALLOW_ANONYMOUS_INTROSPECTION (the settings' default in dev and test; off in production).
    allow_anonymous_introspection: bool = True

    @property
    def accept_timeout(self) -> timedelta:
        """How long a member has to accept a request offered to them."""
        return timedelta(seconds=self.accept_timeout_seconds)

    @property
    def refresh_ttl(self) -> timedelta:
        """How long a refresh token is good for (REFRESH_TOKEN_TTL_SECONDS)."""
        return timedelta(seconds=self.refresh_token_ttl_seconds)


class Tokens(Protocol):
    """What signing in needs of the server (server.auth.SessionTokens): access tokens signed
    with SECRET_KEY for a session, and the key sign-in codes are checked with."""

    def access_token(self, *, session_id: int, account_id: int | None, member_id: int | None,
                     now: datetime) -> tuple[str, datetime]: ...

    @property
    def code_key(self) -> bytes: ...


class Background(Protocol):
    """Hands work to the workers after a transaction commits (the server wires Dramatiq in).
    Losing a call is safe: the sweep finds whatever is due; it only makes things faster."""

    def dispatch(self, request_id: int) -> None: ...

    def send(self, message_id: int) -> None: ...


class EventFeed(Protocol):
    """Ids of request events as they are written, by any process (LISTEN/NOTIFY)."""

    def subscribe(self) -> AsyncIterator[int]: ...


@dataclass
class Context:
    """Per-request context. `db` opens short sessions; `transaction` for mutations."""

    sessions: async_sessionmaker[AsyncSession]
    viewer: Viewer = ANONYMOUS
    options: ApiOptions = field(default_factory=ApiOptions)
    background: Background | None = None
    events: EventFeed | None = None
    tokens: Tokens | None = None
    loaders: Loaders = field(init=False)
    request: Any = None
    response: Any = None

    def __post_init__(self) -> None:
        self.loaders = build_loaders(self.sessions)


Info = _Info[Context, None]
