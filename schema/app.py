"""The root schema: every area's queries, mutations and subscriptions, with the limits that
keep one request from hurting the service (depth, aliases, tokens, bounded caches)."""

from __future__ import annotations

from typing import Any

import strawberry
from graphql import GraphQLError
from strawberry.types import ExecutionContext

from schema.errors import PublicErrors
from schema.limits import Documents, Limits, RequestLimits
from schema.node import NodeQuery
from schema.requests.fields import RequestMutation, RequestQuery
from schema.requests.subscriptions import RequestSubscription
from schema.requests.types import ServiceRequest
from schema.scalars import GEOJSON_SCALAR, GeoJSON
from schema.spatial.mutations import SpatialMutation
from schema.spatial.queries import SpatialQuery
from schema.spatial.types import Building, BuildingGroup, Community, Grid, Member
from schema.surveys.fields import SurveyMutation, SurveyQuery


@strawberry.type
class Query(NodeQuery, SpatialQuery, RequestQuery, SurveyQuery):
    """Everything a client can read."""


@strawberry.type
class Mutation(SpatialMutation, RequestMutation, SurveyMutation):
    """Everything a client can change."""


@strawberry.type
class Subscription(RequestSubscription):
    """Live updates for dispatch screens (graphql-transport-ws)."""


class GridStewardSchema(strawberry.Schema):
    """strawberry.Schema that does not log a client's mistakes as server errors; the
    PublicErrors extension logs the unexpected ones, with their stack traces."""

    def process_errors(self, errors: list[GraphQLError],
                       execution_context: ExecutionContext | None = None) -> None:
        return None


def build_schema(limits: Limits | None = None) -> strawberry.Schema:
    """The GridSteward schema with its protective extensions."""
    documents = Documents(limits or Limits())  # shared by requests; extensions are per request
    extensions: list[Any] = [lambda: RequestLimits(documents), PublicErrors]
    return GridStewardSchema(
        query=Query, mutation=Mutation, subscription=Subscription,
        types=[Community, Grid, Building, BuildingGroup, Member, ServiceRequest],
        extensions=extensions, scalar_overrides={GeoJSON: GEOJSON_SCALAR},
    )


#: The schema with default limits, for `strawberry export-schema schema.app:schema`.
schema = build_schema()
