"""Which operations may read from the replica: queries only.

`ReadRouting`, a schema extension registered only when DATABASE_REPLICA_URL is set, marks a
mutation or a subscription `primary_only` before it runs (its reads, the payload's included,
must see what it wrote or what is live), and once a mutation has run tells the request's
router that its caller wrote, so that the caller's next queries read the primary for
REPLICA_STICKY_SECONDS (domain.infra.replica). A query's lag-tolerant resolvers read
`info.context.reads`.
"""

from __future__ import annotations

from collections.abc import Iterator

from strawberry.extensions import SchemaExtension
from strawberry.types.graphql import OperationType

from schema.common.context import Context


class ReadRouting(SchemaExtension):
    """Mutations and subscriptions on the primary; after a mutation, its caller too."""

    def on_execute(self) -> Iterator[None]:
        context = self.execution_context.context
        if not isinstance(context, Context) or context.router is None:
            yield
            return
        kind = self.execution_context.operation_type
        if kind is not OperationType.QUERY:
            context.primary_only = True
        yield
        if kind is OperationType.MUTATION:
            context.router.wrote()
