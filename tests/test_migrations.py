"""Migrations are safe to run twice, and they build exactly what the models declare."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from geoalchemy2 import alembic_helpers
from sqlalchemy import create_engine
from sqlmodel import SQLModel

import domain.tables  # noqa: F401  (every table on the metadata)
from migrations.runner import upgrade_database


def test_migrate_twice_is_a_no_op(database_url: str) -> None:
    upgrade_database(database_url)
    upgrade_database(database_url)


def test_migrations_match_the_models(database_url: str) -> None:
    engine = create_engine(database_url)
    try:
        with engine.connect() as connection:
            context = MigrationContext.configure(
                connection, opts={"include_object": alembic_helpers.include_object})
            assert compare_metadata(context, SQLModel.metadata) == []
    finally:
        engine.dispose()
