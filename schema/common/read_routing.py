"""Which operations may read from the replica: queries only.

Two steps of the one schema extension (schema.common.operation), taken only when
DATABASE_REPLICA_URL is set: `before_execution` marks a mutation or a subscription
`primary_only` before it runs (its reads, the payload's included, must see what it wrote or
what is live), and `after_execution`, once a mutation has run, tells the request's router that
its caller wrote, so that the caller's next queries read the primary for
REPLICA_STICKY_SECONDS (domain.infra.replica). A query's lag-tolerant resolvers read
`info.context.reads`.
"""

from __future__ import annotations

from typing import Any

from strawberry.types.graphql import OperationType

from schema.common.context import Context


def before_execution(execution: Any) -> None:
    """Mutations and subscriptions read the primary (strawberry's ExecutionContext)."""
    context = execution.context
    if isinstance(context, Context) and context.router is not None \
            and execution.operation_type is not OperationType.QUERY:
        context.primary_only = True


def after_execution(execution: Any) -> None:
    """After a mutation, its caller reads the primary for a while."""
    context = execution.context
    if isinstance(context, Context) and context.router is not None \
            and execution.operation_type is OperationType.MUTATION:
        context.router.wrote()
