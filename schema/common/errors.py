"""Errors a client may see, and the one place that decides what a client sees of an error.

- `PublicError`: access denied and the like, shown as raised.
- `InvalidInput` from the domain (a wrong query argument): shown with its code and field.
- Errors before execution (syntax, validation, variable values, depth limit...): shown as
  they are.
- Anything else is a bug: logged with its stack trace, shown as "Unexpected error.".
"""

from __future__ import annotations

import logging
from collections.abc import Iterator

from graphql import GraphQLError
from strawberry.extensions import SchemaExtension

from domain.errors import InvalidInput

log = logging.getLogger("gridsteward.errors")


class PublicError(GraphQLError):
    """An error whose message is meant for the client; `extensions.code` is stable
    (UNAUTHENTICATED, FORBIDDEN, ...)."""

    def __init__(self, message: str, *, code: str, field: str | None = None) -> None:
        extensions: dict[str, object] = {"code": code}
        if field:
            extensions["field"] = field
        super().__init__(message, extensions=extensions)


def _from_invalid_input(error: GraphQLError, exc: InvalidInput) -> GraphQLError:
    first = exc.errors[0]
    extensions: dict[str, object] = {"code": first.code, "field": first.field,
                                     "errors": [{"code": e.code, "message": e.message,
                                                 "field": e.field} for e in exc.errors]}
    message = f"{first.field}: {first.message}" if first.field else first.message
    return GraphQLError(message, nodes=error.nodes, path=error.path, extensions=extensions)


def public_view(error: GraphQLError) -> GraphQLError:
    """What the client sees of `error`."""
    original = error.original_error
    if original is None or error.path is None or isinstance(original, PublicError):
        return error  # validation, variable coercion, access: written for the client already
    if isinstance(original, InvalidInput):
        return _from_invalid_input(error, original)
    log.error("unexpected error at %s", error.path, exc_info=original)
    return GraphQLError("Unexpected error.", nodes=error.nodes, path=error.path,
                        extensions={"code": "INTERNAL_SERVER_ERROR"})


class PublicErrors(SchemaExtension):
    """Rewrites the errors of every result with `public_view` (no stack traces leave)."""

    def on_operation(self) -> Iterator[None]:
        yield
        result = self.execution_context.result
        errors = getattr(result, "errors", None)
        if result is not None and errors:
            result.errors = [public_view(e) for e in errors]
