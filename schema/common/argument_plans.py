"""Field arguments converted to their Python values by a plan made once per field.

Before a resolver runs, strawberry converts the arguments graphql-core has coerced into
their Python values (`strawberry.types.arguments.convert_arguments`): for every argument of
every request it converts the GraphQL name again and walks the type's wrappers through a
chain of tests (Maybe, optional, null, unset, list, scalar, lazy type, enum, input type).
For `coverage(point:)` that was about a twelfth of the request's CPU in the API.
`install_argument_plans` makes strawberry's resolvers convert through `convert_arguments`
below, the one path for every field: per field (its list of arguments, the schema's config
and scalars) it keeps, once, each argument's GraphQL and Python names and how its value is
converted:

- a scalar or an enum (not strawberry's GlobalID): the coerced value as it is, as
  strawberry returns it;
- an input type with a `from_input` (all of ours: schema.common.input_values): that hook,
  called as strawberry calls it;
- anything else (lists, GlobalID, Maybe, lazy types, input types without the hook):
  strawberry's own `convert_argument`.

Null and unset stay what they are, as in strawberry (but for Maybe, which strawberry
converts).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from strawberry.scalars import is_scalar
from strawberry.schema import schema_converter
from strawberry.types.arguments import (
    InputContext,
    StrawberryArgument,
    convert_argument,
)
from strawberry.types.base import (
    StrawberryList,
    StrawberryMaybe,
    StrawberryOptional,
    has_object_definition,
)
from strawberry.types.enum import has_enum_definition
from strawberry.types.unset import UNSET

#: How one argument's coerced value becomes its Python value: (value, info) → value.
Converter = Callable[[Any, Any], Any]
#: One field's plan: (GraphQL name, Python name, converter) per argument.
Plan = list[tuple[str, str, Converter]]

#: (ids of the arguments list, config, scalars) → those three (so that the ids stay theirs)
#: and the plan.
_PLANS: dict[tuple[int, int, int], tuple[Any, Any, Any, Plan]] = {}


def install_argument_plans() -> None:
    """Make strawberry's resolvers convert their arguments through `convert_arguments`."""
    schema_converter.convert_arguments = convert_arguments


def convert_arguments(value: dict[str, Any], arguments: list[StrawberryArgument],
                      scalar_registry: Mapping[object, Any], config: Any,
                      info: Any = None) -> dict[str, Any]:
    """strawberry's `convert_arguments`, through the field's plan."""
    if not arguments:
        return {}
    key = (id(arguments), id(config), id(scalar_registry))
    kept = _PLANS.get(key)
    if kept is None or kept[0] is not arguments or kept[1] is not config \
            or kept[2] is not scalar_registry:
        kept = (arguments, config, scalar_registry, _plan(arguments, scalar_registry, config))
        _PLANS[key] = kept
    kwargs: dict[str, Any] = {}
    for graphql_name, python_name, convert in kept[3]:
        if graphql_name in value:
            kwargs[python_name] = convert(value[graphql_name], info)
    return kwargs


def _plan(arguments: list[StrawberryArgument], scalar_registry: Mapping[object, Any],
          config: Any) -> Plan:
    plan: Plan = []
    for argument in arguments:
        assert argument.python_name
        name = config.name_converter.from_argument(argument)
        plan.append((name, argument.python_name,
                     _converter(argument.type, name, scalar_registry, config)))
    return plan


def _converter(kind: Any, name: str, scalar_registry: Mapping[object, Any],
               config: Any) -> Converter:
    """How a value of type `kind`, the argument `name`, is converted."""
    from strawberry.relay.types import GlobalID  # as strawberry imports it: lazily

    bare = kind.of_type if isinstance(kind, StrawberryOptional) \
        and not isinstance(kind, StrawberryMaybe) else kind
    plain = not isinstance(bare, StrawberryMaybe | StrawberryList | StrawberryOptional) and (
        (bare is not GlobalID and is_scalar(bare, scalar_registry))
        or has_enum_definition(bare))
    if plain:
        return _as_it_is
    if has_object_definition(bare) and bare.__strawberry_definition__.from_input is not None:
        build = bare.__strawberry_definition__.from_input

        def from_input(value: Any, info: Any) -> Any:
            if value is None or value is UNSET:
                return value
            return build(bare, value, InputContext(info=info, config=config,
                                                   scalar_registry=scalar_registry,
                                                   path=(name,)))

        return from_input

    def strawberrys(value: Any, info: Any) -> Any:
        return convert_argument(value, kind, scalar_registry, config, info, path=(name,))

    return strawberrys


def _as_it_is(value: Any, info: Any) -> Any:
    return value
