"""Indexes for the lists that grew with the city (issue #14, point 5).

- building_address_gin, building_name_gin, building_code_gin: trigram GIN indexes on the
  columns `buildings(search:)` compares with ILIKE '%...%' (domain.spatial.directory), beside
  building_address_key_gin (0006) for the normalised address: each arm of the search's OR is
  a bitmap index scan, where before every search read every building (about 0.1 s at 100,000
  buildings, 1 s at a million);
- service_request_community_page_idx: (community_id, id), one community's requests in the
  order serviceRequests pages them, for its staff (domain.requests.queries binds their
  communities as values): a page is an index range instead of a scan of the primary key
  that filters out the rest of the city;
- service_request_open_location_idx: GiST on the location of the open requests only, for the
  OPEN_REQUESTS map layer and the open_requests vector tiles (domain.spatial.tiles), which
  otherwise intersected the box's requests of every status with the status index's
  600,000 open requests of a city of ten million (280 ms a z15 tile, 15 ms with this). The
  statuses are domain.requests.queries.OPEN written out: a migration must not change with
  the code.

Revision ID: 0019
Revises: 0018 (0017 was not used: the helpers' numbers were handed out before the work)
Create Date: 2026-12-01 15:00:00.000000
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0019'
down_revision: str | None = '0018'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

SEARCHED = ('address', 'name', 'code')
OPEN = "status IN ('SUBMITTED', 'DISPATCHED', 'ACCEPTED', 'IN_PROGRESS', 'WAITING_RESIDENT')"


def upgrade() -> None:
    # IF NOT EXISTS: the benchmark cities built while this revision followed 0016 have them.
    for column in SEARCHED:
        op.create_index(f'building_{column}_gin', 'building', [column], unique=False,
                        postgresql_using='gin', postgresql_ops={column: 'gin_trgm_ops'},
                        if_not_exists=True)
    op.create_index('service_request_community_page_idx', 'service_request',
                    ['community_id', 'id'], if_not_exists=True)
    op.create_index('service_request_open_location_idx', 'service_request', ['location'],
                    postgresql_using='gist', postgresql_where=sa.text(OPEN), if_not_exists=True)


def downgrade() -> None:
    op.drop_index('service_request_open_location_idx', table_name='service_request')
    op.drop_index('service_request_community_page_idx', table_name='service_request')
    for column in SEARCHED:
        op.drop_index(f'building_{column}_gin', table_name='building')
