"""Mutations of surveys: a resident's answer."""

from __future__ import annotations

from datetime import UTC, datetime

import strawberry
from sqlalchemy import select

from domain.errors import InvalidInput
from domain.infra.db import transaction
from domain.surveys.models import Survey as SurveyRow
from domain.surveys.respond import Answer, answer_survey
from schema.common.context import Info
from schema.common.payloads import UserErrorType
from schema.common.rate_limits import SUBMISSION, RateLimited
from schema.surveys.types import Survey, SurveyPayload


@strawberry.type
class SurveyMutation:
    @strawberry.mutation(extensions=[RateLimited(SUBMISSION)], description=(
        "A resident answers a survey with the token from the message: score 1..5, whether "
        "the need was resolved, and a comment of at most 1,000 characters. A token works "
        "once (then ALREADY_ANSWERED); EXPIRED after the survey expires; NOT_FOUND when "
        "unknown. The answer closes the request; resolved: false reopens it one escalation "
        "level higher. Open to anonymous callers; RATE_LIMITED per address."))
    async def submit_survey_response(self, info: Info, token: str, score: int,
                                     resolved: bool | None = None,
                                     comment: str | None = None) -> SurveyPayload:
        settings = info.context.settings
        try:
            async with transaction(info.context.sessions) as session:
                answered = await answer_survey(
                    session, Answer(token, score, resolved, comment), now=datetime.now(UTC),
                    accept_timeout=settings.accept_timeout, channel=settings.outbound_channel)
                row = (await session.execute(select(SurveyRow).where(
                    SurveyRow.id == answered.survey_id))).scalar_one()  # type: ignore[arg-type]
        except InvalidInput as exc:
            return SurveyPayload(errors=UserErrorType.list_of(exc.errors))
        if answered.reopened and info.context.background is not None:
            info.context.background.dispatch(answered.request_id)
        return SurveyPayload(survey=Survey.of(row))
