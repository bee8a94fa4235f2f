"""The time buckets of the statistics' roll-ups (migration 0018), and how a window
since <= t < until is read from them.

A roll-up row counts what happened in one community in one bucket: a UTC hour (grain 1), a
day in China time (grain 2, keyed by its midnight) or a month in China time (grain 3). A
window is answered from whole months in its middle, whole days beside them, whole hours
beside those, and, at its ragged ends (less than an hour each), from the raw rows through
their time indexes: a year is some 12 + 60 + 48 rows a community at most. `Window.split`
works that out; the readers (domain.requests.rollups, domain.surveys.rollups) turn it into
SQL.

The roll-up tables only ever receive INSERTs from their triggers (rows of differences: no
writer waits for another on a hot counter); `compact` folds a key's rows into one.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from domain.access import Viewer
from domain.spatial.directory import Scope
from domain.visibility import COMMUNITIES_SQL, Kind, sees_all, visible_params

HOUR, DAY, MONTH = 1, 2, 3
CHINA = ZoneInfo("Asia/Shanghai")
Span = tuple[datetime | None, datetime | None]


def _floor_hour(t: datetime) -> datetime:
    return t.replace(minute=0, second=0, microsecond=0)


def _ceil_hour(t: datetime) -> datetime:
    floor = _floor_hour(t)
    return floor if floor == t else floor + timedelta(hours=1)


def _floor_day(t: datetime) -> datetime:
    local = t.astimezone(CHINA)
    return local.replace(hour=0, minute=0, second=0, microsecond=0).astimezone(t.tzinfo)


def _ceil_day(t: datetime) -> datetime:
    floor = _floor_day(t)
    return floor if floor == t else _floor_day(floor + timedelta(hours=36))


def _floor_month(t: datetime) -> datetime:
    local = t.astimezone(CHINA)
    return local.replace(day=1, hour=0, minute=0, second=0, microsecond=0).astimezone(t.tzinfo)


def _ceil_month(t: datetime) -> datetime:
    floor = _floor_month(t)
    return floor if floor == t else _floor_month(floor + timedelta(days=32))


#: The coarser grains, finest first, with their boundaries at or after / at or before a time.
_COARSER: tuple[tuple[int, Callable[[datetime], datetime], Callable[[datetime], datetime]],
                ...] = ((DAY, _ceil_day, _floor_day), (MONTH, _ceil_month, _floor_month))


@dataclass(frozen=True)
class Window:
    """A window cut into roll-up buckets and exact edges; None is an open end."""

    since: datetime | None
    until: datetime | None
    #: The roll-up's part: [start, end), whole hours (None when the window holds no hour).
    middle: Span | None = None
    #: The middle as (grain, span) pieces: whole months inside, whole days beside them,
    #: whole hours beside those.
    spans: list[tuple[int, Span]] = field(default_factory=list)
    #: Read from the raw rows (each shorter than an hour, or the whole window when it holds
    #: no whole hour).
    edges: list[Span] = field(default_factory=list)

    @classmethod
    def split(cls, since: datetime | None, until: datetime | None) -> Window:
        start = _ceil_hour(since) if since is not None else None
        end = _floor_hour(until) if until is not None else None
        if start is not None and end is not None and start >= end:
            return cls(since, until, edges=[(since, until)])
        edges: list[Span] = [(since, start)] if since is not None and since != start else []
        if until is not None and until != end:
            edges.append((end, until))
        spans: list[tuple[int, Span]] = []
        grain, low, high = HOUR, start, end
        for coarser, ceil, floor in _COARSER:
            a = ceil(low) if low is not None else None
            b = floor(high) if high is not None else None
            if a is not None and b is not None and a >= b:
                break
            if low is not None and a is not None and low < a:
                spans.append((grain, (low, a)))
            if high is not None and b is not None and b < high:
                spans.append((grain, (b, high)))
            grain, low, high = coarser, a, b
        spans.append((grain, (low, high)))
        return cls(since, until, (start, end), spans, edges)

    def bucket_sql(self, params: dict[str, Any]) -> str:
        """The roll-up rows of the middle, as a condition on grain and bucket."""
        parts = [_span_sql("bucket", span, params, f"grain = {grain}")
                 for grain, span in self.spans]
        return "(" + " OR ".join(parts) + ")" if parts else "FALSE"

    def edge_sql(self, column: str, params: dict[str, Any]) -> str:
        """Raw rows whose `column` falls in an edge."""
        parts = [_span_sql(column, span, params) for span in self.edges]
        return "(" + " OR ".join(parts) + ")" if parts else "FALSE"

    def whole_sql(self, column: str, params: dict[str, Any]) -> str:
        """Raw rows whose `column` falls in the whole window."""
        return _span_sql(column, (self.since, self.until), params)

    def middle_sql(self, column: str, params: dict[str, Any]) -> str:
        """Raw rows whose `column` falls in the roll-up's part."""
        return _span_sql(column, self.middle, params) if self.middle is not None else "FALSE"


def _span_sql(column: str, span: Span, params: dict[str, Any], head: str = "TRUE") -> str:
    parts = [head]
    for op, bound in ((">=", span[0]), ("<", span[1])):
        if bound is not None:
            name = f"w{len(params)}"
            params[name] = bound
            parts.append(f"{column} {op} :{name}")
    return "(" + " AND ".join(parts) + ")"


def territory_sql(viewer: Viewer, scope: Scope, kind: Kind,
                  params: dict[str, Any]) -> str | None:
    """Which communities' roll-ups answer `viewer` in `scope`, as a condition on a
    `{c}` community id (0: none); None when roll-ups cannot answer: a scope narrower than a
    community, or a caller who also sees requests by assignment or grid (a member, a grid
    worker), whose figures the exact statements count."""
    if scope.member_id is not None or scope.building_group_id is not None or \
            scope.grid_id is not None:
        return None
    parts = ["TRUE"]
    if not sees_all(viewer, kind):
        if viewer.member_id is not None or viewer.grid_ids:
            return None
        params.update(visible_params(viewer))
        parts.append(f"{{c}} = ANY({COMMUNITIES_SQL})")
    if scope.community_id is not None:
        params["scope_community"] = scope.community_id
        parts.append("{c} = :scope_community")
    return " AND ".join(parts)


async def compact(session: AsyncSession, table: str, key: str, counts: tuple[str, ...],
                  batch: int = 50_000) -> int:
    """Fold the fresh rows of roll-up `table` (up to `batch` of them) and the rows sharing
    their `key` into one row a key; the sums stay as they were. Returns the rows folded.
    Two at once are safe (each folds what it deleted) but the transaction lock makes the
    second wait, so they do not both scan."""
    await session.execute(text("SELECT pg_advisory_xact_lock(hashtext(:t))"), {"t": table})
    sums = ", ".join(f"sum({c})" for c in counts)
    nonzero = " OR ".join(f"sum({c}) <> 0" for c in counts)
    row = (await session.execute(text(f"""
        WITH keys AS (SELECT DISTINCT {key} FROM {table}
                      WHERE id IN (SELECT id FROM {table} WHERE fresh ORDER BY id
                                   LIMIT :batch)),
             gone AS (DELETE FROM {table} WHERE ({key}) IN (SELECT {key} FROM keys)
                      RETURNING {key}, {", ".join(counts)}),
             folded AS (INSERT INTO {table} ({key}, fresh, {", ".join(counts)})
                        SELECT {key}, false, {sums} FROM gone GROUP BY {key}
                        HAVING {nonzero} RETURNING 1)
        SELECT (SELECT count(*) FROM gone) AS gone"""), {"batch": batch})).one()
    return int(row.gone)
