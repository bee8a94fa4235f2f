"""The audit trail: an append-only table of who did or saw what (issue 10, point 5).

A trigger refuses every UPDATE and every DELETE of audit_entry, but a DELETE in a transaction
that has said `SET LOCAL gridsteward.retention = on` (the retention job,
domain.people.audit_log.delete_expired). TRUNCATE is not refused (the tests empty tables so).

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-01 11:00:00.000000
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = '0012'
down_revision: str | None = '0011'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_GUARD = """
CREATE OR REPLACE FUNCTION audit_entry_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP = 'DELETE' AND current_setting('gridsteward.retention', true) = 'on' THEN
    RETURN NULL;
  END IF;
  RAISE EXCEPTION 'audit_entry is append-only: % refused', TG_OP
    USING ERRCODE = 'insufficient_privilege';
END $$"""


def upgrade() -> None:
    op.create_table('audit_entry',
    sa.Column('id', sa.BigInteger(), nullable=False),
    sa.Column('at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('actor', sa.String(length=64), nullable=False),
    sa.Column('action', sa.String(length=32), nullable=False),
    sa.Column('subject_type', sa.String(length=32), nullable=True),
    sa.Column('subject_id', sa.Integer(), nullable=True),
    sa.Column('community_id', sa.Integer(), nullable=True),
    sa.Column('detail', postgresql.JSONB(astext_type=sa.Text()), nullable=True),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_index('audit_entry_at_idx', 'audit_entry', ['at'], unique=False)
    op.create_index('audit_entry_community_idx', 'audit_entry', ['community_id', 'id'],
                    unique=False)
    op.create_index('audit_entry_subject_idx', 'audit_entry',
                    ['subject_type', 'subject_id', 'id'], unique=False)
    op.execute(_GUARD)
    op.execute("""
        CREATE TRIGGER audit_entry_append_only BEFORE UPDATE OR DELETE ON audit_entry
        FOR EACH STATEMENT EXECUTE FUNCTION audit_entry_append_only()""")


def downgrade() -> None:
    op.execute("DROP TRIGGER IF EXISTS audit_entry_append_only ON audit_entry")
    op.execute("DROP FUNCTION IF EXISTS audit_entry_append_only()")
    op.drop_index('audit_entry_subject_idx', table_name='audit_entry')
    op.drop_index('audit_entry_community_idx', table_name='audit_entry')
    op.drop_index('audit_entry_at_idx', table_name='audit_entry')
    op.drop_table('audit_entry')
