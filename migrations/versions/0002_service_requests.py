"""Service requests, their append-only timeline (with NOTIFY for live screens) and the
outbound message outbox.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-23 20:03:28.243169
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from geoalchemy2 import Geometry

revision: str = '0002'
down_revision: str | None = '0001'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_geospatial_table('service_request',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('number', sa.String(length=32), nullable=False),
    sa.Column('category', sa.String(length=16), nullable=False),
    sa.Column('description', sa.Text(), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('address', sa.String(length=300), nullable=True),
    sa.Column('location', Geometry(geometry_type='POINT', srid=4326, dimension=2, spatial_index=False, from_text='ST_GeomFromEWKT', name='geometry'), nullable=True),
    sa.Column('building_id', sa.Integer(), nullable=True),
    sa.Column('group_id', sa.Integer(), nullable=True),
    sa.Column('grid_id', sa.Integer(), nullable=True),
    sa.Column('community_id', sa.Integer(), nullable=True),
    sa.Column('assignee_id', sa.Integer(), nullable=True),
    sa.Column('escalation_level', sa.Integer(), server_default='0', nullable=False),
    sa.Column('overdue', sa.Boolean(), server_default='false', nullable=False),
    sa.Column('submitted_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('due_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('dispatched_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('accept_deadline', sa.DateTime(timezone=True), nullable=True),
    sa.Column('completed_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('updated_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('resolution', sa.Text(), nullable=True),
    sa.Column('contact_name', sa.String(length=100), nullable=True),
    sa.Column('contact_phone', sa.String(length=32), nullable=True),
    sa.Column('idempotency_key', sa.String(length=200), nullable=True),
    sa.CheckConstraint("category IN ('MAINTENANCE', 'ASSISTANCE', 'CONSULTATION', 'CULTURE', 'EMERGENCY', 'MEDIATION')", name='request_category'),
    sa.CheckConstraint("status IN ('SUBMITTED', 'DISPATCHED', 'ACCEPTED', 'IN_PROGRESS', 'COMPLETED', 'CLOSED', 'CANCELLED')", name='request_status'),
    sa.CheckConstraint('escalation_level BETWEEN 0 AND 2', name='request_escalation'),
    sa.CheckConstraint('length(description) BETWEEN 1 AND 4000', name='request_description'),
    sa.ForeignKeyConstraint(['assignee_id'], ['member.id'], ),
    sa.ForeignKeyConstraint(['building_id'], ['building.id'], ),
    sa.ForeignKeyConstraint(['community_id'], ['community.id'], ),
    sa.ForeignKeyConstraint(['grid_id'], ['grid.id'], ),
    sa.ForeignKeyConstraint(['group_id'], ['building_group.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('idempotency_key'),
    sa.UniqueConstraint('number')
    )
    op.create_geospatial_index('idx_service_request_location', 'service_request', ['location'], unique=False, postgresql_using='gist', postgresql_ops={})
    op.create_index(op.f('ix_service_request_assignee_id'), 'service_request', ['assignee_id'], unique=False)
    op.create_index(op.f('ix_service_request_building_id'), 'service_request', ['building_id'], unique=False)
    op.create_index(op.f('ix_service_request_community_id'), 'service_request', ['community_id'], unique=False)
    op.create_index(op.f('ix_service_request_grid_id'), 'service_request', ['grid_id'], unique=False)
    op.create_index(op.f('ix_service_request_group_id'), 'service_request', ['group_id'], unique=False)
    op.create_index(op.f('ix_service_request_status'), 'service_request', ['status'], unique=False)
    op.create_index('request_due_idx', 'service_request', ['due_at'], unique=False, postgresql_where=sa.text("NOT overdue AND status IN ('SUBMITTED','DISPATCHED','ACCEPTED','IN_PROGRESS')"))
    op.create_index('request_open_idx', 'service_request', ['status', 'accept_deadline'], unique=False, postgresql_where=sa.text("status IN ('SUBMITTED','DISPATCHED','ACCEPTED','IN_PROGRESS')"))
    op.create_table('outbound_message',
    sa.Column('id', sa.BigInteger(), nullable=False),
    sa.Column('channel', sa.String(length=32), nullable=False),
    sa.Column('recipient', sa.String(length=100), nullable=False),
    sa.Column('kind', sa.String(length=32), nullable=False),
    sa.Column('body', sa.Text(), nullable=False),
    sa.Column('request_id', sa.Integer(), nullable=True),
    sa.Column('member_id', sa.Integer(), nullable=True),
    sa.Column('survey_token', sa.String(length=100), nullable=True),
    sa.Column('dedupe_key', sa.String(length=200), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('status', sa.String(length=16), server_default='PENDING', nullable=False),
    sa.Column('attempts', sa.Integer(), server_default='0', nullable=False),
    sa.Column('next_attempt_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('sent_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('last_error', sa.Text(), nullable=True),
    sa.CheckConstraint("status IN ('PENDING', 'SENT', 'FAILED')", name='outbound_status'),
    sa.ForeignKeyConstraint(['member_id'], ['member.id'], ),
    sa.ForeignKeyConstraint(['request_id'], ['service_request.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('dedupe_key')
    )
    op.create_index(op.f('ix_outbound_message_kind'), 'outbound_message', ['kind'], unique=False)
    op.create_index(op.f('ix_outbound_message_request_id'), 'outbound_message', ['request_id'], unique=False)
    op.create_index('outbound_pending_idx', 'outbound_message', ['next_attempt_at'], unique=False, postgresql_where=sa.text("status = 'PENDING'"))
    op.create_table('request_event',
    sa.Column('id', sa.BigInteger(), nullable=False),
    sa.Column('request_id', sa.Integer(), nullable=False),
    sa.Column('at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('kind', sa.String(length=32), nullable=False),
    sa.Column('from_status', sa.String(length=16), nullable=True),
    sa.Column('to_status', sa.String(length=16), nullable=True),
    sa.Column('actor', sa.String(length=100), nullable=True),
    sa.Column('member_id', sa.Integer(), nullable=True),
    sa.Column('note', sa.Text(), nullable=True),
    sa.ForeignKeyConstraint(['member_id'], ['member.id'], ),
    sa.ForeignKeyConstraint(['request_id'], ['service_request.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_index(op.f('ix_request_event_request_id'), 'request_event', ['request_id'], unique=False)

    op.execute("CREATE SEQUENCE IF NOT EXISTS service_request_number_seq")
    op.execute("""
        CREATE FUNCTION request_event_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
          RAISE EXCEPTION 'request_event is append-only';
        END $$""")
    op.execute("""
        CREATE TRIGGER request_event_no_change BEFORE UPDATE OR DELETE ON request_event
        FOR EACH ROW EXECUTE FUNCTION request_event_append_only()""")
    op.execute("""
        CREATE FUNCTION request_event_notify() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
          PERFORM pg_notify('gridsteward_request_events',
                            json_build_object('id', NEW.id, 'request_id', NEW.request_id)::text);
          RETURN NEW;
        END $$""")
    op.execute("""
        CREATE TRIGGER request_event_notify AFTER INSERT ON request_event
        FOR EACH ROW EXECUTE FUNCTION request_event_notify()""")

def downgrade() -> None:
    op.execute("DROP TRIGGER IF EXISTS request_event_notify ON request_event")
    op.execute("DROP TRIGGER IF EXISTS request_event_no_change ON request_event")
    op.execute("DROP FUNCTION IF EXISTS request_event_notify()")
    op.execute("DROP FUNCTION IF EXISTS request_event_append_only()")
    op.execute("DROP SEQUENCE IF EXISTS service_request_number_seq")
    op.drop_index(op.f('ix_request_event_request_id'), table_name='request_event')
    op.drop_table('request_event')
    op.drop_index('outbound_pending_idx', table_name='outbound_message', postgresql_where=sa.text("status = 'PENDING'"))
    op.drop_index(op.f('ix_outbound_message_request_id'), table_name='outbound_message')
    op.drop_index(op.f('ix_outbound_message_kind'), table_name='outbound_message')
    op.drop_table('outbound_message')
    op.drop_index('request_open_idx', table_name='service_request', postgresql_where=sa.text("status IN ('SUBMITTED','DISPATCHED','ACCEPTED','IN_PROGRESS')"))
    op.drop_index('request_due_idx', table_name='service_request', postgresql_where=sa.text("NOT overdue AND status IN ('SUBMITTED','DISPATCHED','ACCEPTED','IN_PROGRESS')"))
    op.drop_index(op.f('ix_service_request_status'), table_name='service_request')
    op.drop_index(op.f('ix_service_request_group_id'), table_name='service_request')
    op.drop_index(op.f('ix_service_request_grid_id'), table_name='service_request')
    op.drop_index(op.f('ix_service_request_community_id'), table_name='service_request')
    op.drop_index(op.f('ix_service_request_building_id'), table_name='service_request')
    op.drop_index(op.f('ix_service_request_assignee_id'), table_name='service_request')
    op.drop_geospatial_index('idx_service_request_location', table_name='service_request', postgresql_using='gist', column_name='location')
    op.drop_geospatial_table('service_request')
