"""Photos of service requests (issue 13, point 3): request_photo, one row per photo, and
media_blob, the bytes of MEDIA_STORE=postgres.

Revision ID: 0016
Revises: 0013
Create Date: 2026-12-01 12:30:00.000000
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0016'
down_revision: str | None = '0015'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('request_photo',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('request_id', sa.Integer(), nullable=False),
    sa.Column('stage', sa.String(length=8), nullable=False),
    sa.Column('position', sa.SmallInteger(), nullable=False),
    sa.Column('key', sa.String(length=100), nullable=False),
    sa.Column('store', sa.String(length=16), nullable=False),
    sa.Column('width', sa.Integer(), nullable=False),
    sa.Column('height', sa.Integer(), nullable=False),
    sa.Column('thumb_width', sa.Integer(), nullable=False),
    sa.Column('thumb_height', sa.Integer(), nullable=False),
    sa.Column('source_format', sa.String(length=8), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.CheckConstraint("stage IN ('PROBLEM', 'SERVICE')", name='request_photo_stage'),
    sa.CheckConstraint('position BETWEEN 0 AND 2', name='request_photo_position'),
    sa.ForeignKeyConstraint(['request_id'], ['service_request.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('key'),
    sa.UniqueConstraint('request_id', 'stage', 'position', name='request_photo_slot'),
    )
    op.create_index(op.f('ix_request_photo_request_id'), 'request_photo', ['request_id'], unique=False)
    op.create_table('media_blob',
    sa.Column('key', sa.String(length=120), nullable=False),
    sa.Column('media_type', sa.String(length=64), nullable=False),
    sa.Column('data', sa.LargeBinary(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.PrimaryKeyConstraint('key'),
    )


def downgrade() -> None:
    op.drop_table('media_blob')
    op.drop_index(op.f('ix_request_photo_request_id'), table_name='request_photo')
    op.drop_table('request_photo')
