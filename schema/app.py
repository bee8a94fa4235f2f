"""The root schema: every area's queries, mutations and subscriptions, `node(id:)` across them,
the limits that keep one request from hurting the service (depth, aliases, tokens, bounded
caches) and the decoding of every argument before a resolver sees it (schema.common.decoding).

This is the one module that knows every area: an area adds its `XQuery`, `XMutation` and
`XSubscription` to the root types below, and its Node types to `_NODES`.
"""

from __future__ import annotations

from typing import Any

import strawberry
from graphql import GraphQLError
from strawberry.extensions import SchemaExtension
from strawberry.extensions.runner import SchemaExtensionsRunner
from strawberry.types import ExecutionContext
from strawberry.types.base import StrawberryObjectDefinition

from schema.common.argument_plans import install_argument_plans
from schema.common.context import Info
from schema.common.execution import Execution
from schema.common.ids import decode_any
from schema.common.input_values import install_input_plans
from schema.common.limits import Documents, Limits
from schema.common.node import Node
from schema.common.operation import OperationSteps
from schema.common.permissions import install_rules
from schema.common.scalars import SCALAR_OVERRIDES
from schema.organisation.mutations import OrganisationMutation
from schema.organisation.queries import OrganisationQuery
from schema.organisation.types import Organisation
from schema.people.mutations import PeopleMutation
from schema.people.queries import PeopleQuery
from schema.people.types import AuditEntry, StaffAccount
from schema.requests.mutations import RequestMutation
from schema.requests.queries import RequestQuery
from schema.requests.subscriptions import RequestSubscription
from schema.requests.types import ServiceRequest
from schema.spatial.mutations import SpatialMutation
from schema.spatial.queries import SpatialQuery
from schema.spatial.types import Building, BuildingGroup, Community, Grid, Member, Subdistrict
from schema.surveys.mutations import SurveyMutation
from schema.surveys.queries import SurveyQuery

#: Node type name → (loader attribute, wrapper).
_NODES: dict[str, tuple[str, Any]] = {
    "Subdistrict": ("subdistrict", Subdistrict), "StaffAccount": ("account", StaffAccount),
    "Community": ("community", Community), "Grid": ("grid", Grid),
    "Building": ("building", Building), "BuildingGroup": ("group", BuildingGroup),
    "Member": ("member", Member), "ServiceRequest": ("request", ServiceRequest),
    "AuditEntry": ("audit_entry", AuditEntry), "Organisation": ("organisation", Organisation),
}


@strawberry.type
class NodeQuery:
    @strawberry.field(description="Any object by its id (Subdistrict, Community, Grid, Building, "
                      "BuildingGroup, Member, ServiceRequest, StaffAccount, AuditEntry, "
                      "Organisation); null when it does not exist or the caller may not see "
                      "it.")
    async def node(self, info: Info, id: strawberry.ID) -> Node | None:
        type_name, pk = decode_any(id, "id")
        if type_name not in _NODES:
            return None
        loader_name, wrapper = _NODES[type_name]
        row = await getattr(info.context.loaders, loader_name).load(pk)
        if row is None:
            return None
        if type_name == "ServiceRequest":
            return ServiceRequest.of(row, info.context.viewer)
        return wrapper.of(row)  # the permission layer nulls it outside the caller's reach


@strawberry.type
class Query(NodeQuery, SpatialQuery, RequestQuery, SurveyQuery, PeopleQuery,
            OrganisationQuery):
    """Everything a client can read."""


@strawberry.type
class Mutation(SpatialMutation, RequestMutation, SurveyMutation, PeopleMutation,
               OrganisationMutation):
    """Everything a client can change."""


@strawberry.type
class Subscription(RequestSubscription):
    """Live updates for dispatch screens (graphql-transport-ws)."""


class GridStewardSchema(strawberry.Schema):
    """strawberry.Schema whose operations go through GridSteward's steps
    (schema.common.operation: cached parse and validation, decoded variables, ...), and that
    does not log a client's mistakes as server errors (the errors step logs the unexpected
    ones, with their stack traces)."""

    def __init__(self, *args: Any, documents: Documents, replica: bool, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.documents = documents
        self.replica = replica

    def create_extensions_runner(self, execution_context: ExecutionContext,
                                 extensions: list[SchemaExtension]) -> SchemaExtensionsRunner:
        return OperationSteps(execution_context, self.documents, replica=self.replica)

    def process_errors(self, errors: list[GraphQLError],
                       execution_context: ExecutionContext | None = None) -> None:
        return None


#: Every type of the schema beyond those the root types reach by their fields.
_TYPES = [Subdistrict, Community, Grid, Building, BuildingGroup, Member, ServiceRequest,
          StaffAccount, AuditEntry, Organisation]


def _with_rules() -> None:
    """Put the permission layer's rules on their fields (schema.common.permissions.RULES),
    the planned conversion on the input types (schema.common.input_values) and on the
    fields' arguments (schema.common.argument_plans): a first schema, built without them,
    names every type and field."""
    bare = strawberry.Schema(query=Query, mutation=Mutation, subscription=Subscription,
                             types=_TYPES, scalar_overrides=SCALAR_OVERRIDES)
    definitions = [t.definition for t in bare.schema_converter.type_map.values()
                   if isinstance(t.definition, StrawberryObjectDefinition)]
    install_rules(definitions)
    install_input_plans(definitions)
    install_argument_plans()


def build_schema(limits: Limits | None = None, *, replica: bool = False) -> strawberry.Schema:
    """The GridSteward schema with its protective steps and its permission layer; with
    `replica`, the routing of lag-tolerant reads to it (schema.common.read_routing), which
    costs nothing without one."""
    _with_rules()
    return GridStewardSchema(
        query=Query, mutation=Mutation, subscription=Subscription,
        types=_TYPES, scalar_overrides=SCALAR_OVERRIDES,
        documents=Documents(limits or Limits()), replica=replica,
        execution_context_class=Execution,
    )


#: The schema with default limits, for `strawberry export-schema schema.app:schema`.
schema = build_schema()
