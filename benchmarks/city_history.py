"""A year of service requests, their timelines and surveys, added to a staffed synthetic city
(benchmarks/synthetic_city.py, then benchmarks/stewards.py) set-based in SQL.

Each request is reported at a pseudo-random building at a pseudo-random moment of the
12 months before `end`; its timeline is what the state machine writes: SUBMITTED and LOCATED,
then (unless still waiting) DISPATCHED to the first steward of the building's group, in one
case in five DECLINED and DISPATCHED again, ACCEPTED, and for the 94 % that were served
STARTED and COMPLETED (within 0-72 hours, against a 48-hour limit), CLOSED for four in five
of those once the resident answered the survey (score 1-5). About 7.4 events a request, as
in the larger city of issue #9 (1,000,000 requests, 7.3 million events).

Triggers are skipped while generating (`session_replication_role = replica`): the timeline's
NOTIFY per event is for live screens, and the foreign keys hold by construction; the
statistics' roll-ups, which triggers keep, are rebuilt afterwards (`rollup_rebuild()`,
migration 0018).
"""

from __future__ import annotations

import time
from datetime import datetime
from typing import Any

import psycopg

from benchmarks.harness.project import ServiceCategory
from benchmarks.synthetic_city import _unit, run_steps

CATEGORIES = [c.value for c in ServiceCategory]

_REQUESTS = f"""
INSERT INTO service_request (id, number, category, description, status, location,
    building_id, group_id, grid_id, community_id, assignee_id, submitted_at, due_at,
    dispatched_at, completed_at, updated_at, contact_phone)
SELECT n, 'Y' || lpad(n::text, 9, '0'), (%(categories)s::text[])[1 + n %% %(ncat)s],
       '楼道灯不亮', state.status, b.location, b.id, b.group_id, b.grid_id, g.community_id,
       CASE WHEN state.status <> 'SUBMITTED' THEN steward.id END, t.at,
       t.at + interval '48 hours',
       CASE WHEN state.status <> 'SUBMITTED' THEN t.at + interval '1 minute' END,
       CASE WHEN state.status IN ('COMPLETED', 'CLOSED')
            THEN t.at + {_unit('n', 13)} * interval '72 hours' END,
       t.at, '139' || lpad(n::text, 8, '0')
FROM generate_series(%(lo)s::int, %(hi)s::int) AS n
CROSS JOIN LATERAL (
  SELECT %(end)s::timestamptz - {_unit('n', 11)} * interval '365 days' AS at,
         1 + (hashint4extended(n, 12) & 2147483647) %% %(buildings)s AS building_id,
         {_unit('n', 14)} AS u) AS t
CROSS JOIN LATERAL (SELECT CASE WHEN t.u < 0.03 THEN 'SUBMITTED'
                               WHEN t.u < 0.06 THEN 'ACCEPTED'
                               WHEN t.u < 0.25 THEN 'COMPLETED'
                               ELSE 'CLOSED' END AS status) AS state
JOIN building b ON b.id = t.building_id
JOIN grid g ON g.id = b.grid_id
CROSS JOIN LATERAL (SELECT m.id FROM member m WHERE m.group_id = b.group_id
                    ORDER BY m.id LIMIT 1) AS steward
"""

#: (order, kind, from, to, minutes after submission or NULL for completion time, who)
_STEPS = """(VALUES
  (1, 'SUBMITTED', NULL, 'SUBMITTED', 0, 'any'),
  (2, 'LOCATED', NULL, NULL, 0, 'any'),
  (3, 'DISPATCHED', 'SUBMITTED', 'DISPATCHED', 1, 'handed'),
  (4, 'DECLINED', 'DISPATCHED', 'SUBMITTED', 10, 'declined'),
  (5, 'DISPATCHED', 'SUBMITTED', 'DISPATCHED', 11, 'declined'),
  (6, 'ACCEPTED', 'DISPATCHED', 'ACCEPTED', 20, 'handed'),
  (7, 'STARTED', 'ACCEPTED', 'IN_PROGRESS', 30, 'served'),
  (8, 'COMPLETED', 'IN_PROGRESS', 'COMPLETED', NULL, 'served'),
  (9, 'CLOSED', 'COMPLETED', 'CLOSED', NULL, 'closed')
) AS step(ord, kind, from_status, to_status, minutes, who)"""

