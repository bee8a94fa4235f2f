"""The resident's side (issue 13): tracking codes, the resident's choice of notices, the
stopped clock of WAITING_RESIDENT, due times counted on calendar days when the working
calendar did not know the year, and the communities' calendar overrides.

Revision ID: 0015
Revises: 0013
Create Date: 2026-12-01 12:30:00.000000
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0015'
down_revision: str | None = '0014'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

OLD_STATUSES = ("'SUBMITTED', 'DISPATCHED', 'ACCEPTED', 'IN_PROGRESS', 'COMPLETED', 'CLOSED', "
                "'CANCELLED'")
NEW_STATUSES = OLD_STATUSES + ", 'WAITING_RESIDENT'"


def upgrade() -> None:
    op.add_column('service_request', sa.Column('tracking_nonce', sa.String(length=64)))
    op.add_column('service_request', sa.Column('tracking_hash', sa.String(length=64)))
    op.create_unique_constraint('service_request_tracking_hash_key', 'service_request',
                                ['tracking_hash'])
    op.add_column('service_request', sa.Column('notify', sa.Boolean(), nullable=False,
                                               server_default='true'))
    op.add_column('service_request', sa.Column('waiting_since', sa.DateTime(timezone=True)))
    op.add_column('service_request', sa.Column('waiting_from', sa.String(length=16)))
    op.add_column('service_request', sa.Column('due_fallback', sa.Boolean(), nullable=False,
                                               server_default='false'))
    op.drop_constraint('request_status', 'service_request', type_='check')
    op.create_check_constraint('request_status', 'service_request',
                               f'status IN ({NEW_STATUSES})')
    op.create_check_constraint(
        'request_waiting_from', 'service_request',
        "waiting_from IS NULL OR waiting_from IN ('ACCEPTED', 'IN_PROGRESS')")
    op.create_table(
        'calendar_override',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('community_id', sa.Integer(), nullable=False),
        sa.Column('day', sa.Date(), nullable=False),
        sa.Column('working', sa.Boolean(), nullable=False),
        sa.Column('note', sa.String(length=200)),
        sa.Column('created_by', sa.String(length=100)),
        sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'),
                  nullable=False),
        sa.ForeignKeyConstraint(['community_id'], ['community.id']),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('community_id', 'day', name='calendar_override_day'),
    )


def downgrade() -> None:
    op.drop_table('calendar_override')
    op.drop_constraint('request_waiting_from', 'service_request', type_='check')
    op.drop_constraint('request_status', 'service_request', type_='check')
    op.create_check_constraint('request_status', 'service_request',
                               f'status IN ({OLD_STATUSES})')
    for column in ('due_fallback', 'waiting_from', 'waiting_since', 'notify', 'tracking_hash',
                   'tracking_nonce'):
        op.drop_column('service_request', column)
