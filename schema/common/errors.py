"""Errors a client may see, and the one place that decides what a client sees of an error.

- `PublicError`: access denied and the like, shown as raised.
- `InvalidInput` from the domain (a wrong query argument): shown with its code and field.
- Errors before execution (syntax, validation, variable values, depth limit...): shown as
  they are.
- The database cannot be reached (a restart, a network cut, a full pool): not a bug but an
  outage to wait out. Shown as `UNAVAILABLE` with `extensions.retryAfter`, the seconds to wait
  before trying again (the server answers HTTP 503 with `Retry-After` when nothing of the
  request could be answered); logged as one line per operation, without a stack trace.
- Anything else is a bug: logged with its stack trace, shown as "Unexpected error.".
"""

from __future__ import annotations

import logging
from typing import Any

from graphql import GraphQLError

from domain.errors import InvalidInput
from domain.infra.db import outage

log = logging.getLogger("gridsteward.errors")

#: Seconds a client should wait before trying again after UNAVAILABLE: about what a
#: PostgreSQL restart or fail-over takes.
RETRY_AFTER_SECONDS = 5
UNAVAILABLE_MESSAGE = ("The service is briefly unavailable (its database cannot be reached); "
                       f"try again in {RETRY_AFTER_SECONDS} s.")


class PublicError(GraphQLError):
    """An error whose message is meant for the client; `extensions.code` is stable
    (UNAUTHENTICATED, FORBIDDEN, ...)."""

    def __init__(self, message: str, *, code: str, field: str | None = None) -> None:
        extensions: dict[str, object] = {"code": code}
        if field:
            extensions["field"] = field
        super().__init__(message, extensions=extensions)


def unavailable_extensions() -> dict[str, object]:
    """`extensions` of an UNAVAILABLE error: the code and the seconds to wait."""
    return {"code": "UNAVAILABLE", "retryAfter": RETRY_AFTER_SECONDS}


def _from_invalid_input(error: GraphQLError, exc: InvalidInput) -> GraphQLError:
    first = exc.errors[0]
    extensions: dict[str, object] = {"code": first.code, "field": first.field,
                                     "errors": [{"code": e.code, "message": e.message,
                                                 "field": e.field} for e in exc.errors]}
    message = f"{first.field}: {first.message}" if first.field else first.message
    return GraphQLError(message, nodes=error.nodes, path=error.path, extensions=extensions)


def _rewrite(error: GraphQLError) -> tuple[GraphQLError, str | None]:
    """What the client sees of `error`, and the outage it reports (None if not one)."""
    original = error.original_error
    if original is None or error.path is None or isinstance(original, PublicError):
        return error, None  # validation, variable coercion, access: for the client already
    if isinstance(original, InvalidInput):
        return _from_invalid_input(error, original), None
    reason = outage(original)
    if reason is not None:
        return GraphQLError(UNAVAILABLE_MESSAGE, nodes=error.nodes, path=error.path,
                            extensions=unavailable_extensions()), reason
    log.error("unexpected error at %s", error.path, exc_info=original)
    return GraphQLError("Unexpected error.", nodes=error.nodes, path=error.path,
                        extensions={"code": "INTERNAL_SERVER_ERROR"}), None


def _log_outage(path: object, reason: str, count: int = 1) -> None:
    more = f" (and {count - 1} more fields)" if count > 1 else ""
    log.warning("database unavailable at %s%s: %s", path, more, reason)


def public_view(error: GraphQLError) -> GraphQLError:
    """What the client sees of `error` (an outage logged in one line, a bug with its
    stack trace)."""
    public, reason = _rewrite(error)
    if reason is not None:
        _log_outage(error.path, reason)
    return public


def rewrite_errors(result: Any) -> None:
    """Rewrite the errors of an operation's result with `public_view` (no stack traces
    leave); an operation that met an outage logs one line, however many fields it failed."""
    errors = getattr(result, "errors", None)
    if result is None or not errors:
        return
    rewritten = [_rewrite(e) for e in errors]
    result.errors = [public for public, _reason in rewritten]
    outages = [(e.path, reason) for e, (_p, reason) in zip(errors, rewritten, strict=True)
               if reason is not None]
    if outages:
        _log_outage(outages[0][0], outages[0][1], len(outages))
