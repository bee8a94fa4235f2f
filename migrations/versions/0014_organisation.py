"""The organisation area (issue 11): partner organisations, a member's organisation, published
phone and joining day, the status history, candidate notices and objections, and the versions
of grid boundaries (one per grid from 1970 for the grids stored before this revision).

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-01 12:30:00.000000
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from geoalchemy2 import Geometry
from sqlalchemy.dialects.postgresql import ExcludeConstraint

revision: str = '0014'
down_revision: str | None = '0013'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_KINDS = ("'PROPERTY_COMPANY', 'OWNERS_COMMITTEE', 'ENTERPRISE', 'PUBLIC_INSTITUTION', "
          "'SOCIAL_ORGANISATION', 'PARTY_BRANCH', 'OTHER'")
_STATUSES = "'CANDIDATE', 'ACTIVE', 'SUSPENDED', 'EXITED'"


def _ts(name: str, nullable: bool = False) -> sa.Column:  # type: ignore[type-arg]
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable)


def upgrade() -> None:
    op.execute("CREATE EXTENSION IF NOT EXISTS btree_gist")
    op.create_table(
        'organisation',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('name', sa.String(200), nullable=False),
        sa.Column('kind', sa.String(32), nullable=False),
        sa.Column('community_id', sa.Integer(), nullable=False),
        sa.Column('contact_name', sa.String(100), nullable=True),
        sa.Column('contact_phone', sa.String(32), nullable=True),
        sa.CheckConstraint(f"kind IN ({_KINDS})", name='organisation_kind'),
        sa.CheckConstraint("length(trim(name)) > 0", name='organisation_name_nonempty'),
        sa.ForeignKeyConstraint(['community_id'], ['community.id']),
        sa.PrimaryKeyConstraint('id'))
    op.create_index(op.f('ix_organisation_community_id'), 'organisation', ['community_id'])
    op.add_column('member', sa.Column('organisation_id', sa.Integer(), nullable=True))
    op.create_foreign_key('member_organisation_id_fkey', 'member', 'organisation',
                          ['organisation_id'], ['id'])
    op.create_index(op.f('ix_member_organisation_id'), 'member', ['organisation_id'])
    op.add_column('member', sa.Column('publish_phone', sa.Boolean(), nullable=False,
                                      server_default=sa.text('false')))
    op.add_column('member', _ts('joined_at', nullable=True))
    op.create_table(
        'member_status_change',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('member_id', sa.Integer(), nullable=False),
        _ts('at'),
        sa.Column('from_status', sa.String(16), nullable=True),
        sa.Column('to_status', sa.String(16), nullable=False),
        sa.Column('actor', sa.String(64), nullable=False),
        sa.Column('reason', sa.String(1000), nullable=True),
        sa.CheckConstraint(f"to_status IN ({_STATUSES})", name='member_status_change_to'),
        sa.ForeignKeyConstraint(['member_id'], ['member.id'], ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id'))
    op.create_index(op.f('ix_member_status_change_member_id'), 'member_status_change',
                    ['member_id'])
    op.create_table(
        'candidate_notice',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('member_id', sa.Integer(), nullable=False),
        _ts('posted_at'), _ts('ends_at'),
        sa.Column('actor', sa.String(64), nullable=False),
        sa.CheckConstraint("ends_at > posted_at", name='candidate_notice_period'),
        sa.ForeignKeyConstraint(['member_id'], ['member.id'], ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id'))
    op.create_index(op.f('ix_candidate_notice_member_id'), 'candidate_notice', ['member_id'])
    op.create_table(
        'objection',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('notice_id', sa.Integer(), nullable=False),
        _ts('at'),
        sa.Column('reason', sa.String(1000), nullable=False),
        sa.Column('contact_phone', sa.String(32), nullable=True),
        sa.Column('status', sa.String(16), nullable=False, server_default=sa.text("'OPEN'")),
        _ts('resolved_at', nullable=True),
        sa.Column('resolved_by', sa.String(64), nullable=True),
        sa.Column('resolution', sa.String(1000), nullable=True),
        sa.CheckConstraint("status IN ('OPEN', 'DISMISSED', 'UPHELD')", name='objection_status'),
        sa.ForeignKeyConstraint(['notice_id'], ['candidate_notice.id'], ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id'))
    op.create_index(op.f('ix_objection_notice_id'), 'objection', ['notice_id'])
    op.create_geospatial_table(
        'grid_boundary_version',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('grid_id', sa.Integer(), nullable=False),
        _ts('valid_from'), _ts('valid_to', nullable=True),
        sa.Column('boundary', Geometry(geometry_type='MULTIPOLYGON', srid=4326, dimension=2,
                                       spatial_index=False, from_text='ST_GeomFromEWKT',
                                       name='geometry', nullable=False), nullable=False),
        sa.CheckConstraint("valid_to IS NULL OR valid_to > valid_from",
                           name='grid_boundary_version_period'),
        sa.CheckConstraint("ST_IsValid(boundary)", name='grid_boundary_version_boundary_valid'),
        ExcludeConstraint(('grid_id', '='), (sa.text("tstzrange(valid_from, valid_to)"), '&&'),
                          using='gist', name='grid_boundary_version_no_overlap'),
        sa.ForeignKeyConstraint(['grid_id'], ['grid.id'], ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id'))
    op.create_index(op.f('ix_grid_boundary_version_grid_id'), 'grid_boundary_version',
                    ['grid_id'])
    op.create_geospatial_index('idx_grid_boundary_version_boundary', 'grid_boundary_version',
                               ['boundary'], unique=False, postgresql_using='gist',
                               postgresql_ops={})
    op.execute("""
        INSERT INTO grid_boundary_version (grid_id, valid_from, boundary)
        SELECT id, TIMESTAMPTZ '1970-01-01 00:00:00+00', boundary FROM grid""")


def downgrade() -> None:
    op.drop_geospatial_table('grid_boundary_version')
    op.drop_table('objection')
    op.drop_table('candidate_notice')
    op.drop_table('member_status_change')
    op.drop_index(op.f('ix_member_organisation_id'), table_name='member')
    op.drop_constraint('member_organisation_id_fkey', 'member', type_='foreignkey')
    op.drop_column('member', 'joined_at')
    op.drop_column('member', 'publish_phone')
    op.drop_column('member', 'organisation_id')
    op.drop_table('organisation')
