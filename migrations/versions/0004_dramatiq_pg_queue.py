"""The message table of Dramatiq's PostgreSQL broker (dramatiq-pg), for BROKER_URL=postgresql://.

The same objects as dramatiq-pg's schema.sql, in their own schema `dramatiq`, so a deployment
may run its workers on PostGIS alone. Unused (and empty) with RabbitMQ or Redis.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-23 23:45:00
"""
from collections.abc import Sequence

from alembic import op

revision: str = '0004'
down_revision: str | None = '0003'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.execute("CREATE SCHEMA IF NOT EXISTS dramatiq")
    op.execute("CREATE TYPE dramatiq.state AS ENUM ('queued', 'consumed', 'rejected', 'done')")
    op.execute("""
        CREATE TABLE dramatiq.queue (
            message_id uuid PRIMARY KEY,
            queue_name text NOT NULL DEFAULT 'default',
            state dramatiq.state,
            mtime timestamptz DEFAULT (now() AT TIME ZONE 'UTC'),
            message jsonb,
            result jsonb,
            result_ttl timestamptz)""")
    op.execute("CREATE INDEX ON dramatiq.queue (state, mtime)")


def downgrade() -> None:
    op.execute("DROP SCHEMA dramatiq CASCADE")
