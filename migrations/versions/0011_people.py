"""People: subdistricts above communities, staff accounts and their territories, sessions with
rotating refresh tokens, one-time sign-in codes (issue 10, points 1 to 3).

Revision ID: 0011
Revises: 0008
Create Date: 2026-12-01 10:00:00.000000
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from geoalchemy2 import Geometry

revision: str = '0011'
down_revision: str | None = '0009'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _ts(name: str, *, nullable: bool = True, now: bool = False) -> sa.Column:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable,
                     server_default=sa.text('now()') if now else None)


def upgrade() -> None:
    op.create_geospatial_table('subdistrict',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('code', sa.String(length=64), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('boundary', Geometry(geometry_type='MULTIPOLYGON', srid=4326, dimension=2, spatial_index=False, from_text='ST_GeomFromEWKT', name='geometry'), nullable=True),
    sa.CheckConstraint('boundary IS NULL OR ST_IsValid(boundary)', name='subdistrict_boundary_valid'),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('code')
    )
    op.create_geospatial_index('idx_subdistrict_boundary', 'subdistrict', ['boundary'], unique=False, postgresql_using='gist', postgresql_ops={})
    op.add_column('community', sa.Column('subdistrict_id', sa.Integer(), nullable=True))
    op.create_foreign_key('community_subdistrict_id_fkey', 'community', 'subdistrict', ['subdistrict_id'], ['id'])
    op.create_index(op.f('ix_community_subdistrict_id'), 'community', ['subdistrict_id'], unique=False)

    op.create_table('staff_account',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('login', sa.String(length=64), nullable=False),
    sa.Column('name', sa.String(length=100), nullable=False),
    sa.Column('password_hash', sa.String(length=200), nullable=False),
    sa.Column('active', sa.Boolean(), server_default='true', nullable=False),
    _ts('created_at', nullable=False, now=True),
    _ts('last_sign_in_at'),
    sa.CheckConstraint('login = lower(login) AND length(login) BETWEEN 3 AND 64', name='staff_account_login'),
    sa.CheckConstraint('length(trim(name)) > 0', name='staff_account_name_nonempty'),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('login')
    )
    op.create_table('account_territory',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('account_id', sa.Integer(), nullable=False),
    sa.Column('level', sa.String(length=16), nullable=False),
    sa.Column('subdistrict_id', sa.Integer(), nullable=True),
    sa.Column('community_id', sa.Integer(), nullable=True),
    sa.CheckConstraint("(level = 'CITY' AND subdistrict_id IS NULL AND community_id IS NULL) OR (level = 'SUBDISTRICT' AND subdistrict_id IS NOT NULL AND community_id IS NULL) OR (level = 'COMMUNITY' AND community_id IS NOT NULL AND subdistrict_id IS NULL)", name='account_territory_level'),
    sa.ForeignKeyConstraint(['account_id'], ['staff_account.id'], ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['community_id'], ['community.id'], ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['subdistrict_id'], ['subdistrict.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_index(op.f('ix_account_territory_account_id'), 'account_territory', ['account_id'], unique=False)
    op.create_index('account_territory_unique', 'account_territory', ['account_id', 'level', sa.text('coalesce(subdistrict_id, 0)'), sa.text('coalesce(community_id, 0)')], unique=True)

    op.create_table('auth_session',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('account_id', sa.Integer(), nullable=True),
    sa.Column('member_id', sa.Integer(), nullable=True),
    _ts('created_at', nullable=False, now=True),
    _ts('revoked_at'),
    sa.Column('revoked_reason', sa.String(length=32), nullable=True),
    sa.CheckConstraint('(account_id IS NULL) <> (member_id IS NULL)', name='auth_session_who'),
    sa.ForeignKeyConstraint(['account_id'], ['staff_account.id'], ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['member_id'], ['member.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_index(op.f('ix_auth_session_account_id'), 'auth_session', ['account_id'], unique=False)
    op.create_index(op.f('ix_auth_session_member_id'), 'auth_session', ['member_id'], unique=False)

    op.create_table('refresh_token',
    sa.Column('id', sa.BigInteger(), nullable=False),
    sa.Column('session_id', sa.Integer(), nullable=False),
    sa.Column('token_hash', sa.String(length=64), nullable=False),
    _ts('issued_at', nullable=False),
    _ts('expires_at', nullable=False),
    _ts('used_at'),
    sa.ForeignKeyConstraint(['session_id'], ['auth_session.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('token_hash')
    )
    op.create_index(op.f('ix_refresh_token_session_id'), 'refresh_token', ['session_id'], unique=False)

    op.create_table('sign_in_code',
    sa.Column('id', sa.BigInteger(), nullable=False),
    sa.Column('phone', sa.String(length=32), nullable=False),
    sa.Column('member_id', sa.Integer(), nullable=True),
    sa.Column('nonce', sa.String(length=64), nullable=False),
    sa.Column('code_hash', sa.String(length=64), nullable=False),
    _ts('created_at', nullable=False),
    _ts('expires_at', nullable=False),
    sa.Column('attempts', sa.Integer(), server_default='0', nullable=False),
    _ts('spent_at'),
    sa.ForeignKeyConstraint(['member_id'], ['member.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('nonce')
    )
    op.create_index('sign_in_code_phone_idx', 'sign_in_code', ['phone', 'id'], unique=False)


def downgrade() -> None:
    op.drop_index('sign_in_code_phone_idx', table_name='sign_in_code')
    op.drop_table('sign_in_code')
    op.drop_index(op.f('ix_refresh_token_session_id'), table_name='refresh_token')
    op.drop_table('refresh_token')
    op.drop_index(op.f('ix_auth_session_member_id'), table_name='auth_session')
    op.drop_index(op.f('ix_auth_session_account_id'), table_name='auth_session')
    op.drop_table('auth_session')
    op.drop_index('account_territory_unique', table_name='account_territory')
    op.drop_index(op.f('ix_account_territory_account_id'), table_name='account_territory')
    op.drop_table('account_territory')
    op.drop_table('staff_account')
    op.drop_index(op.f('ix_community_subdistrict_id'), table_name='community')
    op.drop_constraint('community_subdistrict_id_fkey', 'community', type_='foreignkey')
    op.drop_column('community', 'subdistrict_id')
    op.drop_geospatial_index('idx_subdistrict_boundary', table_name='subdistrict', postgresql_using='gist', column_name='boundary')
    op.drop_geospatial_table('subdistrict')
