"""Index of the events that hand a request to a member, by member and time, for the dispatch
policy's "longest since their last assignment".

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-23 23:50:00.000000
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0005'
down_revision: str | None = '0004'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index('request_event_handed_idx', 'request_event', ['member_id', 'at'],
                    unique=False,
                    postgresql_where=sa.text("kind IN ('DISPATCHED', 'ASSIGNED')"))


def downgrade() -> None:
    op.drop_index('request_event_handed_idx', table_name='request_event',
                  postgresql_where=sa.text("kind IN ('DISPATCHED', 'ASSIGNED')"))
