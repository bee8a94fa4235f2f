"""Argument values decoded once, where they enter, before any resolver runs.

Every String and ID (an argument, an input field, a list item, a variable) must be text
PostgreSQL can store: no NUL (U+0000), no lone surrogate (domain.infra.storable). Every
DateTime must be ISO 8601 with its offset (`2026-01-01T00:00:00+08:00`, `...Z`): a time
without one names no instant (whose midnight?), and comparing it with a stored time is an
error, not an answer. GeoJSON is decoded by geo.geojson and the importer, which check the
properties they keep; ids and cursors by schema.common.ids.

Literals in the query text are checked by a validation rule (so once per query text, with the
cached validation); variables on every request, by the InputDecoding extension. Either way the
answer is a GraphQL error with `extensions.code` (INVALID_TEXT, INVALID_DATETIME) and
`extensions.field`: the argument's path for a literal (`input.description`), the variable's
path for a variable (`input.description` for `$input`), and nothing is executed.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from datetime import UTC, datetime
from functools import lru_cache
from typing import Any

from graphql import (
    ArgumentNode,
    GraphQLError,
    GraphQLInputObjectType,
    GraphQLList,
    GraphQLNamedType,
    GraphQLNonNull,
    GraphQLScalarType,
    ListValueNode,
    Node,
    ObjectValueNode,
    OperationDefinitionNode,
    StringValueNode,
    ValidationRule,
    VariableDefinitionNode,
    get_named_type,
    type_from_ast,
)

from domain.infra.storable import text_problem

Path = Sequence[str | int]
#: A scalar's check of a value a caller sent: (code, why) or None when it is fine.
Check = Callable[[object], tuple[str, str] | None]

DATETIME_EXAMPLE = "2026-01-01T00:00:00+08:00"


class Undecodable(ValueError):
    """A scalar value refused by a check of this module (which reports it with its field)."""


def parse_datetime(value: object) -> datetime:
    """An ISO 8601 date and time with its offset; Undecodable saying why not (TypeError for
    what is not a string, which graphql-core reports itself). The DateTime scalar parses with
    this, after the checks below have named any problem."""
    if not isinstance(value, str):
        raise TypeError("a DateTime is a string")
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        raise Undecodable(f"must be an ISO 8601 date and time, e.g. {DATETIME_EXAMPLE}") \
            from None
    if parsed.utcoffset() is None:
        raise Undecodable(f"needs a time zone offset, e.g. {DATETIME_EXAMPLE} or "
                          "2026-01-01T00:00:00Z")
    try:
        parsed.astimezone(UTC)
    except OverflowError:
        raise Undecodable("is out of range") from None
    return parsed


def _check_text(value: object) -> tuple[str, str] | None:
    why = text_problem(value) if isinstance(value, str) else None
    return ("INVALID_TEXT", why) if why else None


def _check_datetime(value: object) -> tuple[str, str] | None:
    if not isinstance(value, str):
        return None  # not a string at all: graphql-core says so
    try:
        parse_datetime(value)
    except Undecodable as exc:
        return ("INVALID_DATETIME", str(exc))
    return None


#: The scalars checked here, by name.
CHECKS: dict[str, Check] = {"String": _check_text, "ID": _check_text,
                            "DateTime": _check_datetime}


def field_path(path: Path) -> str:
    """`input.gridIds[0]` from ["input", "gridIds", 0]."""
    text = ""
    for part in path:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else part)
    return text


def _error(path: Path, problem: tuple[str, str], node: Node | None) -> GraphQLError:
    field = field_path(path)
    return GraphQLError(f"{field}: {problem[1]}", node,
                        extensions={"code": problem[0], "field": field})


def _unwrap(type_: Any) -> Any:
    return type_.of_type if isinstance(type_, GraphQLNonNull) else type_


def literal_problems(node: Any, type_: Any, path: Path) -> Iterator[tuple[Path, tuple[str, str]]]:
    """Problems of a literal value (a node of the query text) of input type `type_`."""
    type_ = _unwrap(type_)
    if isinstance(type_, GraphQLList):
        if isinstance(node, ListValueNode):
            for index, item in enumerate(node.values):
                yield from literal_problems(item, type_.of_type, [*path, index])
        else:  # one value where a list is expected is a list of one
            yield from literal_problems(node, type_.of_type, path)
    elif isinstance(type_, GraphQLInputObjectType) and isinstance(node, ObjectValueNode):
        for field in node.fields:
            defined = type_.fields.get(field.name.value)
            if defined is not None:
                yield from literal_problems(field.value, defined.type, [*path, field.name.value])
    elif isinstance(type_, GraphQLScalarType) and isinstance(node, StringValueNode):
        check = CHECKS.get(type_.name)
        problem = check(node.value) if check else None
        if problem:
            yield path, problem


def value_problems(value: Any, type_: Any, path: Path) -> Iterator[tuple[Path, tuple[str, str]]]:
    """Problems of a variable's value (decoded JSON) of input type `type_`."""
    type_ = _unwrap(type_)
    if isinstance(type_, GraphQLList):
        if isinstance(value, list):
            for index, item in enumerate(value):
                yield from value_problems(item, type_.of_type, [*path, index])
        else:
            yield from value_problems(value, type_.of_type, path)
    elif isinstance(type_, GraphQLInputObjectType) and isinstance(value, dict):
        for name, item in value.items():
            defined = type_.fields.get(name)
            if defined is not None:
                yield from value_problems(item, defined.type, [*path, name])
    elif isinstance(type_, GraphQLScalarType):
        check = CHECKS.get(type_.name)
        problem = check(value) if check else None
        if problem:
            yield path, problem


