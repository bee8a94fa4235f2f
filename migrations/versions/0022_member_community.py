"""member_community: the communities each member belongs to, kept by triggers (issue #14,
point 5).

The visibility rule of members for staff of territories (domain.visibility, Kind.MEMBER) is
"the members of the territory's grids": by their building group's grid, their home
building's grid, or a grid they serve as grid worker. Written from the territory down it was
a UNION of index look-ups through the territory's grids, groups and buildings (2,500 look-ups
for one community, ten times that for a subdistrict: ~150 ms at 280,000 members); with this
table it is one index range of (community_id, member_id).

- member_community (community_id, member_id, placed): one row a member and community;
  `placed` when through the group or grid work (what `members(scope: {communityId})` lists),
  false when through the home building only;
- member_community_refresh(ids): the rows of those members computed afresh (their rows
  locked first, so two writers refreshing one member take turns);
- triggers, only when what decides a member's communities changes: a statement's inserted
  members and its grid_worker rows (INSERT, UPDATE, DELETE; a TRUNCATE rebuilds), one
  refresh a statement of its transition rows (28,000 members inserted row by row took 36 s);
  row by row, member (UPDATE of group_id or building_id), building and building_group
  (UPDATE of grid_id: their members and residents), grid (UPDATE of community_id: the
  members of its groups, homes and grid work).
  A member's DELETE takes their rows by the foreign key's cascade; buildings, groups and
  grids with members cannot be deleted (member's foreign keys), and a grid's grid workers go
  with it (a cascade, through grid_worker's DELETE trigger);
- member_community_rebuild(): every row afresh; the backfill here, and what a load that
  skipped the triggers (session_replication_role = replica: benchmarks/city_build.py) runs.

The functions run with enable_seqscan off, as 0020's: a plan made on small tables must not
stay a sequential scan as they grow.

Revision ID: 0022
Revises: 0020
Create Date: 2026-12-01 20:20:00.000000
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0022'
down_revision: str | None = '0020'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _rows(member: str, worker: str) -> str:
    """Each member's communities, as (community_id, member_id, placed), for the members that
    `member` (on member m) and `worker` (on grid_worker gw) keep."""
    return f"""
  SELECT community_id, member_id, bool_or(placed) FROM (
    SELECT g.community_id, m.id AS member_id, true AS placed FROM member m
      JOIN building_group bg ON bg.id = m.group_id JOIN grid g ON g.id = bg.grid_id
      WHERE {member}
    UNION ALL
    SELECT g.community_id, m.id, false FROM member m
      JOIN building b ON b.id = m.building_id JOIN grid g ON g.id = b.grid_id
      WHERE {member}
    UNION ALL
    SELECT g.community_id, gw.member_id, true FROM grid_worker gw
      JOIN grid g ON g.id = gw.grid_id
      WHERE {worker}) AS s
  GROUP BY community_id, member_id"""


FUNCTIONS = f"""
CREATE FUNCTION member_community_refresh(ids integer[]) RETURNS void LANGUAGE sql
SET enable_seqscan = off AS $$
  SELECT 1 FROM member WHERE id = ANY(ids) ORDER BY id FOR NO KEY UPDATE;
  DELETE FROM member_community WHERE member_id = ANY(ids);
  INSERT INTO member_community (community_id, member_id, placed)
  {_rows('m.id = ANY(ids)', 'gw.member_id = ANY(ids)')}
  ON CONFLICT (community_id, member_id) DO UPDATE SET placed = EXCLUDED.placed;
$$;

CREATE FUNCTION member_community_rebuild() RETURNS void LANGUAGE plpgsql AS $$
BEGIN
  LOCK TABLE member_community IN EXCLUSIVE MODE;
  -- DELETE, not TRUNCATE: a TRUNCATE of the tables the rows come from runs this.
  DELETE FROM member_community;
  INSERT INTO member_community (community_id, member_id, placed)
  {_rows('true', 'true')};
END $$;

CREATE FUNCTION member_community_of_member() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  PERFORM member_community_refresh(ARRAY[NEW.id]);
  RETURN NULL;
END $$;

