"""ALLOW_ANONYMOUS_INTROSPECTION: on in dev and test, off in production unless set; off, an
anonymous `__schema` or `__type` is UNAUTHENTICATED, while a token still introspects."""

from __future__ import annotations

from typing import Any

import pytest

from domain.access import ANONYMOUS, Viewer
from domain.settings import Settings
from tests.settings import make_settings

QUERIES = ["{ __schema { queryType { name } } }", '{ __type(name: "Grid") { name } }',
           "query { ...F } fragment F on Query { __schema { types { name } } }"]
SECRET = "introspection-test-secret-0123456789-abcdefghij"


@pytest.mark.parametrize("query", QUERIES)
async def test_anonymous_introspection_when_off(api: Any, query: str) -> None:
    off = make_settings(allow_anonymous_introspection=False)
    refused = await api.run(query, viewer=ANONYMOUS, settings=off)
    assert refused.data is None
    assert [e.extensions["code"] for e in refused.errors] == ["UNAUTHENTICATED"]
    for viewer in (Viewer(admin=True), Viewer(member_id=1)):
        allowed = await api.run(query, viewer=viewer, settings=off)
        assert allowed.errors is None
    assert (await api.run(query, viewer=ANONYMOUS)).errors is None  # on: the test default


async def test_typename_is_not_introspection(api: Any) -> None:
    off = make_settings(allow_anonymous_introspection=False)
    result = await api.run("{ __typename }", viewer=ANONYMOUS, settings=off)
    assert result.errors is None and result.data == {"__typename": "Query"}


@pytest.mark.parametrize(("environment", "given", "expected"), [
    ("dev", None, True), ("test", None, True), ("production", None, False),
    ("production", "true", True), ("dev", "false", False)])
def test_the_setting_follows_the_environment(monkeypatch: pytest.MonkeyPatch, environment: str,
                                             given: str | None, expected: bool) -> None:
    monkeypatch.setenv("GRIDSTEWARD_ENV", environment)
    monkeypatch.setenv("SECRET_KEY", SECRET)
    if given is None:
        monkeypatch.delenv("ALLOW_ANONYMOUS_INTROSPECTION", raising=False)
    else:
        monkeypatch.setenv("ALLOW_ANONYMOUS_INTROSPECTION", given)
    assert Settings(_env_file=None).allow_anonymous_introspection is expected
