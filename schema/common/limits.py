"""Per-request limits and the parse and validation caches, as one schema extension.

Each distinct query text is parsed (with the token limit) and validated (with the depth and
alias limits) once per schema; later requests with the same text reuse the document and the
verdict. Two steps of the one extension (schema.common.operation) instead of strawberry's
four extensions (MaxTokensLimiter, ParserCache, QueryDepthLimiter with MaxAliasesLimiter,
ValidationCache): strawberry wraps every hook of every extension for every request, and its
validation cache hashed the whole document tree each time.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from graphql import ASTValidationRule, DocumentNode, GraphQLError, GraphQLSchema, parse
from graphql.validation import specified_rules
from strawberry.extensions import MaxAliasesLimiter, QueryDepthLimiter
from strawberry.schema.schema import validate_document

from domain.settings import Settings
from schema.common.decoding import DecodedLiterals, Undecodable
from schema.common.introspection import introspects


def _default(field: str) -> Any:
    """The default of a Settings field, stated there once."""
    return Settings.model_fields[field].default


@dataclass(frozen=True)
class Limits:
    """Per-request limits: MAX_QUERY_DEPTH, MAX_ALIASES, MAX_TOKENS and PARSER_CACHE_SIZE
    (the settings' defaults unless given)."""

    max_depth: int = _default("max_query_depth")
    max_aliases: int = _default("max_aliases")
    max_tokens: int = _default("max_tokens")
    cache_size: int = _default("parser_cache_size")

    @classmethod
    def of(cls, settings: Settings) -> Limits:
        """The limits `settings` set."""
        return cls(max_depth=settings.max_query_depth, max_aliases=settings.max_aliases,
                   max_tokens=settings.max_tokens, cache_size=settings.parser_cache_size)


def limit_rules(limits: Limits) -> list[type[ASTValidationRule]]:
    """The depth and alias limits as validation rules (strawberry's), made once per schema,
    and the check of literal argument values (schema.common.decoding)."""
    return [*QueryDepthLimiter(max_depth=limits.max_depth).validation_rules,
            *MaxAliasesLimiter(max_alias_count=limits.max_aliases).validation_rules,
            DecodedLiterals]


class Documents:
    """Parsed and validated documents by query text, and whether each introspects, bounded
    (LRU) so that a stream of unique queries cannot grow memory without limit. A query that
    fails to parse is not kept."""

    def __init__(self, limits: Limits) -> None:
        rules = (*specified_rules, *limit_rules(limits))
        max_tokens = limits.max_tokens

        @lru_cache(maxsize=limits.cache_size)
        def parsed(query: str) -> DocumentNode:
            return parse(query, max_tokens=max_tokens)

        @lru_cache(maxsize=limits.cache_size)
        def checked(schema: GraphQLSchema, query: str) -> list[GraphQLError]:
            errors = validate_document(schema, parsed(query), rules)
            # A literal a scalar refused is reported by DecodedLiterals with its field, and
            # again, without it, by graphql-core's ValuesOfCorrectTypeRule: keep the first.
            return [e for e in errors if not isinstance(e.original_error, Undecodable)]

        @lru_cache(maxsize=limits.cache_size)
        def introspecting(query: str) -> bool:
            return introspects(parsed(query))

        self.parsed, self.checked, self.introspects = parsed, checked, introspecting


def parse_cached(documents: Documents, execution: Any) -> None:
    """Hand an operation (strawberry's ExecutionContext) its cached document."""
    execution.graphql_document = documents.parsed(execution.query)


def validate_cached(documents: Documents, execution: Any) -> None:
    """Hand an operation its cached validation errors (none when valid)."""
    execution.pre_execution_errors = documents.checked(execution.schema._schema,
                                                       execution.query)
