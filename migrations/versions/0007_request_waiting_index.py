"""Index of the requests waiting for dispatch (SUBMITTED at level 0), oldest first, for the
dispatch batches that take waiting requests along with the one they were sent for.

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-28 20:30:00.000000
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0007'
down_revision: str | None = '0006'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_WAITING = "status = 'SUBMITTED' AND escalation_level = 0"


def upgrade() -> None:
    op.create_index('request_waiting_idx', 'service_request', ['id'], unique=False,
                    postgresql_where=sa.text(_WAITING))


def downgrade() -> None:
    op.drop_index('request_waiting_idx', table_name='service_request',
                  postgresql_where=sa.text(_WAITING))
