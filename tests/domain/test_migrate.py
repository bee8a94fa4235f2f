"""Migrations are safe to run twice."""

from __future__ import annotations

from domain.migrate import upgrade_database


def test_migrate_twice_is_a_no_op(database_url: str) -> None:
    upgrade_database(database_url)
    upgrade_database(database_url)
