"""ASGI middleware: request body size limit and bearer-token authentication."""

from __future__ import annotations

import json
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from server.auth import TokenError, bearer_token, read_token


async def _send_error(send: Send, status: int, code: str, message: str) -> None:
    body = json.dumps({"data": None, "errors": [{"message": message,
                                                 "extensions": {"code": code}}]}).encode()
    await send({"type": "http.response.start", "status": status,
                "headers": [(b"content-type", b"application/json"),
                            (b"content-length", str(len(body)).encode())]})
    await send({"type": "http.response.body", "body": body})


class BodyLimit:
    """Refuses request bodies over `max_bytes` with 413 and a JSON error, before parsing."""

    def __init__(self, app: ASGIApp, *, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = dict(scope["headers"]).get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > self.max_bytes:
            await _send_error(send, 413, "PAYLOAD_TOO_LARGE", self._message())
            return
        await self._counted(scope, receive, send)

    def _message(self) -> str:
        return f"request body is larger than the limit of {self.max_bytes} bytes"

    async def _counted(self, scope: Scope, receive: Receive, send: Send) -> None:
        received = 0
        started = False

        async def limited_receive() -> Message:
            nonlocal received
            message = await receive()
            received += len(message.get("body", b""))
            if received > self.max_bytes:
                raise _TooLarge
            return message

        async def tracking_send(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, limited_receive, tracking_send)
        except _TooLarge:
            if not started:
                await _send_error(send, 413, "PAYLOAD_TOO_LARGE", self._message())


class _TooLarge(Exception):
    pass


class BearerAuth:
    """Checks `Authorization: Bearer` and stores the claims in `scope["state"]["claims"]`.

    A missing header is fine (the schema decides what anonymous callers may do); a present but
    expired, forged or malformed token is answered 401 straight away.
    """

    def __init__(self, app: ASGIApp, *, secret: str) -> None:
        self.app = app
        self.secret = secret

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        header = dict(scope["headers"]).get(b"authorization")
        state: dict[str, Any] = scope.setdefault("state", {})
        try:
            token = bearer_token(header.decode("latin-1") if header else None)
            state["claims"] = read_token(self.secret, token) if token else None
        except TokenError as exc:
            if scope["type"] == "http":
                await _send_error(send, 401, "UNAUTHENTICATED", str(exc))
                return
            state["claims"] = None
        await self.app(scope, receive, send)
