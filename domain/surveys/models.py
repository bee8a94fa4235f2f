"""Tables of surveys and assessment snapshots."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import (
    Boolean,
    CheckConstraint,
    Column,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    SmallInteger,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlmodel import Field, SQLModel


class SurveyStatus(StrEnum):
    """SCHEDULED → SENT → ANSWERED, or EXPIRED when unanswered in time."""

    SCHEDULED = "SCHEDULED"
    SENT = "SENT"
    ANSWERED = "ANSWERED"
    EXPIRED = "EXPIRED"


def _ts(*, nullable: bool = True) -> Any:
    return Column(DateTime(timezone=True), nullable=nullable)


class Survey(SQLModel, table=True):
    """One survey per completed request; only the token's SHA-256 is stored here."""

    __tablename__ = "survey"
    __table_args__ = (
        CheckConstraint("status IN ('SCHEDULED', 'SENT', 'ANSWERED', 'EXPIRED')",
                        name="survey_status"),
        CheckConstraint("score IS NULL OR score BETWEEN 1 AND 5", name="survey_score"),
        CheckConstraint("comment IS NULL OR length(comment) <= 1000", name="survey_comment"),
        Index("survey_due_idx", "scheduled_for", postgresql_where=text("status = 'SCHEDULED'")),
        Index("survey_sent_idx", "sent_at", postgresql_where=text("status = 'SENT'")),
        # The exact edges of satisfaction's window (domain.surveys.rollups, migration 0018).
        Index("survey_sent_at_idx", "sent_at"),
    )

    id: int | None = Field(default=None, primary_key=True)
    request_id: int = Field(sa_column=Column(Integer, ForeignKey("service_request.id"),
                                             nullable=False, unique=True))
    status: str = Field(sa_column=Column(String(16), nullable=False))
    phone: str = Field(sa_column=Column(String(32), nullable=False))
    scheduled_for: datetime = Field(sa_column=_ts(nullable=False))
    sent_at: datetime | None = Field(default=None, sa_column=_ts())
    reminded_at: datetime | None = Field(default=None, sa_column=_ts())
    expires_at: datetime | None = Field(default=None, sa_column=_ts())
    answered_at: datetime | None = Field(default=None, sa_column=_ts())
    token_hash: str | None = Field(default=None, sa_column=Column(String(64), unique=True))
    score: int | None = Field(default=None, sa_column=Column(SmallInteger))
    resolved: bool | None = Field(default=None, sa_column=Column(Boolean))
    comment: str | None = Field(default=None, sa_column=Column(Text))


#: Where a NULL community or rank sorts in a period's order: last.
LAST = 2147483647


class MemberAssessment(SQLModel, table=True):
    """A member's assessment for one period ("2026-11" or "2026-Q4"), stored as a snapshot."""

    __tablename__ = "member_assessment"
    __table_args__ = (
        UniqueConstraint("period", "member_id", name="assessment_period_member"),
        CheckConstraint("tier IN ('EXCELLENT', 'GOOD', 'ADEQUATE', 'POOR', 'INSUFFICIENT_DATA')",
                        name="assessment_tier"),
        # a period in the order `assessments` pages it (domain.surveys.assessment)
        Index("member_assessment_page_idx", "period",
              text(f"COALESCE(community_id, {LAST})"), text(f"COALESCE(rank, {LAST})"),
              "member_id"),
    )

    id: int | None = Field(default=None, primary_key=True)
    period: str = Field(sa_column=Column(String(7), nullable=False, index=True))
    member_id: int = Field(sa_column=Column(Integer, ForeignKey("member.id"), nullable=False))
    community_id: int | None = Field(default=None, sa_column=Column(
        Integer, ForeignKey("community.id"), index=True))
    accepted: int = Field(sa_column=Column(Integer, nullable=False))
    completed: int = Field(sa_column=Column(Integer, nullable=False))
    on_time_rate: float | None = Field(default=None, sa_column=Column(Float))
    responses: int = Field(sa_column=Column(Integer, nullable=False))
    csat: float | None = Field(default=None, sa_column=Column(Float))
    score: float | None = Field(default=None, sa_column=Column(Float))
    rank: int | None = Field(default=None, sa_column=Column(Integer))
    tier: str = Field(sa_column=Column(String(20), nullable=False))
    computed_at: datetime = Field(sa_column=_ts(nullable=False))
