"""Root fields for surveys and assessment: answering a survey, satisfaction figures and
member assessments."""

from __future__ import annotations

from datetime import UTC, datetime

import strawberry
from sqlalchemy import select

from domain.db import transaction
from domain.directory import Scope
from domain.errors import InvalidInput
from domain.surveys.assessment import list_assessments
from domain.surveys.models import Survey as SurveyRow
from domain.surveys.respond import Answer, answer_survey
from domain.surveys.satisfaction import satisfaction
from schema.context import Info
from schema.inputs import ScopeInput
from schema.payloads import UserErrorType
from schema.permissions import AUTHENTICATED
from schema.surveys.types import MemberAssessment, SatisfactionSummary, Survey, SurveyPayload


def _scope(scope: ScopeInput | None) -> Scope:
    return scope.to_scope("scope") if scope else Scope()


@strawberry.type
class SurveyQuery:
    @strawberry.field(permission_classes=AUTHENTICATED, description=(
        "Satisfaction (群众满意度) of surveys sent in [since, until) for the requests the "
        "caller may see (administrators all, grid workers their grids, members their own "
        "services), narrowed by `scope`. Computed in SQL."))
    async def satisfaction(self, info: Info, scope: ScopeInput | None = None,
                           since: datetime | None = None,
                           until: datetime | None = None) -> SatisfactionSummary:
        async with info.context.sessions() as session:
            summary = await satisfaction(session, viewer=info.context.viewer,
                                         scope=_scope(scope), since=since, until=until)
        return SatisfactionSummary.of(summary)

    @strawberry.field(permission_classes=AUTHENTICATED, description=(
        'Member assessments for a period: a month ("2026-11") or a quarter ("2026-Q4") in '
        "China Standard Time (Beijing, UTC+8), ranked within each community. "
        "Administrators see everyone, grid workers the members of their grids, members "
        "themselves."))
    async def assessments(self, info: Info, period: str,
                          scope: ScopeInput | None = None) -> list[MemberAssessment]:
        async with transaction(info.context.sessions) as session:
            rows = await list_assessments(session, period=period, viewer=info.context.viewer,
                                          scope=_scope(scope), now=datetime.now(UTC))
        return [MemberAssessment.of(row) for row in rows]


@strawberry.type
class SurveyMutation:
    @strawberry.mutation(description=(
        "A resident answers a survey with the token from the message: score 1..5, whether "
        "the need was resolved, and a comment of at most 1,000 characters. A token works "
        "once (then ALREADY_ANSWERED); EXPIRED after the survey expires; NOT_FOUND when "
        "unknown. The answer closes the request; resolved: false reopens it one escalation "
        "level higher. Open to anonymous callers."))
    async def submit_survey_response(self, info: Info, token: str, score: int,
                                     resolved: bool | None = None,
                                     comment: str | None = None) -> SurveyPayload:
        options = info.context.options
        try:
            async with transaction(info.context.sessions) as session:
                answered = await answer_survey(
                    session, Answer(token, score, resolved, comment), now=datetime.now(UTC),
                    accept_timeout=options.accept_timeout, channel=options.outbound_channel)
                row = (await session.execute(select(SurveyRow).where(
                    SurveyRow.id == answered.survey_id))).scalar_one()  # type: ignore[arg-type]
        except InvalidInput as exc:
            return SurveyPayload(errors=UserErrorType.list_of(exc.errors))
        if answered.reopened and info.context.background is not None:
            info.context.background.dispatch(answered.request_id)
        return SurveyPayload(survey=Survey.of(row))
