"""The spatial hierarchy: communities, grids, building groups, buildings, members.

Revision ID: 0001
Revises:
Create Date: 2026-11-23 19:42:28.296515
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from geoalchemy2 import Geometry
from sqlalchemy.dialects import postgresql

revision: str = '0001'
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.execute('CREATE EXTENSION IF NOT EXISTS postgis')
    op.execute('CREATE EXTENSION IF NOT EXISTS pg_trgm')
    op.create_geospatial_table('community',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('code', sa.String(length=64), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('boundary', Geometry(geometry_type='MULTIPOLYGON', srid=4326, dimension=2, spatial_index=False, from_text='ST_GeomFromEWKT', name='geometry'), nullable=True),
    sa.CheckConstraint('boundary IS NULL OR ST_IsValid(boundary)', name='community_boundary_valid'),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('code')
    )
    op.create_geospatial_index('idx_community_boundary', 'community', ['boundary'], unique=False, postgresql_using='gist', postgresql_ops={})
    op.create_geospatial_table('grid',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('code', sa.String(length=64), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('community_id', sa.Integer(), nullable=False),
    sa.Column('boundary', Geometry(geometry_type='MULTIPOLYGON', srid=4326, dimension=2, spatial_index=False, from_text='ST_GeomFromEWKT', name='geometry', nullable=False), nullable=False),
    sa.CheckConstraint('boundary IS NULL OR ST_IsValid(boundary)', name='grid_boundary_valid'),
    sa.ForeignKeyConstraint(['community_id'], ['community.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('code')
    )
    op.create_geospatial_index('idx_grid_boundary', 'grid', ['boundary'], unique=False, postgresql_using='gist', postgresql_ops={})
    op.create_index(op.f('ix_grid_community_id'), 'grid', ['community_id'], unique=False)
    op.create_table('building_group',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('code', sa.String(length=64), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('grid_id', sa.Integer(), nullable=True),
    sa.Column('leader_id', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['grid_id'], ['grid.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('code')
    )
    op.create_index(op.f('ix_building_group_grid_id'), 'building_group', ['grid_id'], unique=False)
    op.create_geospatial_table('building',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('code', sa.String(length=64), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=True),
    sa.Column('address', sa.String(length=300), nullable=False),
    sa.Column('address_key', sa.String(length=300), nullable=False),
    sa.Column('households', sa.Integer(), nullable=True),
    sa.Column('location', Geometry(geometry_type='POINT', srid=4326, dimension=2, spatial_index=False, from_text='ST_GeomFromEWKT', name='geometry', nullable=False), nullable=False),
    sa.Column('footprint', Geometry(geometry_type='POLYGON', srid=4326, dimension=2, spatial_index=False, from_text='ST_GeomFromEWKT', name='geometry'), nullable=True),
    sa.Column('grid_id', sa.Integer(), nullable=True),
    sa.Column('group_id', sa.Integer(), nullable=True),
    sa.CheckConstraint('footprint IS NULL OR ST_IsValid(footprint)', name='building_footprint_valid'),
    sa.CheckConstraint('households IS NULL OR households >= 0', name='building_households'),
    sa.CheckConstraint('length(trim(address)) > 0', name='building_address_nonempty'),
    sa.ForeignKeyConstraint(['grid_id'], ['grid.id'], ),
    sa.ForeignKeyConstraint(['group_id'], ['building_group.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('code')
    )
    op.create_index('building_address_key_idx', 'building', ['address_key'], unique=False)
    op.create_index('building_address_key_trgm', 'building', ['address_key'], unique=False,
                    postgresql_using='gist', postgresql_ops={'address_key': 'gist_trgm_ops'})
    op.create_geospatial_index('idx_building_footprint', 'building', ['footprint'], unique=False, postgresql_using='gist', postgresql_ops={})
    op.create_geospatial_index('idx_building_location', 'building', ['location'], unique=False, postgresql_using='gist', postgresql_ops={})
    op.create_index(op.f('ix_building_grid_id'), 'building', ['grid_id'], unique=False)
    op.create_index(op.f('ix_building_group_id'), 'building', ['group_id'], unique=False)
    op.create_table('member',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('code', sa.String(length=64), nullable=True),
    sa.Column('name', sa.String(length=100), nullable=False),
    sa.Column('phone', sa.String(length=32), nullable=True),
    sa.Column('party_member', sa.Boolean(), nullable=False),
    sa.Column('roles', postgresql.ARRAY(sa.Text()), server_default=sa.text("'{}'"), nullable=False),
    sa.Column('skills', postgresql.ARRAY(sa.Text()), server_default=sa.text("'{}'"), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('building_id', sa.Integer(), nullable=True),
    sa.Column('group_id', sa.Integer(), nullable=True),
    sa.CheckConstraint("roles <@ ARRAY['GRID_WORKER', 'GROUP_LEADER', 'STEWARD', 'VOLUNTEER']::text[]", name='member_roles'),
    sa.CheckConstraint("skills <@ ARRAY['MAINTENANCE', 'ASSISTANCE', 'CONSULTATION', 'CULTURE', 'EMERGENCY', 'MEDIATION']::text[]", name='member_skills'),
    sa.CheckConstraint("status IN ('CANDIDATE', 'ACTIVE', 'SUSPENDED', 'EXITED')", name='member_status'),
    sa.CheckConstraint('length(trim(name)) > 0', name='member_name_nonempty'),
    sa.ForeignKeyConstraint(['building_id'], ['building.id'], ),
    sa.ForeignKeyConstraint(['group_id'], ['building_group.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('code')
    )
    op.create_index(op.f('ix_member_building_id'), 'member', ['building_id'], unique=False)
    op.create_index(op.f('ix_member_group_id'), 'member', ['group_id'], unique=False)
    op.create_table('grid_worker',
    sa.Column('member_id', sa.Integer(), nullable=False),
    sa.Column('grid_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['grid_id'], ['grid.id'], ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['member_id'], ['member.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('member_id', 'grid_id')
    )
    op.create_index(op.f('ix_grid_worker_grid_id'), 'grid_worker', ['grid_id'], unique=False)
    op.create_foreign_key('building_group_leader_fk', 'building_group', 'member',
                          ['leader_id'], ['id'], ondelete='SET NULL')


def downgrade() -> None:
    op.drop_constraint('building_group_leader_fk', 'building_group', type_='foreignkey')
    op.drop_index(op.f('ix_grid_worker_grid_id'), table_name='grid_worker')
    op.drop_table('grid_worker')
    op.drop_index(op.f('ix_member_group_id'), table_name='member')
    op.drop_index(op.f('ix_member_building_id'), table_name='member')
    op.drop_table('member')
    op.drop_index(op.f('ix_building_group_id'), table_name='building')
    op.drop_index(op.f('ix_building_grid_id'), table_name='building')
    op.drop_geospatial_index('idx_building_location', table_name='building', postgresql_using='gist', column_name='location')
    op.drop_geospatial_index('idx_building_footprint', table_name='building', postgresql_using='gist', column_name='footprint')
    op.drop_index('building_address_key_trgm', table_name='building')
    op.drop_index('building_address_key_idx', table_name='building')
    op.drop_geospatial_table('building')
    op.drop_index(op.f('ix_building_group_grid_id'), table_name='building_group')
    op.drop_table('building_group')
    op.drop_index(op.f('ix_grid_community_id'), table_name='grid')
    op.drop_geospatial_index('idx_grid_boundary', table_name='grid', postgresql_using='gist', column_name='boundary')
    op.drop_geospatial_table('grid')
    op.drop_geospatial_index('idx_community_boundary', table_name='community', postgresql_using='gist', column_name='boundary')
    op.drop_geospatial_table('community')
