"""Sub-fields collected once per document (schema.common.execution): the same answers as
collecting them per request, and per request still wherever a directive could change them."""

from __future__ import annotations

from typing import Any

import pytest
from graphql import FragmentDefinitionNode, OperationDefinitionNode, parse

from domain.access import ANONYMOUS
from schema.common import execution
from tests.factories import X0, Y0, load

POINT = {"lon": X0 + 0.0051, "lat": Y0 + 0.0051}
SHAPED = """query ($p: PointInput, $withGrid: Boolean!) {
  coverage(point: $p) { building { code ...where } grid @include(if: $withGrid) { code } }
}
fragment where on Building { group { code } grid { code } }"""
PLAIN = """query ($p: PointInput) {
  coverage(point: $p) { building { code ...where } buildingGroup { code grid { code } } }
}
fragment where on Building { group { code } grid { code } }"""


@pytest.fixture
async def city(sessions: Any) -> None:
    await load(sessions)


def _static(text: str) -> bool:
    document = parse(text)
    operation = next(d for d in document.definitions
                     if isinstance(d, OperationDefinitionNode))
    fragments = {d.name.value: d for d in document.definitions
                 if isinstance(d, FragmentDefinitionNode)}
    return execution._static(operation, fragments)


@pytest.mark.parametrize(("text", "static"), [
    (PLAIN, True),
    (SHAPED, False),
    ("{ grids { edges { node { id ... on Grid @skip(if: true) { name } } } } }", False),
    ("{ grids { edges { node { ...f } } } } fragment f on Grid { name @include(if: false) }",
     False),
    ("{ grids { totalCount } }", True),
])
def test_which_documents_are_collected_once(text: str, static: bool) -> None:
    assert _static(text) is static


async def test_a_document_collected_once_answers_every_request(api: Any, city: None) -> None:
    first = await api.data(PLAIN, {"p": POINT}, viewer=ANONYMOUS)
    again = await api.data(PLAIN, {"p": POINT}, viewer=ANONYMOUS)
    elsewhere = await api.data(PLAIN, {"p": {"lon": 100.0, "lat": 30.0}}, viewer=ANONYMOUS)
    assert first == again and first["coverage"] == {
        "building": {"code": "B1", "group": {"code": "L1"}, "grid": {"code": "G1"}},
        "buildingGroup": {"code": "L1", "grid": {"code": "G1"}}}
    assert elsewhere == {"coverage": None}


async def test_a_directive_is_weighed_in_every_request(api: Any, city: None) -> None:
    shown = await api.data(SHAPED, {"p": POINT, "withGrid": True}, viewer=ANONYMOUS)
    hidden = await api.data(SHAPED, {"p": POINT, "withGrid": False}, viewer=ANONYMOUS)
    assert shown["coverage"]["grid"] == {"code": "G1"}
    assert "grid" not in hidden["coverage"]
    assert shown["coverage"]["building"] == hidden["coverage"]["building"]
