"""The root schema: every area's queries, mutations and subscriptions, with the limits that
keep one request from hurting the service (depth, aliases, tokens, bounded caches)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import strawberry
from graphql import ASTValidationRule, GraphQLError
from strawberry.extensions import (
    AddValidationRules,
    MaxAliasesLimiter,
    MaxTokensLimiter,
    ParserCache,
    QueryDepthLimiter,
    ValidationCache,
)
from strawberry.types import ExecutionContext

from schema.errors import PublicErrors
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


@dataclass(frozen=True)
class Limits:
    """Per-request limits, from settings."""

    max_depth: int = 10
    max_aliases: int = 30
    max_tokens: int = 2000
    cache_size: int = 512


def limit_rules(limits: Limits) -> list[type[ASTValidationRule]]:
    """The depth and alias limits as validation rules. Built once per schema: each limiter
    makes a new rule class, and the validation cache is keyed by the rule classes, so rules
    made per request would never hit it (validation then costs ~3 ms a request)."""
    return [*QueryDepthLimiter(max_depth=limits.max_depth).validation_rules,
            *MaxAliasesLimiter(max_alias_count=limits.max_aliases).validation_rules]


def build_schema(limits: Limits | None = None) -> strawberry.Schema:
    """The GridSteward schema with its protective extensions."""
    limits = limits or Limits()
    rules = limit_rules(limits)
    extensions: list[Any] = [  # factories: a fresh extension per request, caches shared
        lambda: AddValidationRules(rules),
        lambda: MaxTokensLimiter(max_token_count=limits.max_tokens),
        lambda: ParserCache(maxsize=limits.cache_size),
        lambda: ValidationCache(maxsize=limits.cache_size),
        PublicErrors,
    ]
    return GridStewardSchema(
        query=Query, mutation=Mutation, subscription=Subscription,
        types=[Community, Grid, Building, BuildingGroup, Member, ServiceRequest],
        extensions=extensions, scalar_overrides={GeoJSON: GEOJSON_SCALAR},
    )


#: The schema with default limits, for `strawberry export-schema schema.app:schema`.
schema = build_schema()
