"""Input objects built from their GraphQL values with a plan made once per type.

strawberry converts an input value field by field on every request, resolving each field's
type annotation and GraphQL name again each time; for `coverage(point:)` that was about a
sixth of the request's CPU in the API. `install_input_plans` gives every input type of the
schema a `from_input` (strawberry's hook for building an input value) that reads a plan made
on first use: the fields' GraphQL and Python names, and whether each is a plain scalar
(Float, Int, String, Boolean, ID, possibly null) or an enum, whose value graphql-core has
already coerced and which is taken as it is. Every other field (lists, nested inputs, custom
scalars) is converted by strawberry as before (`InputContext.convert`), so the values are
the ones strawberry would build.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import MISSING
from typing import Any

from strawberry.types.arguments import InputContext
from strawberry.types.base import (
    StrawberryMaybe,
    StrawberryObjectDefinition,
    StrawberryOptional,
)
from strawberry.types.enum import has_enum_definition

#: The Python types of the plain scalars, whose coerced values need no conversion.
PLAIN = (float, int, str, bool)


class _Plan:
    """How to build one input type: (GraphQL name, Python name, type or None for a plain
    scalar) per field, and the Python names that default to None when not given."""

    def __init__(self, definition: StrawberryObjectDefinition, context: InputContext) -> None:
        convert = context.config.name_converter
        self.fields = [(convert.from_field(field), field.python_name, _converted(field, definition))
                       for field in definition.fields]
        self.nullable = [field.python_name for field in definition.fields
                         if field.default_value is MISSING and field.default_factory is MISSING]


def _converted(field: Any, definition: StrawberryObjectDefinition) -> Any:
    """The field's type when strawberry must convert its value; None for a plain scalar or
    an enum (graphql-core gives its member, which strawberry returns as it is)."""
    kind = field.resolve_type(type_definition=definition)
    if isinstance(kind, StrawberryMaybe):  # strawberry wraps its value in Some
        return kind
    bare = kind.of_type if isinstance(kind, StrawberryOptional) else kind
    # exactly these types: an enum deriving from str is one by its definition
    return None if bare in PLAIN or has_enum_definition(bare) else kind


def _from_input(cls: type, value: Mapping[str, Any], context: InputContext) -> Any:
    definition: StrawberryObjectDefinition = cls.__strawberry_definition__  # type: ignore[attr-defined]
    plan: _Plan | None = getattr(definition, "_gridsteward_plan", None)
    if plan is None:
        plan = _Plan(definition, context)
        definition._gridsteward_plan = plan  # type: ignore[attr-defined]
    kwargs: dict[str, Any] = dict.fromkeys(plan.nullable)
    for graphql_name, python_name, kind in plan.fields:
        if graphql_name in value:
            given = value[graphql_name]
            kwargs[python_name] = given if kind is None or given is None else context.convert(
                given, kind, graphql_name)
    return cls(**kwargs)


def install_input_plans(definitions: Iterable[StrawberryObjectDefinition]) -> None:
    """Give every input type among `definitions` the planned conversion above."""
    for definition in definitions:
        if definition.is_input and definition.from_input is None:
            definition.from_input = _from_input
