"""Satisfaction figures (群众满意度) per member, group, grid or community, computed in SQL."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from domain.access import Viewer
from domain.spatial.directory import Scope
from domain.surveys.rollups import satisfaction_row
from domain.surveys.scope import request_filter


@dataclass(frozen=True)
class Summary:
    """Surveys sent in the window and how residents answered them."""

    surveys_sent: int
    responses: int
    response_rate: float
    average_score: float | None
    csat: float | None
    resolved_rate: float | None


async def satisfaction(session: AsyncSession, *, viewer: Viewer, scope: Scope,
                       since: datetime | None, until: datetime | None) -> Summary:
    """Surveys sent in [since, until) for requests the caller may see within `scope`.

    CSAT is the share of responses scoring 4 or 5; the resolved rate counts "resolved" and
    unanswered-resolved (null) as resolved, as the survey closes the request for both."""
    row = await satisfaction_row(session, viewer=viewer, scope=scope, since=since, until=until)
    if row is None:
        row = await exact_satisfaction_row(session, viewer=viewer, scope=scope, since=since,
                                           until=until)
    sent, responses = int(row.sent), int(row.responses)
    return Summary(
        surveys_sent=sent, responses=responses,
        response_rate=round(responses / sent, 4) if sent else 0.0,
        average_score=_round(row.average), csat=_round(row.csat),
        resolved_rate=_round(row.resolved))


async def exact_satisfaction_row(session: AsyncSession, *, viewer: Viewer, scope: Scope,
                                 since: datetime | None, until: datetime | None) -> Any:
    """The figures from the raw rows: for scopes and callers the roll-ups do not answer
    (a member, a grid, a building group), and the reference the roll-ups are tested
    against."""
    condition, params = request_filter(viewer, scope)
    return (await session.execute(text(f"""
        SELECT count(*) AS sent,
               count(*) FILTER (WHERE s.status = 'ANSWERED') AS responses,
               avg(s.score) FILTER (WHERE s.status = 'ANSWERED') AS average,
               avg((s.score >= 4)::int) FILTER (WHERE s.status = 'ANSWERED') AS csat,
               avg((s.resolved IS NOT FALSE)::int) FILTER (WHERE s.status = 'ANSWERED')
                 AS resolved
        FROM survey s JOIN service_request r ON r.id = s.request_id
        WHERE s.sent_at IS NOT NULL AND {condition}
          AND (CAST(:since AS timestamptz) IS NULL OR s.sent_at >= :since)
          AND (CAST(:until AS timestamptz) IS NULL OR s.sent_at < :until)"""),
        {**params, "since": since, "until": until})).one()


def _round(value: object) -> float | None:
    return None if value is None else round(float(value), 4)  # type: ignore[arg-type]
