"""ASGI middleware: request body size limit, bearer-token authentication, and outages
answered as HTTP 503 (UNAVAILABLE with Retry-After) instead of a server error."""

from __future__ import annotations

import json
import logging
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from domain.infra.db import outage
from schema.common.errors import RETRY_AFTER_SECONDS, UNAVAILABLE_MESSAGE, unavailable_extensions
from server.auth import TokenError, bearer_token, read_token

log = logging.getLogger("gridsteward.errors")

#: WebSocket close code "Try Again Later".
WS_TRY_AGAIN_LATER = 1013


def error_body(code: str, message: str,
               extensions: dict[str, object] | None = None) -> dict[str, Any]:
    """The JSON of an answer refused before GraphQL ran: GraphQL's error shape (`data` null,
    one error with `code` and any other `extensions`)."""
    error = {"message": message, "extensions": {"code": code, **(extensions or {})}}
    return {"data": None, "errors": [error]}


async def _send_error(send: Send, status: int, code: str, message: str, *,
                     extensions: dict[str, object] | None = None,
                     headers: list[tuple[bytes, bytes]] | None = None) -> None:
    """Answer error_body with this HTTP status."""
    body = json.dumps(error_body(code, message, extensions)).encode()
    await send({"type": "http.response.start", "status": status,
                "headers": [(b"content-type", b"application/json"),
                            (b"content-length", str(len(body)).encode()), *(headers or [])]})
    await send({"type": "http.response.body", "body": body})


class BodyLimit:
    """Refuses request bodies over `max_bytes` (MAX_BODY_BYTES) with 413 and a JSON error,
    before parsing; multipart/form-data bodies (photos) may have `max_upload_bytes`
    (MAX_UPLOAD_BODY_BYTES) instead. A body that declares its length is judged by it (uvicorn
    reads no more than that); one without (chunked) is counted as it arrives."""

    def __init__(self, app: ASGIApp, *, max_bytes: int, max_upload_bytes: int | None = None
                 ) -> None:
        self.app = app
        self.max_bytes = max_bytes
        self.max_upload_bytes = max_upload_bytes or max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = dict(scope["headers"])
        content_type = headers.get(b"content-type", b"").lower()
        limit = (self.max_upload_bytes if content_type.startswith(b"multipart/form-data")
                 else self.max_bytes)
        declared = headers.get(b"content-length")
        if declared is not None and declared.isdigit():
            if int(declared) > limit:
                await _send_error(send, 413, "PAYLOAD_TOO_LARGE", self._message(limit))
                return
            if b"transfer-encoding" not in headers:
                # uvicorn reads exactly the declared length: nothing more to count.
                await self.app(scope, receive, send)
                return
        await self._counted(scope, receive, send, limit)

    def _message(self, limit: int) -> str:
        return f"request body is larger than the limit of {limit} bytes"

    async def _counted(self, scope: Scope, receive: Receive, send: Send, limit: int) -> None:
        received = 0
        started = False

        async def limited_receive() -> Message:
            nonlocal received
            message = await receive()
            received += len(message.get("body", b""))
            if received > limit:
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
                await _send_error(send, 413, "PAYLOAD_TOO_LARGE", self._message(limit))


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


def unavailable_headers() -> list[tuple[bytes, bytes]]:
    """`Retry-After`, in seconds, for a 503 answer."""
    return [(b"retry-after", str(RETRY_AFTER_SECONDS).encode())]


#: HTTP status of an answer refused whole for one of these codes (both say when to retry).
REFUSAL_STATUS = {"UNAVAILABLE": 503, "RATE_LIMITED": 429}


def refusal(response: object) -> tuple[int, int] | None:
    """(HTTP status, seconds to wait) when a GraphQL answer has nothing to show but
    UNAVAILABLE or RATE_LIMITED errors: `data` null, or every top-level field null because of
    one (then the server answers 503 or 429 with Retry-After, not 200); None otherwise. With
    both kinds, UNAVAILABLE wins; the wait is the longest `retryAfter` given."""
    if not isinstance(response, dict):
        return None  # a batch: some of it may have been answered
    refused = [(error["path"][0], extensions) for error in response.get("errors") or ()
               if (extensions := error.get("extensions") or {}).get("code") in REFUSAL_STATUS
               and error.get("path")]
    failed = {path for path, _ in refused}
    data = response.get("data")
    whole = bool(failed) if data is None else bool(data) and all(
        value is None and key in failed for key, value in data.items())
    if not whole:
        return None
    status = max(REFUSAL_STATUS[extensions["code"]] for _, extensions in refused)
    wait = max(int(extensions.get("retryAfter") or 1) for _, extensions in refused)
    return status, wait


class Outages:
    """An unreachable database met outside GraphQL execution (the caller's look-up before it,
    say) answers 503 UNAVAILABLE with Retry-After, or closes a WebSocket with 1013 (try again
    later), logged in one line; any other error goes on to the server's own handling."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        started = False

        async def tracking_send(message: Message) -> None:
            nonlocal started
            started = started or message["type"] in ("http.response.start", "websocket.close")
            await send(message)

        try:
            await self.app(scope, receive, tracking_send)
        except Exception as exc:
            reason = outage(exc)
            if reason is None:
                raise
            log.warning("database unavailable for %s: %s", scope.get("path"), reason)
            if not started:
                await self._answer(scope, send)

    async def _answer(self, scope: Scope, send: Send) -> None:
        if scope["type"] == "websocket":
            await send({"type": "websocket.close", "code": WS_TRY_AGAIN_LATER})
            return
        await _send_error(send, 503, "UNAVAILABLE", UNAVAILABLE_MESSAGE,
                          extensions=unavailable_extensions(), headers=unavailable_headers())
