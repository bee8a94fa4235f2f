"""The schema keeps every name of the contract (contract/contract.graphql, people.graphql and
organisation.graphql,
the project's copy of ../shared/contract), the copy equals its source wherever that folder is
beside the repository, and schema.graphql at the repository root is the schema as exported
now."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from graphql import (
    GraphQLEnumType,
    GraphQLInputObjectType,
    GraphQLInterfaceType,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLScalarType,
    GraphQLSchema,
    GraphQLUnionType,
    ast_from_value,
    build_schema,
    is_non_null_type,
    print_ast,
)
from graphql.pyutils import Undefined

from schema.app import build_schema as build_project_schema

ROOT = Path(__file__).resolve().parents[2]
CONTRACT_DIR = ROOT / "contract"
CONTRACT = CONTRACT_DIR / "contract.graphql"
#: Part 2 (who signs in); its `extend type`s need the base types, so it is read after part 1.
PEOPLE = CONTRACT_DIR / "people.graphql"
#: Names of people.graphql that a later step of issue 10 brings: expected missing until
#: then. Whoever adds them removes them here (the test says so). None since the audit trail.
PENDING_PEOPLE: set[str] = set()
#: Part 3 (the admin console, issue 11); read after parts 1 and 2, whose types it extends.
ORGANISATION = CONTRACT_DIR / "organisation.graphql"
#: Where the contract is kept by those who own it; absent in a clone that stands alone.
SHARED_CONTRACT_DIR = ROOT.parent / "shared" / "contract"


def _unwrap_nullable(kind: object) -> object:
    return kind.of_type if isinstance(kind, GraphQLNonNull) else kind


def _at_least_as_strict(ours: object, theirs: object) -> bool:
    """Output types: ours may be non-null where theirs is nullable, not the reverse."""
    if is_non_null_type(theirs):
        return is_non_null_type(ours) and _at_least_as_strict(
            ours.of_type, theirs.of_type)
    ours = _unwrap_nullable(ours)
    if hasattr(theirs, "of_type"):  # a list
        return hasattr(ours, "of_type") and _at_least_as_strict(ours.of_type, theirs.of_type)
    return str(ours) == str(theirs)


_KINDS = {GraphQLEnumType: GraphQLEnumType, GraphQLInputObjectType: GraphQLInputObjectType,
          GraphQLObjectType: GraphQLObjectType, GraphQLInterfaceType: GraphQLInterfaceType,
          GraphQLScalarType: GraphQLScalarType, GraphQLUnionType: GraphQLUnionType}


def _default(value: object, kind: Any) -> str | None:
    """A default value as GraphQL source, so Python enums and SDL names compare equal."""
    if value is Undefined or value is None:
        return None  # no default and `= null` mean the same to a client
    node = ast_from_value(value, kind)
    return None if node is None else print_ast(node)


def _missing(ours: GraphQLSchema, theirs: GraphQLSchema) -> list[str]:
    problems: list[str] = []
    for name, kind in theirs.type_map.items():
        if name.startswith("__"):
            continue
        mine = ours.type_map.get(name)
        if mine is None or not isinstance(mine, _KINDS[type(kind)]):
            problems.append(f"type {name} is missing or of another kind")
            continue
        if isinstance(kind, GraphQLEnumType):
            problems += [f"{name}.{v}" for v in kind.values if v not in mine.values]  # type: ignore[attr-defined]
        elif isinstance(kind, GraphQLInputObjectType):
            problems += _input_problems(name, mine, kind)  # type: ignore[arg-type]
        elif isinstance(kind, GraphQLObjectType | GraphQLInterfaceType):
            problems += _field_problems(name, mine, kind)  # type: ignore[arg-type]
    return problems


def _input_problems(name: str, mine: GraphQLInputObjectType,
                    theirs: GraphQLInputObjectType) -> list[str]:
    problems = []
    for field_name, field in theirs.fields.items():
        own = mine.fields.get(field_name)
        if own is None or str(own.type) != str(field.type):
            problems.append(f"input {name}.{field_name}: {own and own.type} != {field.type}")
        elif _default(own.default_value, own.type) != _default(field.default_value, field.type):
            problems.append(f"input {name}.{field_name} default {own.default_value!r}")
    return problems


def _field_problems(name: str, mine: GraphQLObjectType | GraphQLInterfaceType,
                    theirs: GraphQLObjectType | GraphQLInterfaceType) -> list[str]:
    problems = [f"{name} does not implement {i.name}" for i in theirs.interfaces
                if i.name not in {own.name for own in mine.interfaces}]
    for field_name, field in theirs.fields.items():
        own = mine.fields.get(field_name)
        if own is None:
            problems.append(f"{name}.{field_name} is missing")
            continue
        if not _at_least_as_strict(own.type, field.type):
            problems.append(f"{name}.{field_name}: {own.type} is looser than {field.type}")
        for arg_name, arg in field.args.items():
            mine_arg = own.args.get(arg_name)
            if mine_arg is None or str(mine_arg.type) != str(arg.type):
                problems.append(f"{name}.{field_name}({arg_name}) differs")
            elif _default(mine_arg.default_value, mine_arg.type) != _default(arg.default_value,
                                                                            arg.type):
                problems.append(f"{name}.{field_name}({arg_name}) default differs")
        problems += [f"{name}.{field_name}({a}) is a new required argument"
                     for a, own_arg in own.args.items()
                     if a not in field.args and is_non_null_type(own_arg.type)
                     and own_arg.default_value is None]
    return problems


@pytest.fixture(scope="module")
def project_schema() -> GraphQLSchema:
    # Compare SDL with SDL, so default values are represented the same way on both sides.
    return build_schema(str(build_project_schema()))


def test_schema_keeps_every_contract_name(project_schema: GraphQLSchema) -> None:
    if not CONTRACT.exists():
        pytest.fail(f"the contract is missing at {CONTRACT}")
    contract = build_schema(CONTRACT.read_text(encoding="utf-8"))
    assert _missing(project_schema, contract) == []


def test_schema_keeps_every_people_contract_name(project_schema: GraphQLSchema) -> None:
    contract = build_schema(CONTRACT.read_text(encoding="utf-8") + "\n"
                            + PEOPLE.read_text(encoding="utf-8"))
    missing = set(_missing(project_schema, contract))
    assert missing - PENDING_PEOPLE == set()
    assert PENDING_PEOPLE - missing == set(), "these are in the schema now: drop them from " \
        "PENDING_PEOPLE"


def test_schema_keeps_every_organisation_contract_name(project_schema: GraphQLSchema) -> None:
    contract = build_schema("\n".join(path.read_text(encoding="utf-8")
                                      for path in (CONTRACT, PEOPLE, ORGANISATION)))
    assert _missing(project_schema, contract) == []


def test_contract_check_notices_a_missing_field(project_schema: GraphQLSchema) -> None:
    stricter = build_schema(CONTRACT.read_text(encoding="utf-8") +
                            "\nextend type Grid { notInTheSchema: Int }\n")
    assert _missing(project_schema, stricter) == ["Grid.notInTheSchema is missing"]


def test_contract_copy_equals_the_shared_contract() -> None:
    """The copy in contract/ is what ../shared/contract says, file by file."""
    if not SHARED_CONTRACT_DIR.is_dir():
        pytest.skip(f"no shared contract at {SHARED_CONTRACT_DIR} to compare the copy with")
    theirs = {p.name: p.read_bytes() for p in SHARED_CONTRACT_DIR.iterdir() if p.is_file()}
    ours = {p.name: p.read_bytes() for p in CONTRACT_DIR.iterdir() if p.is_file()}
    differing = sorted(name for name in theirs.keys() | ours.keys()
                       if theirs.get(name) != ours.get(name))
    assert not differing, (
        f"contract/ differs from {SHARED_CONTRACT_DIR} in {', '.join(differing)}: the contract "
        f"changed; copy it (`cp {SHARED_CONTRACT_DIR}/* contract/`) and make the schema keep "
        "its names")


def test_exported_schema_is_current() -> None:
    exported = (ROOT / "schema.graphql").read_text(encoding="utf-8")
    assert exported.strip() == str(build_project_schema()).strip(), (
        "schema.graphql is stale: run scripts/export-schema")
