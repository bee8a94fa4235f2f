"""The typed context every resolver receives: the caller, the database and the loaders."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from strawberry.types import Info as _Info

from domain.access import ANONYMOUS, Viewer
from schema.loaders import Loaders, build_loaders


@dataclass(frozen=True)
class ApiOptions:
    """Tunables the resolvers need, copied from settings by the server."""

    nearest_building_metres: float = 30.0
    address_match_threshold: float = 0.8
    max_page: int = 500


@dataclass
class Context:
    """Per-request context. `db` opens short sessions; `transaction` for mutations."""

    sessions: async_sessionmaker[AsyncSession]
    viewer: Viewer = ANONYMOUS
    options: ApiOptions = field(default_factory=ApiOptions)
    loaders: Loaders = field(init=False)
    request: Any = None
    response: Any = None

    def __post_init__(self) -> None:
        self.loaders = build_loaders(self.sessions)


Info = _Info[Context, None]
