"""The notice board over HTTP as an anonymous caller (issue 11, point 6): the real
`gridsteward serve` process, no token; an objection without a token too."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import text

from tests.e2e.serving import post, running_api
from tests.organisation_factory import gid, load_organisation_places
from tests.schema.test_organisation_board import BOARD, board_group

SECRET = "e2e-secret-used-only-by-this-test-0123456789-abcdefghij"


@pytest.fixture(scope="module")
def server(database_url: str) -> Iterator[str]:
    with running_api(database_url, SECRET) as base:
        yield base


async def test_an_anonymous_caller_reads_the_board_and_objects(server: str,
                                                               sessions: Any) -> None:
    ids = await load_organisation_places(sessions)
    group, candidate = await board_group(sessions, ids)
    async with sessions.begin() as session:
        await session.execute(text("""
            INSERT INTO candidate_notice (member_id, posted_at, ends_at, actor)
            VALUES (:m, now() - interval '1 day', now() + interval '6 days', 'cli')"""),
            {"m": candidate})
    response = post(server, BOARD, {"g": gid("BuildingGroup", group)})
    assert response.status_code == 200
    board = response.json()["data"]["noticeBoard"]
    assert board["leader"] == {"name": "组长甲", "phone": "13800000001"}
    assert [c["name"] for c in board["candidates"]] == ["候选丁"]
    assert [e["phone"] for e in board["entries"]] == ["13800000001", "138****0002"]
    objection = post(server, """mutation($id: ID!) { objectToCandidate(id: $id,
        reason: "未在本楼居住") { received errors { code } } }""", {"id": gid("Member", candidate)})
    assert objection.json() == {"data": {"objectToCandidate": {"received": True, "errors": []}}}
