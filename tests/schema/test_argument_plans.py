"""Field arguments converted by their plans (schema.common.argument_plans) equal what
strawberry's own conversion makes, for every argument of every field of the schema."""

from __future__ import annotations

import datetime
from typing import Any

import pytest
from strawberry.schema import schema_converter
from strawberry.types.arguments import convert_arguments as strawberrys_conversion
from strawberry.types.base import (
    StrawberryList,
    StrawberryObjectDefinition,
    StrawberryOptional,
    has_object_definition,
)
from strawberry.types.enum import has_enum_definition

from schema.app import schema
from schema.common import argument_plans

CONFIG, SCALARS = schema.config, schema.schema_converter.scalar_registry
SAMPLES: dict[Any, Any] = {str: "R3JpZDox", int: 3, float: 1.5, bool: True,
                           datetime.datetime: datetime.datetime(2026, 12, 1, 8, 0,
                                                                tzinfo=datetime.UTC)}


def _sample(kind: Any, depth: int = 0) -> Any:
    """A value of `kind` as graphql-core hands it over once coerced (input objects as
    dicts by GraphQL name, every field given)."""
    if isinstance(kind, StrawberryOptional):
        return _sample(kind.of_type, depth)
    if isinstance(kind, StrawberryList):
        return [_sample(kind.of_type, depth)]
    if has_enum_definition(kind):
        return next(iter(kind))  # type: ignore[call-overload]
    if has_object_definition(kind) and depth < 3:
        definition = kind.__strawberry_definition__
        return {CONFIG.name_converter.from_field(f): _sample(
            f.resolve_type(type_definition=definition), depth + 1) for f in definition.fields}
    return SAMPLES.get(getattr(kind, "__supertype__", kind), {"type": "Point"})


def _fields_with_arguments() -> list[Any]:
    found = []
    for concrete in schema.schema_converter.type_map.values():
        definition = concrete.definition
        if isinstance(definition, StrawberryObjectDefinition) and not definition.is_input:
            found += [(f"{definition.name}.{f.name}", f) for f in definition.fields
                      if f.arguments]
    return found


FIELDS = _fields_with_arguments()


def test_strawberrys_resolvers_convert_through_the_plans() -> None:
    assert schema_converter.convert_arguments is argument_plans.convert_arguments
    assert len(FIELDS) > 40  # the walk found the schema's fields


@pytest.mark.parametrize(("name", "field"), FIELDS, ids=[name for name, _ in FIELDS])
def test_planned_arguments_equal_strawberrys(name: str, field: Any) -> None:
    given = {CONFIG.name_converter.from_argument(a): _sample(a.type) for a in field.arguments}
    nulls = dict.fromkeys(given)
    for values in (given, nulls, {}):
        planned = argument_plans.convert_arguments(values, field.arguments, SCALARS, CONFIG)
        strawberrys = strawberrys_conversion(values, field.arguments, SCALARS, CONFIG)
        assert planned == strawberrys
        assert {k: type(v) for k, v in planned.items()} == {
            k: type(v) for k, v in strawberrys.items()}
