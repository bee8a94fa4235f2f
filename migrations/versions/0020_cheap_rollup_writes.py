"""Cheaper roll-up triggers (issue #14, point 4): the same counts as 0018's, written with plans
that stay index-bounded however the tables grow.

0018's triggers joined a statement's transition rows to service_request, request_event and
survey with `IN (SELECT ... FROM new_rows)` and plain joins, which leaves the planner free to
hash a whole table for a batch (EXPLAIN of the handing-over statement for 50 events among
3,000 requests: a hash semi-join over all 3,000 of the request index), and PL/pgSQL keeps a
statement's plan for the connection's life, so a plan made on small tables (after the
benchmark's TRUNCATE, or on a new database) stays as they grow. Under the dispatch
benchmark's burst the handing-over trigger took 2.1 ms a call, 2.8 ms of PostgreSQL a
request (pg_stat_user_functions), and the burst stayed under 300/s. Here:

- every lookup from a transition row into a table is a scalar subquery or a LATERAL with
  OFFSET 0 (never pulled up into a join), and the functions run with enable_seqscan off
  (their only scans of a whole relation are of the statement's own transition rows), so a
  lookup is an index probe per row whatever the planner thought of the table's size when
  it made the plan: planned on an empty table (a new database, the benchmark's TRUNCATE), a
  probe would otherwise stay a sequential scan as the table grows (pg_stat_user_tables
  during a burst of 10,000: 5,117 sequential scans of request_event reading 54 million
  rows);
- a request's UPDATE no longer joins old_rows to new_rows to find the changed rows: the old
  rows' counts negated and the new rows' go into one GROUP BY, where an unchanged request
  cancels out (HAVING keeps non-zero differences only); a moved request is found with
  EXCEPT over (id, community_id), a linear hashed set operation.

The functions keep their names and their triggers; downgrade() puts back 0018's text.

Revision ID: 0020
Revises: 0019
Create Date: 2026-12-01 17:40:00.000000
"""
import importlib.util
from collections.abc import Sequence
from pathlib import Path
from types import ModuleType

from alembic import op

