"""The ASGI application: Starlette, strawberry's GraphQL endpoint and the middleware.

`create_app(settings)` is the only entry point; uvicorn calls `server.asgi:app`. The engine
and the schema live in the lifespan state, never in module globals.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from sqlalchemy import text
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route, WebSocketRoute
from strawberry.asgi import GraphQL

from domain.access import ANONYMOUS, Viewer
from domain.db import make_async_engine, session_factory
from schema.app import Limits, build_schema
from schema.context import ApiOptions, Context
from server.auth import Claims
from server.middleware import BearerAuth, BodyLimit
from server.settings import Settings

_WORKER_GRIDS = text("""
SELECT m.status, COALESCE(array_agg(gw.grid_id) FILTER (WHERE gw.grid_id IS NOT NULL), '{}')
FROM member m LEFT JOIN grid_worker gw ON gw.member_id = m.id
WHERE m.id = :id GROUP BY m.id""")


class GridStewardGraphQL(GraphQL[Context, None]):
    """strawberry's ASGI endpoint with GridSteward's per-request context."""

    def __init__(self, *, options: ApiOptions, limits: Limits) -> None:
        super().__init__(build_schema(limits), graphql_ide="graphiql")
        self.options = options

    async def get_context(self, request: Any, response: Any) -> Context:
        sessions = request.app.state.sessions
        claims: Claims | None = request.scope.get("state", {}).get("claims")
        viewer = await _viewer(sessions, claims)
        return Context(sessions=sessions, viewer=viewer, options=self.options,
                       request=request, response=response)


async def _viewer(sessions: Any, claims: Claims | None) -> Viewer:
    """The caller; a member who left (EXITED) or no longer exists is anonymous."""
    if claims is None:
        return ANONYMOUS
    if claims.admin:
        return Viewer(admin=True)
    async with sessions() as session:
        row = (await session.execute(_WORKER_GRIDS, {"id": claims.member_id})).first()
    if row is None or row[0] == "EXITED":
        return ANONYMOUS
    return Viewer(member_id=claims.member_id, grid_ids=frozenset(row[1]))


async def health(request: Request) -> JSONResponse:
    """Liveness and database reachability, for load balancers."""
    async with request.app.state.sessions() as session:
        await session.execute(text("SELECT 1"))
    return JSONResponse({"status": "ok"})


def create_app(settings: Settings) -> Starlette:
    """The whole HTTP surface: POST/GET /graphql (GraphiQL on GET), WebSocket /graphql,
    GET /healthz."""
    options = ApiOptions(nearest_building_metres=settings.nearest_building_metres,
                         address_match_threshold=settings.address_match_threshold,
                         due_hours=dict(settings.due_hours),
                         accept_timeout_seconds=settings.accept_timeout_seconds)
    limits = Limits(max_depth=settings.max_query_depth, max_aliases=settings.max_aliases,
                    max_tokens=settings.max_tokens, cache_size=settings.parser_cache_size)
    graphql = GridStewardGraphQL(options=options, limits=limits)

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        engine = make_async_engine(settings.database_url, pool_size=settings.db_pool_size)
        app.state.sessions = session_factory(engine)
        yield
        await engine.dispose()

    return Starlette(
        routes=[Route("/graphql", graphql, methods=["GET", "POST"]),
                WebSocketRoute("/graphql", graphql), Route("/healthz", health)],
        middleware=[Middleware(BodyLimit, max_bytes=settings.max_body_bytes),
                    Middleware(BearerAuth, secret=settings.secret_key)],
        lifespan=lifespan,
    )
