"""Read-only root fields of surveys and assessment: satisfaction figures and member
assessments."""

from __future__ import annotations

from datetime import UTC, datetime

import strawberry

from domain.infra.db import transaction
from domain.spatial.directory import Scope
from domain.surveys.assessment import AssessmentPage, list_assessments
from domain.surveys.satisfaction import satisfaction
from schema.common.connections import page_size
from schema.common.context import Info
from schema.common.ids import decode_optional
from schema.common.inputs import ScopeInput
from schema.surveys.types import MemberAssessment, SatisfactionSummary


def _scope(scope: ScopeInput | None) -> Scope:
    return scope.to_scope("scope") if scope else Scope()


@strawberry.type
class SurveyQuery:
    @strawberry.field(description=(
        "Satisfaction (群众满意度) of surveys sent in [since, until) for the requests the "
        "caller may see (city-wide administrators all, staff of territories their "
        "communities', grid workers their grids, members their own "
        "services), narrowed by `scope`. Computed in SQL."))
    async def satisfaction(self, info: Info, scope: ScopeInput | None = None,
                           since: datetime | None = None,
                           until: datetime | None = None) -> SatisfactionSummary:
        async with info.context.sessions() as session:
            summary = await satisfaction(session, viewer=info.context.viewer,
                                         scope=_scope(scope), since=since, until=until)
        return SatisfactionSummary.of(summary)

    @strawberry.field(description=(
        'Member assessments for a period: a month ("2026-11") or a quarter ("2026-Q4") in '
        "China Standard Time (Beijing, UTC+8), ranked within each community, in the order "
        "community, rank (the unranked last), member. City-wide administrators see "
        "everyone, staff of territories the members of their communities, grid workers the "
        "members of their grids, members themselves. Paged in SQL: at most "
        "`first` entries (default and most 500); for the next page pass the last entry's "
        "member id as `after`. A page shorter than `first` is the last."))
    async def assessments(self, info: Info, period: str, scope: ScopeInput | None = None,
                          first: int | None = 500,
                          after: strawberry.ID | None = None) -> list[MemberAssessment]:
        page = AssessmentPage(first=page_size(first),
                              after=decode_optional(after, "Member", "after"))
        async with transaction(info.context.sessions) as session:
            rows = await list_assessments(session, period=period, viewer=info.context.viewer,
                                          scope=_scope(scope), now=datetime.now(UTC),
                                          page=page)
        return [MemberAssessment.of(row) for row in rows]
