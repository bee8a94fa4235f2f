"""Fuzzy address look-ups through a GIN trigram index on building.address_key.

The fuzzy statement filters with pg_trgm's `%` and orders by similarity; a GIN index answers
it in about a millisecond on 100,000 buildings. The GiST trigram index goes: no statement
orders by `<->` any more, and the planner preferred it for `%` although it took ~30 ms.

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-24 00:10:00.000000
"""
from collections.abc import Sequence

from alembic import op

revision: str = '0006'
down_revision: str | None = '0005'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index('building_address_key_gin', 'building', ['address_key'], unique=False,
                    postgresql_using='gin', postgresql_ops={'address_key': 'gin_trgm_ops'})
    op.drop_index('building_address_key_trgm', table_name='building')


def downgrade() -> None:
    op.create_index('building_address_key_trgm', 'building', ['address_key'], unique=False,
                    postgresql_using='gist', postgresql_ops={'address_key': 'gist_trgm_ops'})
    op.drop_index('building_address_key_gin', table_name='building')
