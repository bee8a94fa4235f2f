"""Indexes for the reads that broke at a larger city (issue #9, point 8).

- building_shape_idx: GiST on COALESCE(footprint, location), the shape mapFeatures' BUILDINGS
  layer filters by box (no index matched that expression, so every box read every building);
- request_event_handed_at_idx: the events that hand a request to a member, by time, for
  requestStats' `dispatched` (the partial condition is domain.requests.queries.HANDED_SQL,
  written out: a migration must not change with the code);
- member_assessment_page_idx: a period's snapshot in the order `assessments` pages it
  (community, rank, member; NULLs last as the sentinel 2147483647).

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-01 10:00:00.000000
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0009'
down_revision: str | None = '0008'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

HANDED = ("kind IN ('DISPATCHED', 'ASSIGNED') OR "
          "(kind = 'ACCEPTED' AND from_status = 'SUBMITTED')")
LAST = 2147483647


def upgrade() -> None:
    op.create_index('building_shape_idx', 'building',
                    [sa.text('COALESCE(footprint, location)')], postgresql_using='gist')
    op.create_index('request_event_handed_at_idx', 'request_event', ['at', 'request_id'],
                    postgresql_where=sa.text(HANDED))
    op.create_index('member_assessment_page_idx', 'member_assessment',
                    ['period', sa.text(f'COALESCE(community_id, {LAST})'),
                     sa.text(f'COALESCE(rank, {LAST})'), 'member_id'])


def downgrade() -> None:
    op.drop_index('member_assessment_page_idx', table_name='member_assessment')
    op.drop_index('request_event_handed_at_idx', table_name='request_event')
    op.drop_index('building_shape_idx', table_name='building')