_EVENTS = f"""
INSERT INTO request_event (request_id, at, kind, from_status, to_status, actor, member_id)
SELECT r.id, CASE WHEN step.kind = 'CLOSED' THEN r.completed_at + interval '1 day'
                  WHEN step.minutes IS NULL THEN r.completed_at
                  ELSE r.submitted_at + step.minutes * interval '1 minute' END,
       step.kind, step.from_status, step.to_status, 'bench',
       CASE WHEN step.ord >= 3 THEN r.assignee_id END
FROM service_request r CROSS JOIN {_STEPS}
WHERE r.id BETWEEN %(lo)s AND %(hi)s AND (
      step.who = 'any'
   OR (step.who = 'handed' AND r.status <> 'SUBMITTED')
   OR (step.who = 'declined' AND r.status <> 'SUBMITTED' AND {_unit('r.id', 15)} < 0.2)
   OR (step.who = 'served' AND r.status IN ('COMPLETED', 'CLOSED'))
   OR (step.who = 'closed' AND r.status = 'CLOSED'))
ORDER BY r.id, step.ord
"""

_SURVEYS = f"""
INSERT INTO survey (request_id, status, phone, scheduled_for, sent_at, expires_at,
                    answered_at, score, resolved)
SELECT r.id, 'ANSWERED', r.contact_phone, r.completed_at + interval '1 hour',
       r.completed_at + interval '1 hour', r.completed_at + interval '7 days',
       r.completed_at + interval '1 day', 1 + (hashint4extended(r.id, 16) & 2147483647) %% 5,
       {_unit('r.id', 17)} < 0.9
FROM service_request r WHERE r.id BETWEEN %(lo)s AND %(hi)s AND r.status = 'CLOSED'
"""


#: The three steps for the request ids `lo` to `hi` (parameters: `params` and lo, hi), for a
#: build in chunks (benchmarks/city_build.py).
REQUESTS_IN, EVENTS_IN, SURVEYS_IN = _REQUESTS, _EVENTS, _SURVEYS


def params(*, buildings: int, end: datetime) -> dict[str, Any]:
    """The statements' parameters but lo and hi: requests go to buildings 1 to `buildings`,
    over the 12 months before `end`."""
    return {"categories": CATEGORIES, "ncat": len(CATEGORIES), "end": end,
            "buildings": buildings}


def add_history(conninfo: str, *, requests: int, end: datetime) -> dict[str, float]:
    """Add `requests` requests over the 12 months before `end`, with timelines and surveys;
    VACUUM ANALYZE. Returns the seconds each step took."""
    with psycopg.connect(conninfo) as conn:
        row = conn.execute("SELECT max(id) FROM building").fetchone()
        buildings = int(row[0]) if row and row[0] else 0
        conn.execute("SET session_replication_role = replica")
        seconds = run_steps(conn, (("requests", _REQUESTS), ("events", _EVENTS),
                                   ("surveys", _SURVEYS)),
                            {**params(buildings=buildings, end=end), "lo": 1, "hi": requests},
                            ("service_request", "request_event", "survey"))
        # the statistics' roll-ups, whose triggers were skipped (migration 0018)
        started = time.perf_counter()
        conn.execute("SELECT rollup_rebuild()")
        conn.commit()
        seconds["roll-ups"] = time.perf_counter() - started
    with psycopg.connect(conninfo, autocommit=True) as conn:
        started = time.perf_counter()
        conn.execute("VACUUM (ANALYZE) service_request, request_event, survey")
        seconds["vacuum analyze"] = time.perf_counter() - started
    return seconds
