"""Alembic environment: runs migrations online against `sqlalchemy.url` (set by the CLI)."""

from __future__ import annotations

from alembic import context
from geoalchemy2 import alembic_helpers
from sqlalchemy import create_engine, pool
from sqlmodel import SQLModel

import domain.tables  # noqa: F401  (registers every table on SQLModel.metadata)

config = context.config
target_metadata = SQLModel.metadata


def run_migrations_online() -> None:
    """Migrate inside one transaction, serialised by an advisory lock."""
    engine = create_engine(config.get_main_option("sqlalchemy.url") or "", poolclass=pool.NullPool)
    with engine.connect() as connection:
        context.configure(
            connection=connection,
            target_metadata=target_metadata,
            include_object=alembic_helpers.include_object,
            process_revision_directives=alembic_helpers.writer,
            render_item=alembic_helpers.render_item,
            transaction_per_migration=False,
        )
        with context.begin_transaction():
            connection.exec_driver_sql("SELECT pg_advisory_xact_lock(2718281828)")
            context.run_migrations()


run_migrations_online()
