"""Rate limits: the token buckets of RATE_LIMIT_STORE=postgres, an UNLOGGED table, and the
function that takes a token from several buckets at once, all or none (issue 10, point 6).

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-01 11:00:00.000000
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0013'
down_revision: str | None = '0012'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# (which, wait): 0 and 0 when a token was taken from every bucket; else the 1-based index of
# the bucket that refuses longest and the seconds until it holds a token. Rows are locked in
# key order; one in a thousand calls deletes up to 500 buckets that are full again (skipping
# those another call holds).
TAKE = """
CREATE OR REPLACE FUNCTION rate_limit_take(keys text[], counts float8[], rates float8[],
                                           now float8, OUT which int, OUT wait float8)
LANGUAGE plpgsql AS $$
DECLARE
  levels float8[] := '{}';
  level float8;
BEGIN
  which := 0;
  wait := 0;
  PERFORM 1 FROM rate_limit_bucket WHERE key = ANY(keys) ORDER BY key FOR UPDATE;
  FOR i IN 1 .. cardinality(keys) LOOP
    SELECT LEAST(counts[i], b.tokens + GREATEST(0, now - b.at) * rates[i]) INTO level
      FROM rate_limit_bucket b WHERE b.key = keys[i];
    level := COALESCE(level, counts[i]);
    levels := levels || level;
    IF level < 1 AND (1 - level) / rates[i] > wait THEN
      which := i;
      wait := (1 - level) / rates[i];
    END IF;
  END LOOP;
  IF which > 0 THEN
    RETURN;
  END IF;
  FOR i IN 1 .. cardinality(keys) LOOP
    INSERT INTO rate_limit_bucket AS b (key, tokens, at, expires)
      VALUES (keys[i], levels[i] - 1, now, now + counts[i] / rates[i])
      ON CONFLICT (key) DO UPDATE SET tokens = EXCLUDED.tokens, at = EXCLUDED.at,
                                      expires = EXCLUDED.expires;
  END LOOP;
  IF random() < 0.001 THEN
    DELETE FROM rate_limit_bucket WHERE key IN (
      SELECT key FROM rate_limit_bucket WHERE expires < now LIMIT 500 FOR UPDATE SKIP LOCKED);
  END IF;
END $$;
"""


def upgrade() -> None:
    op.create_table('rate_limit_bucket',
    sa.Column('key', sa.String(length=200), nullable=False),
    sa.Column('tokens', sa.Float(), nullable=False),
    sa.Column('at', sa.Float(), nullable=False),
    sa.Column('expires', sa.Float(), nullable=False),
    sa.PrimaryKeyConstraint('key'),
    prefixes=['UNLOGGED'],
    )
    op.execute(TAKE)


def downgrade() -> None:
    op.execute('DROP FUNCTION IF EXISTS rate_limit_take(text[], float8[], float8[], float8)')
    op.drop_table('rate_limit_bucket')
