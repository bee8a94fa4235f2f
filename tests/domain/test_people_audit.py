"""The audit trail's table and writer: secrets scrubbed at any depth, UPDATE and DELETE refused
(TRUNCATE not), many entries in one statement, and the retention job deleting only what is
old, in batches, as the worker's periodic row runs it."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from domain.access import ANONYMOUS, CITY_ADMIN, Viewer
from domain.infra.db import transaction
from domain.people.audit import Entry, actor_of, record, record_many, scrub
from domain.people.audit_log import delete_expired
from tests.schema.test_n_plus_one import counting
from tests.settings import make_settings
from workers.periodic import run_once
from workers.schedule import audit_retention

NOW = datetime(2026, 12, 1, 12, tzinfo=UTC)


def test_scrub_drops_every_secret_key_at_any_depth() -> None:
    given = {"login": "zhaolei", "password": "p", "newPassword": "p", "code": "123456",
             "refresh_token": "t", "accessToken": "t", "password_hash": "h",
             "nested": {"Token": "t", "keep": 1, "list": [{"secret": "s", "name": "n"}, 2]},
             "communityCode": "C1"}
    assert scrub(given) == {"login": "zhaolei", "communityCode": "C1",
                            "nested": {"keep": 1, "list": [{"name": "n"}, 2]}}
    assert scrub(["a", ("b",)]) == ["a", ["b"]]
    assert scrub(None) is None


def test_actors() -> None:
    assert actor_of(Viewer(account_id=3, session_id=1)) == "account:3"
    assert actor_of(Viewer(member_id=7)) == "member:7"
    assert actor_of(CITY_ADMIN) == "cli"
    assert actor_of(ANONYMOUS) == "resident"


async def _rows(sessions: Any) -> list[Any]:
    async with sessions() as session:
        return list(await session.execute(text(
            "SELECT actor, action, subject_type, subject_id, community_id, detail "
            "FROM audit_entry ORDER BY id")))


async def test_record_scrubs_and_many_entries_are_one_statement(sessions: Any,
                                                                engine: Any) -> None:
    async with transaction(sessions) as session:
        await record(session, actor="cli", action="X", subject=("Grid", 4), community_id=9,
                     detail={"password": "hunter2hunter2", "after": {"name": "n"}})
    entries = [Entry("PHONE_REVEALED", ("ServiceRequest", i), None, {"path": f"p{i}"})
               for i in range(1, 201)]
    with counting(engine) as statements:
        async with transaction(sessions) as session:
            assert await record_many(session, actor="account:1", entries=entries) == 200
            assert await record_many(session, actor="account:1", entries=[]) == 0
    assert len([s for s in statements if "audit_entry" in s]) == 1
    rows = await _rows(sessions)
    assert tuple(rows[0]) == ("cli", "X", "Grid", 4, 9, {"after": {"name": "n"}})
    assert len(rows) == 201 and rows[-1].detail == {"path": "p200"}


@pytest.mark.parametrize("statement", [
    "UPDATE audit_entry SET action = 'FORGED'",
    "DELETE FROM audit_entry",
    "DELETE FROM audit_entry WHERE id = -1",  # refused even when it would touch nothing
])
async def test_update_and_delete_are_refused(sessions: Any, statement: str) -> None:
    async with transaction(sessions) as session:
        await record(session, actor="cli", action="X")
    with pytest.raises(DBAPIError, match="append-only"):
        async with transaction(sessions) as session:
            await session.execute(text(statement))
    with pytest.raises(DBAPIError, match="append-only"):  # the retention switch: DELETE only
        async with transaction(sessions) as session:
            await session.execute(text("SET LOCAL gridsteward.retention = on"))
            await session.execute(text("UPDATE audit_entry SET action = 'FORGED'"))
    assert [r.action for r in await _rows(sessions)] == ["X"]
    async with transaction(sessions) as session:  # the tests empty it so
        await session.execute(text("TRUNCATE audit_entry"))
    assert await _rows(sessions) == []


async def _aged(sessions: Any, **ages: int) -> None:
    async with transaction(sessions) as session:
        for action, days in ages.items():
            await session.execute(text(
                "INSERT INTO audit_entry (at, actor, action) VALUES (:at, 'cli', :action)"),
                {"at": NOW - timedelta(days=days), "action": action})


async def test_retention_deletes_only_old_entries_in_batches(sessions: Any) -> None:
    await _aged(sessions, OLD1=2000, OLD2=1200, OLD3=1096, OLD4=1100, OLD5=1500, KEEP1=1094,
                KEEP2=10, KEEP3=0)
    assert await delete_expired(sessions, now=NOW, days=1095, batch=2) == 5
    assert [r.action for r in await _rows(sessions)] == ["KEEP1", "KEEP2", "KEEP3"]
    assert await delete_expired(sessions, now=NOW, days=1095, batch=2) == 0


async def test_the_periodic_row_applies_the_setting(sessions: Any, engine: Any) -> None:
    await _aged(sessions, OLD=40, KEEP=20)
    row = audit_retention(make_settings(audit_retention_days=30), engine, clock=lambda: NOW)
    assert row.lock is None
    assert await run_once(row, engine) == 1
    assert [r.action for r in await _rows(sessions)] == ["KEEP"]
    assert make_settings().audit_retention_days == 1095
