"""`POST /graphql` with a JSON body, which is nearly every GraphQL request, answered straight
through the schema; GET (GraphiQL, queries in the query string), multipart bodies (photos),
other content types and WebSockets stay with strawberry's view (server.app).

strawberry's view is general: per request it wraps the request in an adapter, parses the
content type with the e-mail package, looks for a streaming transport, builds its request
data and a response object, and routes the answer through several hooks, about a sixth of a
point coverage request's CPU in the API. This module takes the same steps for the one kind
of request it handles, in the same order and with the same answers:

1. the context first (the view's `get_context`: the caller, the sessions, the sub-response
   a resolver may set cookies or a status on);
2. the body as the view reads it (`parse_json`: server.request_json, a JSON object or 400),
   `query`, `variables` and `extensions` checked as strawberry checks them;
3. `schema.execute`, with every step of schema.common.operation, POST's operation types,
   and strawberry's 400s for a missing query, an unknown operation or a wrong type;
4. the answer as strawberry shapes it (`data`, `errors`, `extensions`), in orjson, with the
   status of `answer_status` (the sub-response's, or 503/429 with Retry-After when the
   whole request was refused: server.middleware.refusal) and the sub-response's headers.

A refusal before execution is `refused(exc)`: the JSON error the view's refusals answer.
The view offers no HTTP streaming transport (SSE, multipart subscriptions) and the schema no
incremental delivery, so a JSON POST never streams; both would need strawberry's view.
"""

from __future__ import annotations

from typing import Any, Protocol

import orjson
from cross_web import HTTPException
from starlette.requests import ClientDisconnect, Request
from starlette.responses import JSONResponse, Response
from starlette.types import Receive, Scope, Send
from strawberry.exceptions import MissingQueryError
from strawberry.http import process_result
from strawberry.schema.base import BaseSchema
from strawberry.schema.exceptions import CannotGetOperationTypeError, InvalidOperationTypeError
from strawberry.types.graphql import OperationType

from server.middleware import error_body, refusal

#: The operation types a POST may carry (strawberry's: subscriptions too).
POST_OPERATIONS = frozenset(OperationType.from_http("POST"))
#: extensions.code of the HTTP refusals, by status.
HTTP_CODES = {404: "NOT_FOUND", 405: "METHOD_NOT_ALLOWED"}
_JSON = b"application/json"


class View(Protocol):
    """What this module needs of the GraphQL view (server.app.GridStewardGraphQL)."""

    schema: BaseSchema

    async def get_context(self, request: Any, response: Any) -> Any: ...

    async def get_sub_response(self, request: Any) -> Response: ...

    def parse_json(self, data: str | bytes) -> Any: ...


def is_json_post(scope: Scope) -> bool:
    """Whether an HTTP request is a POST whose Content-Type's media type contains
    `application/json` (strawberry's test, case and all)."""
    if scope["method"] != "POST":
        return False
    for name, value in scope["headers"]:
        if name == b"content-type":
            return _JSON in value.split(b";", 1)[0]
    return False


async def answer(view: View, scope: Scope, receive: Receive, send: Send) -> None:
    """Answer one JSON POST (see the module's steps)."""
    request = Request(scope, receive)
    body = await read_body(receive)
    request._body = body  # what Request.body() keeps, should anything ask it again
    sub_response = await view.get_sub_response(request)
    context = await view.get_context(request, sub_response)
    try:
        result = await execute(view, view.parse_json(body), context)
    except HTTPException as exc:
        await refused(exc)(scope, receive, send)
        return
    data = process_result(result)
    status, headers = answer_status(data, sub_response)
    content = orjson.dumps(data)
    await send({"type": "http.response.start", "status": status,
                "headers": [(b"content-length", str(len(content)).encode()),
                            (b"content-type", _JSON), *headers]})
    await send({"type": "http.response.body", "body": content})
    if sub_response.background is not None:
        await sub_response.background()


async def read_body(receive: Receive) -> bytes:
    """The whole request body (ClientDisconnect if the client went away first)."""
    chunks: list[bytes] = []
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            raise ClientDisconnect()
        chunks.append(message.get("body", b""))
        if not message.get("more_body", False):
            return chunks[0] if len(chunks) == 1 else b"".join(chunks)


async def execute(view: View, data: dict[str, Any], context: Any) -> Any:
    """`schema.execute` of a request body already known to be a JSON object; HTTPException
    400 as strawberry's view answers it for a body that is no GraphQL request."""
    query, variables, extensions = (data.get("query"), data.get("variables"),
                                    data.get("extensions"))
    if not isinstance(query, str | None):
        raise HTTPException(
            400, "The GraphQL operation's `query` must be a string or null, if provided.")
    if not isinstance(variables, dict | None):
        raise HTTPException(
            400, "The GraphQL operation's `variables` must be an object or null, if provided.")
    if not isinstance(extensions, dict | None):
        raise HTTPException(
            400, "The GraphQL operation's `extensions` must be an object or null, if provided.")
    try:
        return await view.schema.execute(
            query, variable_values=variables, context_value=context, root_value=None,
            operation_name=data.get("operationName"), allowed_operation_types=POST_OPERATIONS,
            operation_extensions=extensions)
    except CannotGetOperationTypeError as exc:
        raise HTTPException(400, exc.as_http_error_reason()) from exc
    except InvalidOperationTypeError as exc:
        raise HTTPException(400, exc.as_http_error_reason("POST")) from exc
    except MissingQueryError as exc:
        raise HTTPException(400, "No GraphQL query found in the request") from exc


def answer_status(data: object, sub_response: Response
                  ) -> tuple[int, list[tuple[bytes, bytes]]]:
    """The HTTP status of a GraphQL answer and the headers beside its content: the status a
    resolver set on the sub-response, else 200; 503 or 429 with Retry-After when nothing of
    the request was answered because the database could not be reached or a rate limit
    refused it (server.middleware.refusal); the sub-response's headers (cookies) always."""
    headers = list(sub_response.headers.raw)
    status = sub_response.status_code or 200
    refused_ = refusal(data)
    if refused_ is not None:
        status, wait = refused_
        headers = [(k, v) for k, v in headers if k != b"retry-after"]
        headers.append((b"retry-after", str(wait).encode()))
    return status, headers


def refused(exc: HTTPException) -> Response:
    """A request refused before GraphQL ran (not JSON, not a GraphQL request, a wrong
    method...): its status with GraphQL's error shape, code BAD_REQUEST unless HTTP_CODES
    names another."""
    code = HTTP_CODES.get(exc.status_code, "BAD_REQUEST")
    return JSONResponse(error_body(code, exc.reason), status_code=exc.status_code)
