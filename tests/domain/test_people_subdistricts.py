"""Subdistricts (街道) in importFeatures, and the demo community in 青山街道."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import text

from domain.demo import load_demo
from domain.errors import InvalidInput
from domain.infra.db import transaction
from tests.factories import X0, Y0, box, collection, feature, load
from tests.people_factory import load_places


async def _rows(sessions: Any, sql: str) -> list[tuple[Any, ...]]:
    async with sessions() as session:
        return [tuple(r) for r in (await session.execute(text(sql))).all()]


async def test_communities_name_their_subdistrict_or_none(sessions: Any) -> None:
    await load_places(sessions)
    assert await _rows(sessions, """
        SELECT c.code, s.code FROM community c LEFT JOIN subdistrict s ON s.id = c.subdistrict_id
        ORDER BY c.code""") == [("C1", "S1"), ("C2", "S1"), ("C3", "S2"), ("C4", None)]


async def test_a_stored_subdistrict_may_be_named_by_a_later_import(sessions: Any) -> None:
    await load_places(sessions)
    counts = await load(sessions, collection(feature(
        "community", box(X0, Y0 + 0.05, X0 + 0.01, Y0 + 0.06), code="C9", name="新社区",
        subdistrict="S2")))
    assert (counts.subdistricts, counts.communities) == (0, 1)
    assert await _rows(sessions, """SELECT s.code FROM community c JOIN subdistrict s
        ON s.id = c.subdistrict_id WHERE c.code = 'C9'""") == [("S2",)]


async def test_an_unknown_subdistrict_is_an_error_naming_the_property(sessions: Any) -> None:
    with pytest.raises(InvalidInput) as caught:
        await load(sessions, collection(feature(
            "community", box(X0, Y0, X0 + 0.01, Y0 + 0.01), code="C1", name="社区",
            subdistrict="NOPE")))
    (error,) = caught.value.errors
    assert (error.code, error.field) == ("NOT_FOUND",
                                         "collection.features[0].properties.subdistrict")
    assert await _rows(sessions, "SELECT code FROM community") == []


async def test_a_subdistrict_must_be_an_area_with_code_and_name(sessions: Any) -> None:
    with pytest.raises(InvalidInput) as caught:
        await load(sessions, collection(
            feature("subdistrict", {"type": "Point", "coordinates": [X0, Y0]}, code="S1",
                    name="青山街道"),
            feature("subdistrict", box(X0, Y0, X0 + 0.01, Y0 + 0.01), code="S2")))
    assert sorted((e.code, e.field) for e in caught.value.errors) == [
        ("INVALID_GEOMETRY", "collection.features[0].geometry.type"),
        ("REQUIRED", "collection.features[1].properties.name")]


async def test_the_demo_community_lies_in_qingshan_subdistrict(sessions: Any) -> None:
    async with transaction(sessions) as session:
        await load_demo(session)
    assert await _rows(sessions, """
        SELECT c.name, s.name, ST_Covers(s.boundary, c.boundary) FROM community c
        JOIN subdistrict s ON s.id = c.subdistrict_id""") == [("西湖新村社区", "青山街道", True)]