-- Inserts (and grid_worker's writes) come in batches (imports, a grid's workers replaced, a
-- benchmark's members): one refresh a statement, of its transition rows.
CREATE FUNCTION member_community_of_new_members() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  PERFORM member_community_refresh(ARRAY(SELECT n.id FROM new_rows n
                                         WHERE n.group_id IS NOT NULL
                                            OR n.building_id IS NOT NULL));
  RETURN NULL;
END $$;

CREATE FUNCTION member_community_of_workers() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP = 'TRUNCATE' THEN
    PERFORM member_community_rebuild();
  ELSIF TG_OP = 'INSERT' THEN
    PERFORM member_community_refresh(ARRAY(SELECT DISTINCT n.member_id FROM new_rows n));
  ELSIF TG_OP = 'DELETE' THEN
    PERFORM member_community_refresh(ARRAY(SELECT DISTINCT o.member_id FROM old_rows o));
  ELSE
    PERFORM member_community_refresh(ARRAY(SELECT o.member_id FROM old_rows o
                                           UNION SELECT n.member_id FROM new_rows n));
  END IF;
  RETURN NULL;
END $$;

CREATE FUNCTION member_community_of_place() RETURNS trigger LANGUAGE plpgsql
SET enable_seqscan = off AS $$
BEGIN
  IF TG_TABLE_NAME = 'building' THEN
    PERFORM member_community_refresh(ARRAY(SELECT m.id FROM member m
                                           WHERE m.building_id = NEW.id));
  ELSIF TG_TABLE_NAME = 'building_group' THEN
    PERFORM member_community_refresh(ARRAY(SELECT m.id FROM member m WHERE m.group_id = NEW.id));
  ELSE
    PERFORM member_community_refresh(ARRAY(
      SELECT m.id FROM member m WHERE m.group_id IN (SELECT bg.id FROM building_group bg
                                                     WHERE bg.grid_id = NEW.id)
      UNION SELECT m.id FROM member m WHERE m.building_id IN (SELECT b.id FROM building b
                                                              WHERE b.grid_id = NEW.id)
      UNION SELECT gw.member_id FROM grid_worker gw WHERE gw.grid_id = NEW.id));
  END IF;
  RETURN NULL;
END $$;
"""

TRIGGERS = """
CREATE TRIGGER member_community_insert AFTER INSERT ON member REFERENCING NEW TABLE AS new_rows
  FOR EACH STATEMENT EXECUTE FUNCTION member_community_of_new_members();
CREATE TRIGGER member_community_update AFTER UPDATE OF group_id, building_id ON member
  FOR EACH ROW WHEN (OLD.group_id IS DISTINCT FROM NEW.group_id
                     OR OLD.building_id IS DISTINCT FROM NEW.building_id)
  EXECUTE FUNCTION member_community_of_member();
CREATE TRIGGER member_community_insert AFTER INSERT ON grid_worker
  REFERENCING NEW TABLE AS new_rows
  FOR EACH STATEMENT EXECUTE FUNCTION member_community_of_workers();
CREATE TRIGGER member_community_update AFTER UPDATE ON grid_worker
  REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
  FOR EACH STATEMENT EXECUTE FUNCTION member_community_of_workers();
CREATE TRIGGER member_community_delete AFTER DELETE ON grid_worker
  REFERENCING OLD TABLE AS old_rows
  FOR EACH STATEMENT EXECUTE FUNCTION member_community_of_workers();
CREATE TRIGGER member_community_truncate AFTER TRUNCATE ON grid_worker
  FOR EACH STATEMENT EXECUTE FUNCTION member_community_of_workers();
CREATE TRIGGER member_community_move AFTER UPDATE OF grid_id ON building FOR EACH ROW
  WHEN (OLD.grid_id IS DISTINCT FROM NEW.grid_id) EXECUTE FUNCTION member_community_of_place();
CREATE TRIGGER member_community_move AFTER UPDATE OF grid_id ON building_group FOR EACH ROW
  WHEN (OLD.grid_id IS DISTINCT FROM NEW.grid_id) EXECUTE FUNCTION member_community_of_place();
CREATE TRIGGER member_community_move AFTER UPDATE OF community_id ON grid FOR EACH ROW
  WHEN (OLD.community_id IS DISTINCT FROM NEW.community_id)
  EXECUTE FUNCTION member_community_of_place();
"""

DROP = """
DROP TRIGGER member_community_move ON grid;
DROP TRIGGER member_community_move ON building_group;
DROP TRIGGER member_community_move ON building;
DROP TRIGGER member_community_truncate ON grid_worker;
DROP TRIGGER member_community_delete ON grid_worker;
DROP TRIGGER member_community_update ON grid_worker;
DROP TRIGGER member_community_insert ON grid_worker;
DROP TRIGGER member_community_update ON member;
DROP TRIGGER member_community_insert ON member;
DROP FUNCTION member_community_of_place();
DROP FUNCTION member_community_of_workers();
DROP FUNCTION member_community_of_new_members();
DROP FUNCTION member_community_of_member();
DROP FUNCTION member_community_rebuild();
DROP FUNCTION member_community_refresh(integer[]);
"""


def upgrade() -> None:
    op.create_table(
        'member_community',
        sa.Column('community_id', sa.Integer(), nullable=False),
        sa.Column('member_id', sa.Integer(), nullable=False),
        sa.Column('placed', sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(['community_id'], ['community.id'], ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['member_id'], ['member.id'], ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('community_id', 'member_id'))
    op.create_index('member_community_member_idx', 'member_community', ['member_id'])
    op.execute(FUNCTIONS)
    op.execute(TRIGGERS)
    op.execute("SELECT member_community_rebuild()")


def downgrade() -> None:
    op.execute(DROP)
    op.drop_index('member_community_member_idx', table_name='member_community')
    op.drop_table('member_community')
