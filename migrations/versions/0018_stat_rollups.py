"""Roll-ups for requestStats and satisfaction (issue 14, point 5): request_rollup and
survey_rollup, counts by community and time bucket (a UTC hour, a day and a month in China time),
kept up to date by statement-level triggers on service_request, request_event and survey,
and filled here from the existing rows (set-based).

The triggers only ever INSERT rows of differences (an update adds the old row's counts
negated and the new row's), so concurrent writers never wait for one another on a hot
counter row; the worker's `roll-up compaction` (domain.buckets.compact) folds those
rows into one per key. Readers sum every row of a key, compacted or not. Indexes on
submitted_at, completed_at and sent_at bound the exact reads of a window's ragged edges.

Revision ID: 0018
Revises: 0016
Create Date: 2026-12-01 15:30:00.000000
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0018'
down_revision: str | None = '0016'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

#: As in this revision (domain.spatial.models.ServiceCategory); a new category needs a column.
CATEGORIES = ('MAINTENANCE', 'ASSISTANCE', 'CONSULTATION', 'CULTURE', 'EMERGENCY', 'MEDIATION')
REQUEST_COUNTS = ('submitted', 'fallback', 'late', 'open', 'completed', 'handed',
                  *(f'cat_{c.lower()}' for c in CATEGORIES))
SURVEY_COUNTS = ('sent', 'answered', 'scored', 'score_sum', 'satisfied', 'resolved')
RUNNING = "('SUBMITTED','DISPATCHED','ACCEPTED','IN_PROGRESS')"
HANDED = ("({e}.kind IN ('DISPATCHED', 'ASSIGNED') OR "
          "({e}.kind = 'ACCEPTED' AND {e}.from_status = 'SUBMITTED'))")
#: The grains of a time `t`: 1, the UTC hour; 2, the day in China time (its midnight);
#: 3, the month in China time.
BUCKETS = ("CROSS JOIN LATERAL (VALUES (1::smallint, date_trunc('hour', x.t, 'UTC')), "
           "(2::smallint, date_trunc('day', x.t, 'Asia/Shanghai')), "
           "(3::smallint, date_trunc('month', x.t, 'Asia/Shanghai'))) AS g(grain, bucket)")
#: A handing-over whose previous one falls in the same bucket is never the first of a
#: window that reads the bucket whole (a window reads a bucket only if it starts at or
#: before the bucket): it adds nothing to that grain, and `prev` is kept only when earlier.
_FIRST = "x.prev < g.bucket"


def _request_rows(rel: str, sign: str) -> str:
    """The counts one set of service_request rows `rel` contributes, times `sign`: at its
    submission (submitted, fallback, late, open, its category) and at its completion."""
    late = "(r.overdue OR COALESCE(r.completed_at > r.due_at, false))"
    cats = ", ".join(f"{sign} * (r.category = '{c}')::int" for c in CATEGORIES)
    zeros = ", ".join("0" for _ in CATEGORIES)
    return f"""
      SELECT COALESCE(r.community_id, 0) AS c, r.submitted_at AS t,
             '-infinity'::timestamptz AS prev, {sign} AS submitted,
             {sign} * r.due_fallback::int AS fallback, {sign} * {late}::int AS late,
             {sign} * (r.status IN {RUNNING} AND NOT {late})::int AS open,
             0 AS completed, 0 AS handed, {cats}
      FROM {rel} r
      UNION ALL
      SELECT COALESCE(r.community_id, 0), r.completed_at, '-infinity', 0, 0, 0, 0, {sign}, 0,
             {zeros}
      FROM {rel} r WHERE r.status IN ('COMPLETED', 'CLOSED') AND r.completed_at IS NOT NULL"""


def _handed_rows(requests: str, sign: str, events: str = "TRUE") -> str:
    """The handing-over events of the requests `requests` (service_request rows, with their
    community), times `sign`, each with the UTC hour of the request's previous one
    ('-infinity' for its first): counting those whose previous one is before a window's
    start counts every request handed over in the window once. `events` narrows the events
    (the state before a statement)."""
    zeros = ", ".join("0" for _ in CATEGORIES)
    return f"""
      SELECT COALESCE(r.community_id, 0) AS c, e.at AS t,
             COALESCE(date_trunc('hour', lag(e.at) OVER (PARTITION BY e.request_id
                      ORDER BY e.at, e.id), 'UTC'), '-infinity') AS prev,
             0, 0, 0, 0, 0, {sign}, {zeros}
      FROM request_event e JOIN {requests} r ON r.id = e.request_id
      WHERE {HANDED.format(e='e')} AND {events}"""


def _insert_requests(rows: str, fresh: str = "true") -> str:
    cols = ", ".join(REQUEST_COUNTS)
    totals = [f"sum(CASE WHEN {_FIRST} THEN x.handed ELSE 0 END)" if c == "handed"
              else f"sum(x.{c})" for c in REQUEST_COUNTS]
    sums, nonzero = ", ".join(totals), " OR ".join(f"{t} <> 0" for t in totals)
    prev = f"CASE WHEN {_FIRST} THEN x.prev ELSE '-infinity' END"
    return f"""
      INSERT INTO request_rollup (grain, community_id, bucket, prev, fresh, {cols})
      SELECT g.grain, x.c, g.bucket, {prev}, {fresh}, {sums}
      FROM ({rows}) AS x (c, t, prev, {cols}) {BUCKETS}
      GROUP BY g.grain, x.c, g.bucket, {prev} HAVING {nonzero}"""


def _survey_rows(rel: str, sign: str) -> str:
    """The counts of survey rows `rel` (sent ones), at sent_at, in their request's
    community, times `sign`."""
    answered = "(s.status = 'ANSWERED')"
    return f"""
      SELECT COALESCE(r.community_id, 0) AS c, s.sent_at AS t, {sign} AS sent,
             {sign} * {answered}::int, {sign} * ({answered} AND s.score IS NOT NULL)::int,
             {sign} * CASE WHEN {answered} THEN COALESCE(s.score, 0) ELSE 0 END,
             {sign} * ({answered} AND s.score >= 4)::int,
             {sign} * ({answered} AND s.resolved IS NOT FALSE)::int
      FROM {rel} s JOIN service_request r ON r.id = s.request_id
      WHERE s.sent_at IS NOT NULL"""


def _insert_surveys(rows: str, fresh: str = "true") -> str:
    cols = ", ".join(SURVEY_COUNTS)
    sums = ", ".join(f"sum(x.{c})" for c in SURVEY_COUNTS)
    nonzero = " OR ".join(f"sum(x.{c}) <> 0" for c in SURVEY_COUNTS)
    return f"""
      INSERT INTO survey_rollup (grain, community_id, bucket, fresh, {cols})
      SELECT g.grain, x.c, g.bucket, {fresh}, {sums}
      FROM ({rows}) AS x (c, t, {cols}) {BUCKETS}
      GROUP BY g.grain, x.c, g.bucket HAVING {nonzero}"""


#: The columns whose change moves a request's counts.
_WATCHED = ("community_id", "submitted_at", "status", "overdue", "completed_at", "due_at",
            "due_fallback", "category")
_CHANGED = " OR ".join(f"o.{c} IS DISTINCT FROM n.{c}" for c in _WATCHED)

FUNCTIONS = f"""
CREATE FUNCTION rollup_request_insert() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  {_insert_requests(_request_rows('new_rows', '1'))};
  RETURN NULL;
