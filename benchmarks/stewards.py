"""Members who can be dispatched to, added to a synthetic city (benchmarks/synthetic_city.py)
set-based in SQL, and the points residents report from.

Every building group gets `per_group` ACTIVE stewards living in its buildings: the first has
every skill, so dispatch always finds a candidate and never escalates; each other one has
each skill with probability 0.6 (deterministic, from hashint4extended). Every grid gets one
ACTIVE grid worker.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from typing import Any

import psycopg

from benchmarks.harness.project import ServiceCategory

CATEGORIES = tuple(c.value for c in ServiceCategory)

_STEWARDS = """
INSERT INTO member (code, name, phone, party_member, roles, skills, status, building_id,
                    group_id)
SELECT 'S' || bg.id || '-' || k, '管家' || bg.id || '-' || k,
       '139' || lpad((bg.id * 10 + k)::text, 8, '0'), true, ARRAY['STEWARD'],
       CASE WHEN k = 1 THEN %(categories)s::text[] ELSE ARRAY(
         SELECT c.name FROM unnest(%(categories)s::text[]) WITH ORDINALITY AS c(name, i)
         WHERE (hashint4extended(bg.id * 100 + k, c.i) & 1023) < 614 ORDER BY c.i) END,
       'ACTIVE', home.id, bg.id
FROM building_group bg CROSS JOIN generate_series(1, %(per_group)s) AS k
CROSS JOIN LATERAL (SELECT b.id FROM building b WHERE b.group_id = bg.id ORDER BY b.id
                    OFFSET (k - 1) %% GREATEST(1, (SELECT count(*) FROM building b2
                                                   WHERE b2.group_id = bg.id))
                    LIMIT 1) AS home
"""

_GRID_WORKERS = """
WITH made AS (
  INSERT INTO member (code, name, phone, party_member, roles, skills, status)
  SELECT 'W' || g.id, '网格员' || g.id, '137' || lpad(g.id::text, 8, '0'), true,
         ARRAY['GRID_WORKER'], ARRAY[]::text[], 'ACTIVE'
  FROM grid g RETURNING id, code)
INSERT INTO grid_worker (member_id, grid_id)
SELECT made.id, substr(made.code, 2)::int FROM made
"""


def add_stewards(conninfo: str, per_group: int) -> None:
    """Add the stewards and grid workers; ANALYZE their tables."""
    with psycopg.connect(conninfo) as conn:
        insert_members(conn, per_group=per_group)
        conn.commit()
        conn.execute("ANALYZE member")
        conn.execute("ANALYZE grid_worker")


def insert_members(conn: psycopg.Connection[Any], *, per_group: int) -> None:
    """Insert the stewards and grid workers on `conn` (not committed)."""
    conn.execute(_STEWARDS, {"categories": list(CATEGORIES), "per_group": per_group})
    conn.execute(_GRID_WORKERS)


@dataclass(frozen=True)
class Report:
    """What a resident sends: a category and a point inside a building's footprint."""

    category: str
    lon: float
    lat: float
    building_id: int


def reports(conn: psycopg.Connection[Any], count: int, rng: random.Random) -> list[Report]:
    """`count` reports from random buildings that have a footprint (so coverage resolves to
    that building and its group), in random categories."""
    rows = conn.execute("""
        SELECT id, ST_XMin(footprint), ST_YMin(footprint), ST_XMax(footprint),
               ST_YMax(footprint) FROM building WHERE footprint IS NOT NULL AND group_id
        IS NOT NULL ORDER BY id""").fetchall()
    made = []
    for _ in range(count):
        building_id, west, south, east, north = rng.choice(rows)
        made.append(Report(rng.choice(CATEGORIES),
                           west + (east - west) * rng.uniform(0.05, 0.95),
                           south + (north - south) * rng.uniform(0.05, 0.95),
                           int(building_id)))
    return made
