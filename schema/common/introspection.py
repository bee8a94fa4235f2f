"""Introspection (`__schema`, `__type`) for anonymous callers, as ALLOW_ANONYMOUS_INTROSPECTION
says: on in dev and test, off in production, where the schema's shape is for signed-in
clients only (a token of any member or administrator may still introspect, and GraphiQL's
documentation works with one). `__typename` is always allowed."""

from __future__ import annotations

from typing import Any

from graphql import DocumentNode, FieldNode, visit
from graphql.language import Visitor

from schema.common.errors import PublicError

_INTROSPECTION_FIELDS = frozenset({"__schema", "__type"})


class _Finder(Visitor):
    def __init__(self) -> None:
        super().__init__()
        self.found = False

    def enter_field(self, node: FieldNode, *_: object) -> Any:
        if node.name.value in _INTROSPECTION_FIELDS:
            self.found = True
            return Visitor.BREAK
        return None


def introspects(document: DocumentNode) -> bool:
    """Whether the document asks for `__schema` or `__type` anywhere (fragments too)."""
    finder = _Finder()
    visit(document, finder)
    return finder.found


def refuse_anonymous_introspection(execution: Any, introspects: Any) -> None:
    """Refuse `__schema` and `__type` to anonymous callers unless the context's settings
    allow them (ALLOW_ANONYMOUS_INTROSPECTION); `introspects` is the cached check of the query
    text (limits.Documents)."""
    caller = execution.context
    settings = getattr(caller, "settings", None)
    allowed = settings is None or bool(settings.allow_anonymous_introspection)
    if not allowed and not caller.viewer.authenticated and not execution.pre_execution_errors \
            and introspects(execution.query):
        execution.pre_execution_errors = [PublicError(
            "Introspection needs an `Authorization: Bearer <token>` header here.",
            code="UNAUTHENTICATED")]
