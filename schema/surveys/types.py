"""Types of satisfaction surveys (群众评议) and member assessment."""

from __future__ import annotations

import enum
from datetime import datetime

import strawberry

from domain.surveys import models
from domain.surveys.satisfaction import Summary
from schema.common.context import Info
from schema.common.payloads import UserErrorType
from schema.spatial.types import Member, _one

strawberry.enum(models.SurveyStatus, name="SurveyStatus",
                description="SCHEDULED after completion, SENT with a one-time token, "
                "ANSWERED, or EXPIRED when unanswered in time.")


@strawberry.type(description="The resident's rating of a completed request.")
class Survey:
    status: models.SurveyStatus
    sent_at: datetime | None = None
    reminded_at: datetime | None = None
    answered_at: datetime | None = None
    score: int | None = strawberry.field(default=None, description="1..5")
    resolved: bool | None = None
    comment: str | None = None

    @classmethod
    def of(cls, row: models.Survey) -> Survey:
        return cls(status=models.SurveyStatus(row.status), sent_at=row.sent_at,
                   reminded_at=row.reminded_at, answered_at=row.answered_at, score=row.score,
                   resolved=row.resolved, comment=row.comment)


@strawberry.type
class SurveyPayload:
    survey: Survey | None = None
    errors: list[UserErrorType] = strawberry.field(default_factory=list)


@strawberry.type(description="Surveys sent in the window and how residents answered them.")
class SatisfactionSummary:
    surveys_sent: int
    responses: int
    response_rate: float = strawberry.field(description="responses / surveysSent; 0 when "
                                            "none were sent")
    average_score: float | None = strawberry.field(description="null without responses")
    csat: float | None = strawberry.field(description="share of responses scoring 4 or 5")
    resolved_rate: float | None = strawberry.field(description="share of responses saying "
                                                   "the need was resolved")

    @classmethod
    def of(cls, summary: Summary) -> SatisfactionSummary:
        return cls(surveys_sent=summary.surveys_sent, responses=summary.responses,
                   response_rate=summary.response_rate, average_score=summary.average_score,
                   csat=summary.csat, resolved_rate=summary.resolved_rate)


@strawberry.enum(description="EXCELLENT ≥ 85, GOOD ≥ 70, ADEQUATE ≥ 50, POOR below; "
                 "INSUFFICIENT_DATA with fewer than 3 completions or 2 answered surveys.")
class AssessmentTier(enum.Enum):
    EXCELLENT = "EXCELLENT"
    GOOD = "GOOD"
    ADEQUATE = "ADEQUATE"
    POOR = "POOR"
    INSUFFICIENT_DATA = "INSUFFICIENT_DATA"


@strawberry.type(description="A member's assessment for a period (优者上、庸者下、劣者汰). "
                 "score = 100 × (0.25 × participation + 0.35 × on-time rate + 0.40 × CSAT); "
                 "participation = completions ÷ the community's most completions.")
class MemberAssessment:
    row: strawberry.Private[models.MemberAssessment]
    period: str
    accepted: int = strawberry.field(description="dispatches accepted in the period")
    completed: int = strawberry.field(description="services completed in the period")
    on_time_rate: float | None = strawberry.field(description="share completed by dueAt")
    responses: int = strawberry.field(description="surveys answered about their services")
    csat: float | None
    score: float | None = strawberry.field(description="0..100; null with insufficient data")
    rank: int | None = strawberry.field(description="within the community, 1 the best")
    tier: AssessmentTier
    computed_at: datetime

    @classmethod
    def of(cls, row: models.MemberAssessment) -> MemberAssessment:
        return cls(row=row, period=row.period, accepted=row.accepted, completed=row.completed,
                   on_time_rate=row.on_time_rate, responses=row.responses, csat=row.csat,
                   score=row.score, rank=row.rank, tier=AssessmentTier(row.tier),
                   computed_at=row.computed_at)

    @strawberry.field(description="Who is assessed.")
    async def member(self, info: Info) -> Member:
        found = await _one(info.context.loaders.member, self.row.member_id, Member.of)
        assert found is not None  # a foreign key guarantees it
        return found
