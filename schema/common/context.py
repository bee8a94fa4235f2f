"""The typed context every resolver receives: the caller, the database, the settings and the
loaders."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from strawberry.types import Info as _Info

from domain.access import ANONYMOUS, Viewer
from domain.people.audit import Entry
from domain.settings import Settings
from schema.common.loaders import Loaders, build_loaders
from schema.common.rate_limits import RateLimits


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
    """Per-request context: `sessions` opens short sessions, `settings` are the process's
    (the tunables resolvers pass to domain functions), `request` the Starlette request or
    WebSocket (its client address is what rate limits count)."""

    sessions: async_sessionmaker[AsyncSession]
    settings: Settings
    viewer: Viewer = ANONYMOUS
    background: Background | None = None
    events: EventFeed | None = None
    tokens: Tokens | None = None
    #: The abuse limits of the anonymous fields; None: nothing is limited.
    rate_limits: RateLimits | None = None
    loaders: Loaders = field(init=False)
    request: Any = None
    response: Any = None
    #: Phones answered unmasked to this caller, written as PHONE_REVEALED after the operation.
    reveals: list[Entry] = field(default_factory=list)
    #: The permission layer's batched row checks of this operation (schema.common.permissions).
    checks: dict[Any, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.loaders = build_loaders(self.sessions)


Info = _Info[Context, None]
