"""requestStats from roll-ups (migration 0018): request_rollup's counts by community and
bucket, plus the window's ragged edges from the raw rows, equal to the exact statement of
domain.requests.queries (tests/domain/test_stat_rollups.py compares them on random
histories).

What the triggers keep, per community and bucket (domain.buckets):
- at a request's submission: submitted, fallback (due in calendar days), its category,
  `late` (flagged overdue, or completed after its due time) and `open` (running and not
  late); the exact `overdue` at `now` is late + open less those still not due at `now`
  (read from request_due_idx: the requests due in the future);
- at its completion (COMPLETED or CLOSED): completed;
- at each handing-over event: handed, keyed also by the UTC hour of the request's previous
  one (`prev`); those whose previous one is before the window's start count each request
  handed over in the window once (an event whose previous one is in the same bucket adds
  nothing to that bucket's row: a window reads a bucket only if it starts at or before it).

Where the triggers are: service_request (INSERT, UPDATE, DELETE), request_event (INSERT; its
rows are never updated or deleted), survey (domain.surveys.rollups), and TRUNCATE of each.
Every write path (submission, dispatch, the state machine, the sweep, survey batches and
answers, imports) goes through them; a load that skips triggers (session_replication_role =
replica, as benchmarks/city_history.py does) runs `SELECT rollup_rebuild()` after it.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    DateTime,
    Index,
    Integer,
    SmallInteger,
    text,
)
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import Field, SQLModel

from domain.access import Viewer
from domain.buckets import Window, compact, territory_sql
from domain.requests.models import RUNNING_STATUSES
from domain.spatial.directory import Scope
from domain.spatial.models import ServiceCategory
from domain.visibility import Kind

#: The counted columns, in the migration's order.
CATEGORY_COLUMNS = {c.value: f"cat_{c.value.lower()}" for c in ServiceCategory}
COUNTS = ("submitted", "fallback", "late", "open", "completed", "handed",
          *CATEGORY_COLUMNS.values())
RUNNING_SQL = "(" + ", ".join(f"'{s.value}'" for s in RUNNING_STATUSES) + ")"
LATE_SQL = "(r.overdue OR COALESCE(r.completed_at > r.due_at, false))"


def _handed(alias: str) -> str:
    return (f"({alias}.kind IN ('DISPATCHED', 'ASSIGNED') OR "
            f"({alias}.kind = 'ACCEPTED' AND {alias}.from_status = 'SUBMITTED'))")


def _count(name: str) -> Any:
    return Field(default=0, sa_column=Column(name, Integer, nullable=False,
                                             server_default="0"))


class RequestRollup(SQLModel, table=True):
    """Counts of one community's requests in one bucket (rows of differences until
    compacted: sum every row of a key)."""

    __tablename__ = "request_rollup"
    __table_args__ = (
        Index("request_rollup_key_idx", "grain", "community_id", "bucket", "prev"),
        Index("request_rollup_bucket_idx", "grain", "bucket"),
        Index("request_rollup_fresh_idx", "id", postgresql_where=text("fresh")),
    )

    id: int | None = Field(default=None, sa_column=Column(BigInteger, primary_key=True))
    #: 1: the UTC hour starting at `bucket`; 2, 3: the day, the month in China time.
    grain: int = Field(sa_column=Column(SmallInteger, nullable=False))
    #: 0 for requests outside every community.
    community_id: int = Field(sa_column=Column(Integer, nullable=False))
    bucket: datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))
    #: For `handed`: the UTC hour of the request's previous handing-over, '-infinity' if none.
    prev: datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False,
                                            server_default=text("'-infinity'")))
    #: Written by a trigger and not yet folded by `compact_requests`.
    fresh: bool = Field(default=True, sa_column=Column(
        "fresh", Boolean, nullable=False, server_default="true"))
    submitted: int = _count("submitted")
    fallback: int = _count("fallback")
    late: int = _count("late")
    open: int = _count("open")
    completed: int = _count("completed")
    handed: int = _count("handed")
    cat_maintenance: int = _count("cat_maintenance")
    cat_assistance: int = _count("cat_assistance")
    cat_consultation: int = _count("cat_consultation")
    cat_culture: int = _count("cat_culture")
    cat_emergency: int = _count("cat_emergency")
    cat_mediation: int = _count("cat_mediation")


def _statement(where: str, window: Window, params: dict[str, Any]) -> str:
    """The figures as one statement: the roll-up's middle, the edges' raw rows, and the
    requests not yet due (the part of `overdue` that moves with time)."""
    roll_c, raw_c = where.format(c="u.community_id"), where.format(c="COALESCE(r.community_id, 0)")
    start = window.middle[0] if window.middle is not None else None
    first = "u.prev = '-infinity'"
    if start is not None:
        params["start"] = start
        first = f"({first} OR u.prev < :start)"
    sums = ", ".join(f"COALESCE(sum(u.{c}), 0) AS {c}" for c in COUNTS if c != "handed")
    # without bounds the exact statement counts a done request without a completion time
    unbounded = ("r.completed_at IS NULL" if window.since is None and window.until is None
                 else "FALSE")
    cats = ", ".join(f"count(*) FILTER (WHERE r.category = '{value}') AS {column}"
                     for value, column in CATEGORY_COLUMNS.items())
    total = ", ".join(f"roll.{column} + edge.{column} AS {column}"
                      for column in CATEGORY_COLUMNS.values())
    return f"""
    WITH roll AS (
      SELECT {sums}, COALESCE(sum(u.handed) FILTER (WHERE {first}), 0) AS handed
      FROM request_rollup u WHERE {roll_c} AND {window.bucket_sql(params)}),
    edge AS (
      SELECT count(*) AS submitted, count(*) FILTER (WHERE r.due_fallback) AS fallback,
             count(*) FILTER (WHERE {LATE_SQL}) AS late,
             count(*) FILTER (WHERE r.status IN {RUNNING_SQL} AND NOT {LATE_SQL}) AS open,
             {cats}
      FROM service_request r WHERE {raw_c} AND {window.edge_sql("r.submitted_at", params)}),
    done AS (
      SELECT count(*) AS completed FROM service_request r
      WHERE r.status IN ('COMPLETED', 'CLOSED') AND {raw_c}
        AND ({window.edge_sql("r.completed_at", params)} OR {unbounded})),
    handed AS (
      SELECT count(DISTINCT e.request_id) AS handed
      FROM request_event e JOIN service_request r ON r.id = e.request_id
      WHERE {_handed("e")} AND {window.edge_sql("e.at", params)} AND {raw_c}
        AND NOT EXISTS (SELECT 1 FROM request_event m WHERE m.request_id = e.request_id
                        AND {_handed("m")} AND {window.middle_sql("m.at", params)})),
    not_due AS (
      SELECT count(*) AS n FROM service_request r
      WHERE NOT r.overdue AND r.status IN {RUNNING_SQL} AND r.due_at >= :now
        AND NOT COALESCE(r.completed_at > r.due_at, false) AND {raw_c}
        AND {window.whole_sql("r.submitted_at", params)})
    SELECT roll.submitted + edge.submitted AS submitted,
           roll.handed + handed.handed AS dispatched,
           roll.completed + done.completed AS completed,
           roll.late + edge.late + roll.open + edge.open - not_due.n AS overdue,
           roll.fallback + edge.fallback AS fallback, {total}
    FROM roll, edge, done, handed, not_due"""


async def request_counts(session: AsyncSession, *, viewer: Viewer, scope: Scope,
                         since: datetime | None, until: datetime | None,
                         now: datetime) -> dict[str, int] | None:
    """requestStats' figures from the roll-ups (names as `queries.Stats`, categories by
    value), or None when they cannot answer (`domain.buckets.territory_sql`)."""
    params: dict[str, Any] = {"now": now}
    where = territory_sql(viewer, scope, Kind.SERVICE_REQUEST, params)
    if where is None:
        return None
    sql = _statement(where, Window.split(since, until), params)
    row = (await session.execute(text(sql), params)).one()._mapping
    figures = {name: int(row[name]) for name in
               ("submitted", "dispatched", "completed", "overdue", "fallback")}
    return figures | {value: int(row[column]) for value, column in CATEGORY_COLUMNS.items()}


async def compact_requests(session: AsyncSession) -> int:
    """Fold request_rollup's fresh rows (domain.buckets.compact)."""
    return await compact(session, "request_rollup", "grain, community_id, bucket, prev", COUNTS)
