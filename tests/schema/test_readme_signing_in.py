"""The README's "Signing in" section: every GraphQL operation it shows is valid against the
schema (names, arguments, selections), so a frontend developer can paste it."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from graphql import DocumentNode, parse, validate

README = Path(__file__).resolve().parents[2] / "README.md"


def _section(title: str) -> str:
    text = README.read_text(encoding="utf-8")
    start = text.index(f"## {title}\n")
    end = text.index("\n## ", start + 1)
    return text[start:end]


def _operations() -> list[str]:
    blocks = re.findall(r"```graphql\n(.*?)```", _section("Signing in"), flags=re.S)
    found = []
    for block in blocks:
        for definition in parse(block).definitions:
            loc = definition.loc
            assert loc is not None
            found.append(block[loc.start:loc.end])
    return found


def test_the_section_shows_both_flows() -> None:
    operations = " ".join(_operations())
    for name in ("requestSignInCode", "signInWithCode", "signInWithPassword", "viewer",
                 "refreshSession", "signOut", "createStaffAccount", "updateStaffAccount"):
        assert name in operations, name


@pytest.mark.parametrize("operation", _operations())
def test_each_operation_is_valid(gql_schema: Any, operation: str) -> None:
    document: DocumentNode = parse(operation)
    assert validate(gql_schema._schema, document) == []
