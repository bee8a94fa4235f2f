"""The steps every GraphQL operation goes through, taken by the schema's own extensions
runner instead of strawberry's schema extensions.

strawberry builds, for every request, a context manager for each hook of each extension (a
generator wrapped by contextlib, found by inspecting the class) around parsing, validation,
execution and the whole operation: about a tenth of a coverage request's CPU for five small
steps. So the steps live in their own modules as plain functions, and `OperationSteps`, the
runner the schema hands strawberry (GridStewardSchema.create_extensions_runner), takes them in
this order:

- parse: the cached document (schema.common.limits);
- validate: the cached validation with the request limits (limits), then the variables'
  decoding (schema.common.decoding), then the refusal of anonymous introspection
  (schema.common.introspection), each only if the one before found nothing;
- execute: with a replica, mutations and subscriptions on the primary, and a mutation's
  caller kept there for a while (schema.common.read_routing);
- when the operation has ended without an exception: the phone reveals written in one
  statement (schema.common.audit), then the errors rewritten for the client
  (schema.common.errors).

Each step runs where the hook it replaces ran: parse and validate before strawberry's own
block, execute's second half and the operation's after it, and not when the block raised.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from types import TracebackType
from typing import Any

from strawberry.extensions.runner import SchemaExtensionsRunner
from strawberry.types import ExecutionContext

from schema.common import audit, decoding, errors, introspection, limits, read_routing


def _nothing() -> None:
    return None


async def _nothing_async() -> None:
    return None


@dataclass(frozen=True)
class _Step:
    """A context manager (sync and async) that runs `before`, the block, then `after` (and
    `after_async` when entered with `async with`) unless the block raised."""

    before: Callable[[], None] = _nothing
    after: Callable[[], None] = _nothing
    after_async: Callable[[], Awaitable[None]] = _nothing_async

    def __enter__(self) -> None:
        self.before()

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None,
                 trace: TracebackType | None) -> None:
        if kind is None:
            self.after()

    async def __aenter__(self) -> None:
        self.before()

    async def __aexit__(self, kind: type[BaseException] | None, error: BaseException | None,
                        trace: TracebackType | None) -> None:
        if kind is None:
            await self.after_async()
            self.after()


class OperationSteps(SchemaExtensionsRunner):
    """The steps above for one operation; `replica`: DATABASE_REPLICA_URL is set."""

    def __init__(self, execution: ExecutionContext, documents: limits.Documents, *,
                 replica: bool) -> None:
        super().__init__(execution, [])
        self.documents = documents
        self.replica = replica

    def operation(self) -> Any:
        execution = self.execution_context

        async def reveals() -> None:
            await audit.write_reveals(execution.context)

        return _Step(after_async=reveals, after=lambda: errors.rewrite_errors(execution.result))

    def parsing(self) -> Any:
        return _Step(before=lambda: limits.parse_cached(self.documents, self.execution_context))

    def validation(self) -> Any:
        return _Step(before=self._validate)

    def executing(self) -> Any:
        if not self.replica:
            return _Step()
        execution = self.execution_context
        return _Step(before=lambda: read_routing.before_execution(execution),
                     after=lambda: read_routing.after_execution(execution))

    def _validate(self) -> None:
        execution = self.execution_context
        limits.validate_cached(self.documents, execution)
        decoding.check_variables(execution)
        introspection.refuse_anonymous_introspection(execution, self.documents.introspects)
