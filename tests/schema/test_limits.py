"""Limits that keep one request from hurting the service: depth, aliases, tokens."""

from __future__ import annotations

from typing import Any

import pytest
import strawberry.schema.schema as strawberry_schema

from schema.app import Limits, build_schema
from schema.common.context import Context
from tests.settings import make_settings


async def _run(sessions: Any, query: str, limits: Limits) -> Any:
    from domain.access import Viewer
    return await build_schema(limits).execute(
        query, context_value=Context(sessions=sessions, settings=make_settings(),
                                     viewer=Viewer(admin=True)))


async def test_depth_limit(sessions: Any) -> None:
    deep = "{ grids { edges { node { community { grids { community { grids { code } } } } } } } }"
    result = await _run(sessions, deep, Limits(max_depth=5))
    assert result.errors and "exceeds maximum operation depth" in result.errors[0].message
    assert (await _run(sessions, deep, Limits(max_depth=20))).errors is None


async def test_alias_limit(sessions: Any) -> None:
    aliases = " ".join(f"a{i}: grids {{ totalCount }}" for i in range(5))
    result = await _run(sessions, f"{{ {aliases} }}", Limits(max_aliases=3))
    assert result.errors and "aliases" in result.errors[0].message


async def test_token_limit(sessions: Any) -> None:
    fields = " ".join(["totalCount"] * 200)
    result = await _run(sessions, f"{{ grids {{ {fields} }} }}", Limits(max_tokens=100))
    assert result.errors and "token" in result.errors[0].message.lower()


@pytest.mark.parametrize("query", ["{ grids { nope } }", "{ grids(", "query { __typename"])
async def test_malformed_queries_get_a_readable_error(sessions: Any, query: str) -> None:
    result = await _run(sessions, query, Limits())
    assert result.errors and result.errors[0].message != "Unexpected error."


async def test_a_query_seen_before_is_not_validated_again(sessions: Any,
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    """The limits are validation rules built once, so the validation cache hits (~3 ms of CPU
    a request otherwise)."""
    runs: list[object] = []
    validate = strawberry_schema.validate

    def counted(*args: Any, **kwargs: Any) -> Any:
        runs.append(args[1])
        return validate(*args, **kwargs)

    monkeypatch.setattr(strawberry_schema, "validate", counted)
    limits = Limits(max_depth=7)
    schema = build_schema(limits)
    query = "{ __typename limitsCacheProbe: __typename }"
    for _ in range(3):
        context = Context(sessions=sessions, settings=make_settings())
        result = await schema.execute(query, context_value=context)
        assert result.errors is None
    assert len(runs) == 1
    assert (await _run(sessions, query, limits)).errors is None  # a new schema, new rules
    assert len(runs) == 2


def test_the_limits_default_to_the_settings() -> None:
    assert Limits() == Limits.of(make_settings())
    assert Limits.of(make_settings(max_query_depth=4)).max_depth == 4