revision: str = '0020'
down_revision: str | None = '0019'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _revision_0018() -> ModuleType:
    """0018's module, whose count expressions this revision keeps (a past revision never
    changes, so its text is a stable base)."""
    path = Path(__file__).with_name('0018_stat_rollups.py')
    spec = importlib.util.spec_from_file_location('gridsteward_revision_0018', path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


_R = _revision_0018()
HANDED = _R.HANDED
_ZEROS = ", ".join("0" for _ in _R.CATEGORIES)
#: A request's community, probed by primary key from a survey's row `s`.
_COMMUNITY_OF_SURVEY = "(SELECT r.community_id FROM service_request r WHERE r.id = s.request_id)"


def _handed_rows(requests: str, sign: str, events: str = "TRUE") -> str:
    """0018's handing-over rows of the requests `requests` (a relation of (id, community_id)),
    times `sign`, each request's events read through request_event's request_id index."""
    return f"""
      SELECT COALESCE(r.community_id, 0) AS c, e.at AS t,
             COALESCE(date_trunc('hour', lag(e.at) OVER (PARTITION BY e.request_id
                      ORDER BY e.at, e.id), 'UTC'), '-infinity') AS prev,
             0, 0, 0, 0, 0, {sign}, {_ZEROS}
      FROM ({requests}) AS r (id, community_id)
      CROSS JOIN LATERAL (SELECT e.id, e.at, e.request_id FROM request_event e
                          WHERE e.request_id = r.id AND {HANDED.format(e='e')}
                          OFFSET 0) AS e
      WHERE {events}"""


def _survey_counts(sign: str) -> str:
    """0018's counts of one sent survey `s`, times `sign`."""
    answered = "(s.status = 'ANSWERED')"
    return f"""{sign} AS sent,
             {sign} * {answered}::int, {sign} * ({answered} AND s.score IS NOT NULL)::int,
             {sign} * CASE WHEN {answered} THEN COALESCE(s.score, 0) ELSE 0 END,
             {sign} * ({answered} AND s.score >= 4)::int,
             {sign} * ({answered} AND s.resolved IS NOT FALSE)::int"""


def _survey_rows(surveys: str, sign: str) -> str:
    """0018's counts of the survey rows `surveys`, their community probed by key."""
    return f"""
      SELECT COALESCE({_COMMUNITY_OF_SURVEY}, 0) AS c, s.sent_at AS t, {_survey_counts(sign)}
      FROM {surveys} s
      WHERE s.sent_at IS NOT NULL"""


def _moved_surveys(requests: str, sign: str) -> str:
    """The counts of the surveys of requests `requests` ((id, community_id)) in that
    community: what a moved request's survey takes out of one community and into another."""
    return f"""
      SELECT COALESCE(r.community_id, 0) AS c, s.sent_at AS t, {_survey_counts(sign)}
      FROM ({requests}) AS r (id, community_id)
      CROSS JOIN LATERAL (SELECT s.* FROM survey s WHERE s.request_id = r.id OFFSET 0) AS s
      WHERE s.sent_at IS NOT NULL"""


#: The requests of a statement whose community changed: their (id, community) before it,
#: and after it.
_MOVED_FROM = "SELECT id, community_id FROM old_rows EXCEPT SELECT id, community_id FROM new_rows"
_MOVED_TO = "SELECT id, community_id FROM new_rows EXCEPT SELECT id, community_id FROM old_rows"
#: The distinct requests of a statement's new handing-over events, with their community.
_HANDED_REQUESTS = f"""
      SELECT n.request_id,
             (SELECT r.community_id FROM service_request r WHERE r.id = n.request_id)
      FROM (SELECT DISTINCT n.request_id FROM new_rows n WHERE {HANDED.format(e='n')}) AS n"""

def _function(name: str, statement: str) -> str:
    """A statement-level trigger function that runs `statement`."""
    return f"""
CREATE OR REPLACE FUNCTION {name}() RETURNS trigger LANGUAGE plpgsql
  SET enable_seqscan = off AS $$
BEGIN
  {statement};
  RETURN NULL;
END $$;
"""


FUNCTIONS = f"""
CREATE OR REPLACE FUNCTION rollup_request_update() RETURNS trigger LANGUAGE plpgsql
  SET enable_seqscan = off AS $$
BEGIN
  -- unchanged requests cancel out in the GROUP BY; only differences are inserted
  {_R._insert_requests(_R._request_rows('old_rows', '-1') + ' UNION ALL '
                       + _R._request_rows('new_rows', '1'))};
  -- a request moved to another community takes its events and its survey along
  IF EXISTS ({_MOVED_FROM}) THEN
    {_R._insert_requests(_handed_rows(_MOVED_FROM, '-1') + ' UNION ALL '
                         + _handed_rows(_MOVED_TO, '1'))};
    {_R._insert_surveys(_moved_surveys(_MOVED_FROM, '-1') + ' UNION ALL '
                        + _moved_surveys(_MOVED_TO, '1'))};
  END IF;
  RETURN NULL;
END $$;

-- A statement's new handing-over events: the counts of their requests' events after it,
-- less those before it (an event written out of time order changes its successor's
-- previous hour).
CREATE OR REPLACE FUNCTION rollup_event_insert() RETURNS trigger LANGUAGE plpgsql
  SET enable_seqscan = off AS $$
BEGIN
  IF NOT EXISTS (SELECT 1 FROM new_rows n WHERE {HANDED.format(e='n')}) THEN
    RETURN NULL;
  END IF;
  {_R._insert_requests(
      _handed_rows(_HANDED_REQUESTS, '1') + ' UNION ALL '
      + _handed_rows(_HANDED_REQUESTS, '-1', "e.id NOT IN (SELECT n.id FROM new_rows n)"))};
  RETURN NULL;
END $$;

{_function('rollup_survey_insert', _R._insert_surveys(_survey_rows('new_rows', '1')))}
{_function('rollup_survey_update', _R._insert_surveys(
    _survey_rows('old_rows', '-1') + ' UNION ALL ' + _survey_rows('new_rows', '1')))}
{_function('rollup_survey_delete', _R._insert_surveys(_survey_rows('old_rows', '-1')))}
"""

_REPLACED = ('rollup_request_update', 'rollup_event_insert', 'rollup_survey_insert',
             'rollup_survey_update', 'rollup_survey_delete')


def _functions_of_0018() -> str:
    """0018's text of the functions this revision replaces, as CREATE OR REPLACE."""
    chunks = _R.FUNCTIONS.split('CREATE FUNCTION ')
    kept = [c for c in chunks[1:] if c.split('(', 1)[0] in _REPLACED]
    return ''.join('CREATE OR REPLACE FUNCTION ' + c for c in kept)


def upgrade() -> None:
    op.execute(FUNCTIONS)


def downgrade() -> None:
    op.execute(_functions_of_0018())