END $$;

CREATE FUNCTION rollup_request_update() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  {_insert_requests(_request_rows(
      f'(SELECT o.* FROM old_rows o JOIN new_rows n ON n.id = o.id WHERE {_CHANGED})', '-1')
      + ' UNION ALL ' + _request_rows(
      f'(SELECT n.* FROM old_rows o JOIN new_rows n ON n.id = o.id WHERE {_CHANGED})', '1'))};
  -- a request moved to another community takes its events and its survey along
  IF EXISTS (SELECT 1 FROM old_rows o JOIN new_rows n ON n.id = o.id
             WHERE o.community_id IS DISTINCT FROM n.community_id) THEN
    {_insert_requests(
        _handed_rows('(SELECT o.* FROM old_rows o JOIN new_rows n ON n.id = o.id WHERE '
                     'o.community_id IS DISTINCT FROM n.community_id)', '-1')
        + ' UNION ALL ' +
        _handed_rows('(SELECT n.* FROM old_rows o JOIN new_rows n ON n.id = o.id WHERE '
                     'o.community_id IS DISTINCT FROM n.community_id)', '1'))};
    {_insert_surveys(
        _survey_rows('survey', '-1').replace(
            'JOIN service_request r ON r.id = s.request_id',
            'JOIN (SELECT o.* FROM old_rows o JOIN new_rows n ON n.id = o.id WHERE '
            'o.community_id IS DISTINCT FROM n.community_id) r ON r.id = s.request_id')
        + ' UNION ALL ' +
        _survey_rows('survey', '1').replace(
            'JOIN service_request r ON r.id = s.request_id',
            'JOIN (SELECT n.* FROM old_rows o JOIN new_rows n ON n.id = o.id WHERE '
            'o.community_id IS DISTINCT FROM n.community_id) r ON r.id = s.request_id'))};
  END IF;
  RETURN NULL;
