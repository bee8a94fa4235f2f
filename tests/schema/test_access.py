"""Who may call what, and who sees phone numbers."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import text

from domain.access import ANONYMOUS, Viewer, mask_phone
from schema.common.ids import decode_id, encode_id
from tests.factories import load

ADMIN = Viewer(admin=True)

CREATE = """
mutation ($input: MemberInput!) {
  createMember(input: $input) { member { id name phone } errors { code field message } }
}"""


@pytest.fixture
async def people(api: Any, sessions: Any) -> dict[str, int]:
    """B1/L1 in grid G1, B2/L2 in grid G2; a steward in each group and a grid worker of G1."""
    await load(sessions)
    async with sessions() as session:
        ids = {code: pk for code, pk in (await session.execute(text(
            "SELECT code, id FROM grid UNION ALL SELECT code, id FROM building_group"))).all()}
    made = {}
    for name, phone, group, extra in [
        ("张建国", "13812345678", "L1", {}), ("李秀英", "13987654321", "L2", {}),
        ("王网格", "15011112222", None, {"roles": ["GRID_WORKER"],
                                        "gridIds": [encode_id("Grid", ids["G1"])]}),
    ]:
        data = {"name": name, "phone": phone, **extra}
        if group:
            data["buildingGroupId"] = encode_id("BuildingGroup", ids[group])
        result = await api.data(CREATE, {"input": data}, viewer=ADMIN)
        assert result["createMember"]["errors"] == []
        made[name] = decode_id(result["createMember"]["member"]["id"], "Member", "id")
    return made


MEMBERS = "{ members { edges { node { name phone } } } }"


async def _phones(api: Any, viewer: Viewer) -> dict[str, str]:
    data = await api.data(MEMBERS, viewer=viewer)
    return {e["node"]["name"]: e["node"]["phone"] for e in data["members"]["edges"]}


async def test_admin_sees_every_phone(api: Any, people: dict[str, int]) -> None:
    assert await _phones(api, ADMIN) == {"张建国": "13812345678", "李秀英": "13987654321",
                                         "王网格": "15011112222"}


async def test_grid_worker_sees_phones_of_their_grid_only(api: Any,
                                                          people: dict[str, int]) -> None:
    worker = Viewer(member_id=people["王网格"], grid_ids=frozenset({1}))  # G1 is grid 1
    assert await _phones(api, worker) == {"张建国": "13812345678", "李秀英": "139****4321",
                                          "王网格": "15011112222"}


async def test_member_sees_own_phone_and_masks_others(api: Any, people: dict[str, int]) -> None:
    member = Viewer(member_id=people["李秀英"])
    assert await _phones(api, member) == {"张建国": "138****5678", "李秀英": "13987654321",
                                          "王网格": "150****2222"}


async def test_contacts_are_masked_for_anonymous_callers(api: Any, people: dict[str, int]) -> None:
    data = await api.data('{ coverage(address: "船山路63号") { contacts { name phone } } }',
                          viewer=ANONYMOUS)
    assert data["coverage"]["contacts"] == [{"name": "王网格", "phone": "150****2222"}]


@pytest.mark.parametrize("query", [
    "{ grids { totalCount } }", "{ buildings { totalCount } }", "{ members { totalCount } }",
    '{ node(id: "R3JpZDox") { id } }',
    "{ mapFeatures(bbox: {west: 0, south: 0, east: 1, north: 1}, layers: [GRIDS]) }",
])
async def test_anonymous_callers_are_refused(api: Any, people: dict[str, int],
                                             query: str) -> None:
    result = await api.run(query, viewer=ANONYMOUS)
    (error,) = result.errors
    assert error.extensions["code"] == "UNAUTHENTICATED"


async def test_only_administrators_import_and_create(api: Any, people: dict[str, int]) -> None:
    member = Viewer(member_id=people["张建国"])
    result = await api.run(CREATE, {"input": {"name": "赵六"}}, viewer=member)
    assert result.errors[0].extensions["code"] == "FORBIDDEN"
    result = await api.run("mutation { importFeatures(collection: {}) { grids } }",
                           viewer=ANONYMOUS)
    assert result.errors[0].extensions["code"] == "FORBIDDEN"


@pytest.mark.parametrize(("phone", "masked"), [
    ("13812345678", "138****5678"), ("07348123456", "073****3456"), ("1234567", "*******"),
    (None, None), ("", ""),
])
def test_mask_phone(phone: str | None, masked: str | None) -> None:
    assert mask_phone(phone) == masked
