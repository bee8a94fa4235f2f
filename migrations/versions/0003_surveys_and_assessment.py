"""Satisfaction surveys (token hashes only) and member assessment snapshots.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-23 20:08:18.979864
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0003'
down_revision: str | None = '0002'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('member_assessment',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('period', sa.String(length=7), nullable=False),
    sa.Column('member_id', sa.Integer(), nullable=False),
    sa.Column('community_id', sa.Integer(), nullable=True),
    sa.Column('accepted', sa.Integer(), nullable=False),
    sa.Column('completed', sa.Integer(), nullable=False),
    sa.Column('on_time_rate', sa.Float(), nullable=True),
    sa.Column('responses', sa.Integer(), nullable=False),
    sa.Column('csat', sa.Float(), nullable=True),
    sa.Column('score', sa.Float(), nullable=True),
    sa.Column('rank', sa.Integer(), nullable=True),
    sa.Column('tier', sa.String(length=20), nullable=False),
    sa.Column('computed_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint("tier IN ('EXCELLENT', 'GOOD', 'ADEQUATE', 'POOR', 'INSUFFICIENT_DATA')", name='assessment_tier'),
    sa.ForeignKeyConstraint(['community_id'], ['community.id'], ),
    sa.ForeignKeyConstraint(['member_id'], ['member.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('period', 'member_id', name='assessment_period_member')
    )
    op.create_index(op.f('ix_member_assessment_community_id'), 'member_assessment', ['community_id'], unique=False)
    op.create_index(op.f('ix_member_assessment_period'), 'member_assessment', ['period'], unique=False)
    op.create_table('survey',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('request_id', sa.Integer(), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('phone', sa.String(length=32), nullable=False),
    sa.Column('scheduled_for', sa.DateTime(timezone=True), nullable=False),
    sa.Column('sent_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('reminded_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('expires_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('answered_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('token_hash', sa.String(length=64), nullable=True),
    sa.Column('score', sa.SmallInteger(), nullable=True),
    sa.Column('resolved', sa.Boolean(), nullable=True),
    sa.Column('comment', sa.Text(), nullable=True),
    sa.CheckConstraint("status IN ('SCHEDULED', 'SENT', 'ANSWERED', 'EXPIRED')", name='survey_status'),
    sa.CheckConstraint('comment IS NULL OR length(comment) <= 1000', name='survey_comment'),
    sa.CheckConstraint('score IS NULL OR score BETWEEN 1 AND 5', name='survey_score'),
    sa.ForeignKeyConstraint(['request_id'], ['service_request.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('request_id'),
    sa.UniqueConstraint('token_hash')
    )
    op.create_index('survey_due_idx', 'survey', ['scheduled_for'], unique=False, postgresql_where=sa.text("status = 'SCHEDULED'"))
    op.create_index('survey_sent_idx', 'survey', ['sent_at'], unique=False, postgresql_where=sa.text("status = 'SENT'"))
    op.create_index('request_completed_idx', 'service_request', ['completed_at'], unique=False,
                    postgresql_where=sa.text("status = 'COMPLETED'"))


def downgrade() -> None:
    op.drop_index('request_completed_idx', table_name='service_request')
    op.drop_index('survey_sent_idx', table_name='survey', postgresql_where=sa.text("status = 'SENT'"))
    op.drop_index('survey_due_idx', table_name='survey', postgresql_where=sa.text("status = 'SCHEDULED'"))
    op.drop_table('survey')
    op.drop_index(op.f('ix_member_assessment_period'), table_name='member_assessment')
    op.drop_index(op.f('ix_member_assessment_community_id'), table_name='member_assessment')
    op.drop_table('member_assessment')
