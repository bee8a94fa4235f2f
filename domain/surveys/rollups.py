"""Satisfaction from roll-ups (migration 0018): survey_rollup's counts by community and
bucket of sent_at, plus the window's ragged edges from the raw rows; equal to the exact
statement of domain.surveys.satisfaction (tests/domain/test_stat_rollups.py).

Triggers on survey (INSERT, UPDATE, DELETE, TRUNCATE) keep, for each sent survey, in its
request's community at sent_at: sent, answered, scored (answered with a score), score_sum,
satisfied (score 4 or 5) and resolved (answered, not "unresolved"); a request moved to
another community takes its survey along (the trigger on service_request).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, Boolean, Column, DateTime, Index, Integer, SmallInteger, text
from sqlalchemy.engine import Row
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import Field, SQLModel

from domain.access import Viewer
from domain.buckets import Window, compact, territory_sql
from domain.spatial.directory import Scope
from domain.visibility import Kind

COUNTS = ("sent", "answered", "scored", "score_sum", "satisfied", "resolved")


def _count(name: str) -> Any:
    return Field(default=0, sa_column=Column(name, Integer, nullable=False,
                                             server_default="0"))


class SurveyRollup(SQLModel, table=True):
    """Counts of one community's sent surveys in one bucket (rows of differences until
    compacted: sum every row of a key)."""

    __tablename__ = "survey_rollup"
    __table_args__ = (
        Index("survey_rollup_key_idx", "grain", "community_id", "bucket"),
        Index("survey_rollup_bucket_idx", "grain", "bucket"),
        Index("survey_rollup_fresh_idx", "id", postgresql_where=text("fresh")),
    )

    id: int | None = Field(default=None, sa_column=Column(BigInteger, primary_key=True))
    #: 1: the UTC hour starting at `bucket`; 2, 3: the day, the month in China time.
    grain: int = Field(sa_column=Column(SmallInteger, nullable=False))
    #: 0 for requests outside every community.
    community_id: int = Field(sa_column=Column(Integer, nullable=False))
    bucket: datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))
    fresh: bool = Field(default=True, sa_column=Column(Boolean, nullable=False,
                                                       server_default="true"))
    sent: int = _count("sent")
    answered: int = _count("answered")
    scored: int = _count("scored")
    score_sum: int = _count("score_sum")
    satisfied: int = _count("satisfied")
    resolved: int = _count("resolved")


def _statement(where: str, window: Window, params: dict[str, Any]) -> str:
    roll_c, raw_c = where.format(c="u.community_id"), where.format(c="COALESCE(r.community_id, 0)")
    sums = ", ".join(f"COALESCE(sum(u.{c}), 0) AS {c}" for c in COUNTS)
    answered = "s.status = 'ANSWERED'"
    total = ", ".join(f"roll.{c} + edge.{c} AS {c}" for c in COUNTS)
    return f"""
    WITH roll AS (
      SELECT {sums} FROM survey_rollup u WHERE {roll_c} AND {window.bucket_sql(params)}),
    edge AS (
      SELECT count(*) AS sent, count(*) FILTER (WHERE {answered}) AS answered,
             count(s.score) FILTER (WHERE {answered}) AS scored,
             COALESCE(sum(s.score) FILTER (WHERE {answered}), 0) AS score_sum,
             count(*) FILTER (WHERE {answered} AND s.score >= 4) AS satisfied,
             count(*) FILTER (WHERE {answered} AND s.resolved IS NOT FALSE) AS resolved
      FROM survey s JOIN service_request r ON r.id = s.request_id
      WHERE {raw_c} AND {window.edge_sql("s.sent_at", params)}),
    total AS (SELECT {total} FROM roll, edge)
    SELECT sent, answered AS responses, score_sum::numeric / NULLIF(scored, 0) AS average,
           satisfied::numeric / NULLIF(scored, 0) AS csat,
           resolved::numeric / NULLIF(answered, 0) AS resolved
    FROM total"""


async def satisfaction_row(session: AsyncSession, *, viewer: Viewer, scope: Scope,
                           since: datetime | None,
                           until: datetime | None) -> Row[Any] | None:
    """The exact statement's row (sent, responses, average, csat, resolved; the averages
    as numeric quotients, as avg() computes them), or None when the roll-ups cannot answer
    (`domain.buckets.territory_sql`)."""
    params: dict[str, Any] = {}
    where = territory_sql(viewer, scope, Kind.SERVED_REQUEST, params)
    if where is None:
        return None
    sql = _statement(where, Window.split(since, until), params)
    return (await session.execute(text(sql), params)).one()


async def compact_surveys(session: AsyncSession) -> int:
    """Fold survey_rollup's fresh rows (domain.buckets.compact)."""
    return await compact(session, "survey_rollup", "grain, community_id, bucket", COUNTS)
