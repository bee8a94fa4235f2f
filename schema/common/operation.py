"""The steps every GraphQL operation goes through, as ONE schema extension.

strawberry builds a context manager for each hook of each extension on every request, and
wraps the parse, validation and execution of the operation in them; five extensions of one or
two hooks each cost a coverage request about as much as its SQL statement. So the steps live
in their own modules as plain functions, and this extension takes them in order:

- parse: the cached document (schema.common.limits);
- validate: the cached validation with the request limits (limits), then the variables'
  decoding (schema.common.decoding), then the refusal of anonymous introspection
  (schema.common.introspection), each only if the one before found nothing;
- execute: with a replica, mutations and subscriptions on the primary, and a mutation's
  caller kept there for a while (schema.common.read_routing);
- when the operation has ended: the phone reveals written in one statement
  (schema.common.audit), then the errors rewritten for the client (schema.common.errors).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

from strawberry.extensions import SchemaExtension

from schema.common import audit, decoding, errors, introspection, limits, read_routing


class OperationSteps(SchemaExtension):
    """The steps above; `replica`: DATABASE_REPLICA_URL is set (read routing is taken)."""

    def __init__(self, documents: limits.Documents, *, replica: bool) -> None:
        self.documents = documents
        self.replica = replica

    async def on_operation(self) -> AsyncIterator[None]:
        yield
        await audit.write_reveals(self.execution_context.context)
        errors.rewrite_errors(self.execution_context.result)

    def on_parse(self) -> Iterator[None]:
        limits.parse_cached(self.documents, self.execution_context)
        yield

    def on_validate(self) -> Iterator[None]:
        execution = self.execution_context
        limits.validate_cached(self.documents, execution)
        decoding.check_variables(execution)
        introspection.refuse_anonymous_introspection(execution, self.documents.introspects)
        yield

    def on_execute(self) -> Iterator[None]:
        if self.replica:
            read_routing.before_execution(self.execution_context)
        yield
        if self.replica:
            read_routing.after_execution(self.execution_context)