class DecodedLiterals(ValidationRule):
    """The validation rule: literal arguments and variable defaults of the query text."""

    def enter_argument(self, node: ArgumentNode, *_: object) -> None:
        argument = self.context.get_argument()
        if argument is not None:
            for path, problem in literal_problems(node.value, argument.type, [node.name.value]):
                self.report_error(_error(path, problem, node))

    def enter_variable_definition(self, node: VariableDefinitionNode, *_: object) -> None:
        if node.default_value is None:
            return
        type_ = type_from_ast(self.context.schema, node.type)
        for path, problem in literal_problems(node.default_value, type_,
                                              [node.variable.name.value]):
            self.report_error(_error(path, problem, node))


def variable_errors(schema: Any, operation: OperationDefinitionNode,
                    variables: dict[str, Any]) -> list[GraphQLError]:
    """The problems of the variables given to `operation`, each a GraphQL error."""
    errors = []
    for definition, type_ in _checked_variables(schema, operation):
        name = definition.variable.name.value
        if name not in variables:
            continue
        for path, problem in value_problems(variables[name], type_, [name]):
            errors.append(_error(path, problem, definition))
    return errors


#: Per schema and operation node of a cached document (by identity, both kept so that their
#: ids stay their own): its variables whose type may hold a checked scalar, with their types.
#: Emptied when it holds MAX_OPERATIONS.
_CHECKED: dict[tuple[int, int],
               tuple[Any, OperationDefinitionNode, list[tuple[VariableDefinitionNode, Any]]]] = {}
MAX_OPERATIONS = 4096


def _checked_variables(schema: Any, operation: OperationDefinitionNode
                       ) -> list[tuple[VariableDefinitionNode, Any]]:
    """The variables of `operation` worth walking, e.g. not a PointInput (floats and an enum):
    found once per operation of a cached document."""
    key = (id(schema), id(operation))
    kept = _CHECKED.get(key)
    if kept is None or kept[0] is not schema or kept[1] is not operation:
        if len(_CHECKED) >= MAX_OPERATIONS:
            _CHECKED.clear()
        found = []
        for definition in operation.variable_definitions or ():
            type_ = type_from_ast(schema, definition.type)
            if type_ is not None and may_hold_checked(get_named_type(type_)):
                found.append((definition, type_))
        kept = (schema, operation, found)
        _CHECKED[key] = kept
    return kept[2]


@lru_cache(maxsize=4096)
def may_hold_checked(named: GraphQLNamedType) -> bool:
    """Whether a value of this named input type can hold a scalar of CHECKS anywhere inside
    (through input objects and lists, which may nest in circles); asked once per type."""
    pending, seen = [named], set()
    while pending:
        kind = pending.pop()
        if kind.name in seen:
            continue
        seen.add(kind.name)
        if isinstance(kind, GraphQLScalarType) and kind.name in CHECKS:
            return True
        if isinstance(kind, GraphQLInputObjectType):
            pending.extend(get_named_type(field.type) for field in kind.fields.values())
    return False


def check_variables(execution: Any) -> None:
    """Check an operation's variables (strawberry's ExecutionContext) before it runs, after
    its validation, whose verdict it waits for: a document that failed validation is not
    looked at."""
    variables = execution.variables
    if isinstance(variables, dict) and variables and not execution.pre_execution_errors:
        operation = _operation(execution.graphql_document, execution.operation_name)
        errors = variable_errors(execution.schema._schema, operation, variables) \
            if operation is not None else []
        if errors:
            execution.pre_execution_errors = errors


def _operation(document: Any, name: str | None) -> OperationDefinitionNode | None:
    operations = [d for d in getattr(document, "definitions", ())
                  if isinstance(d, OperationDefinitionNode)]
    if name is None:
        return operations[0] if len(operations) == 1 else None
    return next((o for o in operations if o.name is not None and o.name.value == name), None)