END $$;

CREATE FUNCTION rollup_request_delete() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  {_insert_requests(_request_rows('old_rows', '-1'))};
  RETURN NULL;
END $$;

-- A statement's new handing-over events: the counts of their requests' events after it,
-- less those before it (an event written out of time order changes its successor's
-- previous hour).
CREATE FUNCTION rollup_event_insert() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF NOT EXISTS (SELECT 1 FROM new_rows n WHERE {HANDED.format(e='n')}) THEN
    RETURN NULL;
  END IF;
  {_insert_requests(
      _handed_rows(f"(SELECT * FROM service_request WHERE id IN (SELECT n.request_id FROM "
                   f"new_rows n WHERE {HANDED.format(e='n')}))", '1')
      + ' UNION ALL ' +
      _handed_rows(f"(SELECT * FROM service_request WHERE id IN (SELECT n.request_id FROM "
                   f"new_rows n WHERE {HANDED.format(e='n')}))", '-1',
                   "e.id NOT IN (SELECT n.id FROM new_rows n)"))};
  RETURN NULL;
END $$;

CREATE FUNCTION rollup_survey_insert() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  {_insert_surveys(_survey_rows('new_rows', '1'))};
  RETURN NULL;
END $$;

CREATE FUNCTION rollup_survey_update() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  {_insert_surveys(_survey_rows('old_rows', '-1') + ' UNION ALL ' +
                   _survey_rows('new_rows', '1'))};
  RETURN NULL;
END $$;

CREATE FUNCTION rollup_survey_delete() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  {_insert_surveys(_survey_rows('old_rows', '-1'))};
  RETURN NULL;
END $$;

-- Emptying a table empties what it contributed (the tests empty every table this way).
CREATE FUNCTION rollup_truncate() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF TG_TABLE_NAME = 'service_request' THEN
    TRUNCATE request_rollup, survey_rollup;
  ELSIF TG_TABLE_NAME = 'survey' THEN
    TRUNCATE survey_rollup;
  ELSE
    DELETE FROM request_rollup WHERE prev <> '-infinity';
    UPDATE request_rollup SET handed = 0 WHERE handed <> 0;
  END IF;
  RETURN NULL;
END $$;
"""

#: The roll-ups computed afresh from every row, compacted (one row a key): the migration's
#: backfill, and what a bulk load that skipped the triggers (session_replication_role =
#: replica, as benchmarks/city_history.py loads) runs after it.
REBUILD = f"""
CREATE FUNCTION rollup_rebuild() RETURNS void LANGUAGE plpgsql AS $$
BEGIN
  LOCK TABLE request_rollup, survey_rollup IN EXCLUSIVE MODE;
  TRUNCATE request_rollup, survey_rollup;
  {_insert_requests(_request_rows('service_request', '1') + ' UNION ALL ' +
                    _handed_rows('service_request', '1'), fresh='false')};
  {_insert_surveys(_survey_rows('survey', '1'), fresh='false')};
END $$;
"""

TRIGGERS = """
CREATE TRIGGER rollup_insert AFTER INSERT ON service_request
  REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION rollup_request_insert();
CREATE TRIGGER rollup_update AFTER UPDATE ON service_request
  REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
  FOR EACH STATEMENT EXECUTE FUNCTION rollup_request_update();
CREATE TRIGGER rollup_delete AFTER DELETE ON service_request
  REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION rollup_request_delete();
CREATE TRIGGER rollup_insert AFTER INSERT ON request_event
  REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION rollup_event_insert();
CREATE TRIGGER rollup_insert AFTER INSERT ON survey
  REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION rollup_survey_insert();
CREATE TRIGGER rollup_update AFTER UPDATE ON survey
  REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
  FOR EACH STATEMENT EXECUTE FUNCTION rollup_survey_update();
