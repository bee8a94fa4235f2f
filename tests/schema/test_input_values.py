"""Input objects built with a plan (schema.common.input_values) equal what strawberry's own
field-by-field conversion builds, for inputs of every kind of field."""

from __future__ import annotations

from typing import Any

import pytest
from strawberry.types.arguments import convert_argument

from schema.app import schema
from schema.common.enums import CoordSystem, MemberRole, ServiceCategory
from schema.common.inputs import BBoxInput, PointInput, ScopeInput
from schema.spatial.types import MemberInput


@pytest.mark.parametrize(("kind", "value"), [
    (PointInput, {"lon": 112.6, "lat": 26.9, "crs": CoordSystem.GCJ02}),
    (PointInput, {"lon": 112, "lat": -26.5}),
    (BBoxInput, {"west": 1.0, "south": 2.0, "east": 3.0, "north": 4.0}),
    (ScopeInput, {"gridId": "R3JpZDox", "communityId": None}),
    (ScopeInput, {}),
    (MemberInput, {"name": "王芳", "phone": None, "roles": [MemberRole.STEWARD],
                   "skills": [ServiceCategory.MAINTENANCE, ServiceCategory.CULTURE],
                   "gridIds": ["R3JpZDox"], "publishPhone": True}),
])
def test_planned_inputs_equal_strawberrys(kind: Any, value: dict[str, Any]) -> None:
    definition = kind.__strawberry_definition__
    assert definition.from_input is not None  # installed when the schema was built
    config, scalars = schema.config, schema.schema_converter.scalar_registry
    planned = convert_argument(value, kind, scalars, config)
    hook, definition.from_input = definition.from_input, None
    try:
        strawberrys = convert_argument(value, kind, scalars, config)
    finally:
        definition.from_input = hook
    assert planned == strawberrys
    assert type(planned) is kind
    types = {name: type(v) for name, v in vars(strawberrys).items()}
    assert {name: type(v) for name, v in vars(planned).items()} == types  # enums stay enums
