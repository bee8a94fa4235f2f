"""The ASGI application: Starlette, strawberry's GraphQL endpoint and the middleware.

`create_app(settings)` is the only entry point; uvicorn calls `server.asgi:app`. The engine,
the schema and the live-event hub (one LISTEN connection per process) live in the lifespan
state, never in module globals, and so do the Background that hands new requests to the
workers, the rate limiter (RATE_LIMIT_STORE, schema.common.rate_limits) and the replica's
sessions when DATABASE_REPLICA_URL is set (server.replica). WebSocket
callers authenticate with the Authorization header or, as browsers must, in
graphql-transport-ws's connection_init payload.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import orjson
from cross_web import HTTPException
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route, WebSocketRoute
from starlette.types import Receive, Scope, Send
from starlette.websockets import WebSocket
from strawberry.asgi import GraphQL
from strawberry.exceptions import ConnectionRejectionError
from strawberry.types.unset import UNSET, UnsetType

from domain.infra.db import dispose_engine, make_async_engine, session_factory
from domain.infra.rate_limit_stores import make_limiter
from domain.infra.replica import RecentWriters
from domain.media.stores import make_media_store
from domain.settings import Settings
from schema.app import Limits, build_schema
from schema.common.client_address import networks
from schema.common.context import Context
from schema.common.rate_limits import RateLimits
from server import json_post
from server.auth import (
    Claims,
    SessionTokens,
    TokenError,
    bearer_token,
    read_token,
    viewer_of,
)
from server.background import DramatiqBackground
from server.events import EventHub
from server.gc_tuning import tune_gc
from server.health import health
from server.media import PHOTO_ROUTE, photo
from server.middleware import BearerAuth, BodyLimit, Outages
from server.multipart import read_multipart
from server.replica import Replica
from server.request_json import Undecodable, decode_json
from server.screen import screen_routes
from server.tiles import tile


@dataclass
class SocketContext(Context):
    """The context of one WebSocket connection, shared by its operations; strawberry puts the
    connection_init payload in `connection_params`."""

    connection_params: dict[str, object] | None = None


class GridStewardGraphQL(GraphQL[Context, None]):
    """strawberry's ASGI endpoint with GridSteward's per-request context."""

    def __init__(self, settings: Settings, limits: Limits, tokens: SessionTokens) -> None:
        super().__init__(build_schema(limits, replica=bool(settings.database_replica_url)),
                         graphql_ide="graphiql", multipart_uploads_enabled=True)
        self.settings = settings
        self.secret = settings.secret_key
        self.tokens = tokens

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """A JSON POST straight through the schema (server.json_post); anything else by
        strawberry's endpoint, its HTTP refusals (a body that is not a JSON object, a wrong
        method...) answered as JSON errors rather than plain text."""
        if scope["type"] != "http":
            await super().__call__(scope, receive, send)
            return
        if json_post.is_json_post(scope):
            await json_post.answer(self, scope, receive, send)
            return
        request = Request(scope, receive)
        try:
            response = await self.run(request)
        except HTTPException as exc:
            response = json_post.refused(exc)
        finally:
            await request.close()  # the uploaded files' temporary files, if any
        await response(scope, receive, send)

    async def parse_multipart(self, request: Any) -> dict[str, Any]:
        """A GraphQL multipart request (files: photos), checked whole (server.multipart):
        any fault of its shape is HTTP 400 with a JSON error, never a server error."""
        return await read_multipart(request, self.parse_json)

    def encode_json(self, data: object) -> str:
        """Every answer's JSON, by orjson (compact): several times faster than the standard
        library's, which was a few per cent of a coverage request. Text, not bytes: strawberry
        sends bytes over a WebSocket as binary frames, which graphql-transport-ws clients do
        not read."""
        return orjson.dumps(data).decode()

    def decode_json(self, data: str | bytes) -> object:
        """Every JSON a client sends, bounded (server.request_json)."""
        return decode_json(data)

    def parse_json(self, data: str | bytes) -> Any:
        """A request body or `variables` parameter: a JSON object, else HTTP 400."""
        try:
            value = self.decode_json(data)
        except Undecodable as exc:
            raise HTTPException(400, exc.reason) from None
        if not isinstance(value, dict):
            raise HTTPException(400, 'expected a JSON object such as {"query": "{ ... }", '
                                '"variables": {}}')
        return value

    async def get_context(self, request: Any, response: Any) -> Context:
        state = request.app.state
        claims: Claims | None = request.scope.get("state", {}).get("claims")
        viewer = await viewer_of(state.sessions, claims)
        kind = SocketContext if isinstance(request, WebSocket) else Context
        replica: Replica | None = state.replica
        return kind(sessions=state.sessions, settings=self.settings, viewer=viewer,
                    background=state.background, events=state.events, tokens=self.tokens,
                    rate_limits=state.rate_limits, request=request, response=response,
                    router=None if replica is None else replica.router(state.sessions, request,
                                                                       response),
                    media=state.media)

    async def on_ws_connect(self, context: Context) -> UnsetType | dict[str, object] | None:
        """connection_init: browsers cannot set WebSocket headers, so a token may come in its
        payload, `{"Authorization": "Bearer <token>"}`, and then names the caller instead of
        the header. An expired, forged or malformed token in either place closes the
        connection (graphql-transport-ws code 4403)."""
        params = getattr(context, "connection_params", None) or {}
        try:
            given = _payload_authorization(params)
            header = given if given is not None else context.request.headers.get(
                "authorization")
            claims = _read_claims(self.secret, header)
        except TokenError as exc:
            raise ConnectionRejectionError({"code": "UNAUTHENTICATED",
                                            "message": str(exc)}) from None
        if given is not None:
            context.viewer = await viewer_of(context.sessions, claims)
        return UNSET

    def create_response(self, response_data: Any, sub_response: Response) -> Response:
        """The JSON answer, with the status and headers of server.json_post.answer_status
        (503 or 429 with Retry-After when nothing of the request was answered)."""
        status, headers = json_post.answer_status(response_data, sub_response)
        response = Response(self.encode_json(response_data), status_code=status,
                            media_type="application/json")
        response.headers.raw.extend(headers)
        response.background = sub_response.background
        return response


def _payload_authorization(params: Mapping[str, object]) -> str | None:
    """The `Authorization` entry of a connection_init payload (any case), if any."""
    for key, value in params.items():
        if key.lower() == "authorization":
            if not isinstance(value, str):
                raise TokenError("Authorization must be `Bearer <token>`")
            return value
    return None


def _read_claims(secret: str, header: str | None) -> Claims | None:
    """The claims of a `Bearer <token>` value; None without one; TokenError when bad."""
    token = bearer_token(header)
    return read_token(secret, token) if token else None


def create_app(settings: Settings) -> Starlette:
    """The whole HTTP surface: POST/GET /graphql (GraphiQL on GET), WebSocket /graphql,
    GET /healthz (server.health), GET /tiles/... (server.tiles), GET /screen (server.screen),
    GET /media/photos/... (server.media)."""
    tokens = SessionTokens(settings.secret_key,
                           timedelta(seconds=settings.access_token_ttl_seconds))
    graphql = GridStewardGraphQL(settings, Limits.of(settings), tokens)

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        engine = make_async_engine(settings.database_url, pool_size=settings.db_pool_size)
        app.state.sessions = session_factory(engine)
        replica_engine = None
        app.state.replica = None
        if settings.database_replica_url:
            replica_engine = make_async_engine(settings.database_replica_url,
                                               pool_size=settings.db_pool_size)
            app.state.replica = Replica(session_factory(replica_engine),
                                        RecentWriters(settings.replica_sticky_seconds),
                                        networks(settings.trusted_proxies))
        app.state.events = EventHub(settings.database_url)
        await app.state.events.start()
        app.state.background = DramatiqBackground(settings)
        app.state.media = make_media_store(settings.media_store, settings.media_s3)
        app.state.secret_key = settings.secret_key
        limiter = make_limiter(settings.rate_limit_store, engine,
                               prefix=settings.rate_limit_prefix)
        app.state.rate_limits = limiter and RateLimits.of(settings, limiter)
        tune_gc()
        yield
        if limiter is not None:
            await limiter.close()
        app.state.background.close()
        await app.state.events.stop()
        await dispose_engine(engine)
        if replica_engine is not None:
            await dispose_engine(replica_engine)

    return Starlette(
        routes=[Route("/graphql", graphql, methods=["GET", "POST"]),
                WebSocketRoute("/graphql", graphql), Route("/healthz", health),
                Route("/tiles/{layer}/{z}/{x}/{y}.mvt", tile, methods=["GET"]),
                Route(PHOTO_ROUTE, photo, methods=["GET"]),
                *screen_routes(settings)],
        middleware=[Middleware(Outages),
                    Middleware(BodyLimit, max_bytes=settings.max_body_bytes,
                               max_upload_bytes=settings.max_upload_body_bytes),
                    Middleware(BearerAuth, secret=settings.secret_key)],
        lifespan=lifespan,
    )