CREATE TRIGGER rollup_delete AFTER DELETE ON survey
  REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION rollup_survey_delete();
CREATE TRIGGER rollup_truncate AFTER TRUNCATE ON service_request
  FOR EACH STATEMENT EXECUTE FUNCTION rollup_truncate();
CREATE TRIGGER rollup_truncate AFTER TRUNCATE ON request_event
  FOR EACH STATEMENT EXECUTE FUNCTION rollup_truncate();
CREATE TRIGGER rollup_truncate AFTER TRUNCATE ON survey
  FOR EACH STATEMENT EXECUTE FUNCTION rollup_truncate();
"""


def _counts(names: Sequence[str]) -> list[sa.Column]:  # type: ignore[type-arg]
    return [sa.Column(n, sa.Integer(), server_default='0', nullable=False) for n in names]


def upgrade() -> None:
    op.create_table(
        'request_rollup',
        sa.Column('id', sa.BigInteger(), nullable=False),
        sa.Column('grain', sa.SmallInteger(), nullable=False),
        sa.Column('community_id', sa.Integer(), nullable=False),
        sa.Column('bucket', sa.DateTime(timezone=True), nullable=False),
        sa.Column('prev', sa.DateTime(timezone=True), server_default=sa.text("'-infinity'"),
                  nullable=False),
        sa.Column('fresh', sa.Boolean(), server_default='true', nullable=False),
        *_counts(REQUEST_COUNTS),
        sa.PrimaryKeyConstraint('id'))
    op.create_index('request_rollup_key_idx', 'request_rollup',
                    ['grain', 'community_id', 'bucket', 'prev'])
    op.create_index('request_rollup_bucket_idx', 'request_rollup', ['grain', 'bucket'])
    op.create_index('request_rollup_fresh_idx', 'request_rollup', ['id'],
                    postgresql_where=sa.text('fresh'))
    op.create_table(
        'survey_rollup',
        sa.Column('id', sa.BigInteger(), nullable=False),
        sa.Column('grain', sa.SmallInteger(), nullable=False),
        sa.Column('community_id', sa.Integer(), nullable=False),
        sa.Column('bucket', sa.DateTime(timezone=True), nullable=False),
        sa.Column('fresh', sa.Boolean(), server_default='true', nullable=False),
        *_counts(SURVEY_COUNTS),
        sa.PrimaryKeyConstraint('id'))
    op.create_index('survey_rollup_key_idx', 'survey_rollup',
                    ['grain', 'community_id', 'bucket'])
    op.create_index('survey_rollup_bucket_idx', 'survey_rollup', ['grain', 'bucket'])
    op.create_index('survey_rollup_fresh_idx', 'survey_rollup', ['id'],
                    postgresql_where=sa.text('fresh'))
    # the exact reads of a window's edges (less than an hour each side)
    op.create_index('request_submitted_at_idx', 'service_request', ['submitted_at'])
    op.create_index('request_done_at_idx', 'service_request', ['completed_at'],
                    postgresql_where=sa.text("status IN ('COMPLETED', 'CLOSED')"))
    op.create_index('survey_sent_at_idx', 'survey', ['sent_at'])
    op.execute(FUNCTIONS)
    op.execute(REBUILD)
    op.execute(TRIGGERS)
    op.execute("SELECT rollup_rebuild()")  # the backfill


def downgrade() -> None:
    for table in ('service_request', 'request_event', 'survey'):
        op.execute(f"DROP TRIGGER IF EXISTS rollup_insert ON {table}")
        op.execute(f"DROP TRIGGER IF EXISTS rollup_update ON {table}")
        op.execute(f"DROP TRIGGER IF EXISTS rollup_delete ON {table}")
        op.execute(f"DROP TRIGGER IF EXISTS rollup_truncate ON {table}")
    for function in ('rollup_request_insert', 'rollup_request_update', 'rollup_request_delete',
                     'rollup_event_insert', 'rollup_survey_insert', 'rollup_survey_update',
                     'rollup_survey_delete', 'rollup_truncate', 'rollup_rebuild'):
        op.execute(f"DROP FUNCTION IF EXISTS {function}()")
    op.drop_index('survey_sent_at_idx', table_name='survey')
    op.drop_index('request_done_at_idx', table_name='service_request')
    op.drop_index('request_submitted_at_idx', table_name='service_request')
    op.drop_table('survey_rollup')
    op.drop_table('request_rollup')
