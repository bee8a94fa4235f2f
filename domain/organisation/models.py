"""Tables of the organisation area: partner organisations, members' status history, candidate
notices and the objections to them, and the versions of grid boundaries.

A member's organisation, `publish_phone` and `joined_at` are columns of `member` itself
(domain.spatial.models), as the member is the spatial area's row.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import CheckConstraint, Column, DateTime, ForeignKey, Integer, String, text
from sqlalchemy.dialects.postgresql import ExcludeConstraint
from sqlmodel import Field, SQLModel

from domain.spatial.models import MemberStatus, _enum_values, _geometry


class OrganisationKind(StrEnum):
    """What a partner organisation (共建单位) is."""

    PROPERTY_COMPANY = "PROPERTY_COMPANY"        # 物业公司
    OWNERS_COMMITTEE = "OWNERS_COMMITTEE"        # 业主委员会
    ENTERPRISE = "ENTERPRISE"                    # 企业
    PUBLIC_INSTITUTION = "PUBLIC_INSTITUTION"    # 事业单位
    SOCIAL_ORGANISATION = "SOCIAL_ORGANISATION"  # 社会组织
    PARTY_BRANCH = "PARTY_BRANCH"                # 党支部
    OTHER = "OTHER"


class ObjectionStatus(StrEnum):
    """An objection is OPEN until staff DISMISS or UPHOLD it, with a reason."""

    OPEN = "OPEN"
    DISMISSED = "DISMISSED"
    UPHELD = "UPHELD"


def _ts(*, nullable: bool = False) -> Any:
    return Column(DateTime(timezone=True), nullable=nullable)


class Organisation(SQLModel, table=True):
    """A partner organisation of one community; its people can be members."""

    __tablename__ = "organisation"
    __table_args__ = (
        CheckConstraint(f"kind IN ({_enum_values(OrganisationKind)})", name="organisation_kind"),
        CheckConstraint("length(trim(name)) > 0", name="organisation_name_nonempty"),
    )

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(sa_column=Column(String(200), nullable=False))
    kind: str = Field(sa_column=Column(String(32), nullable=False))
    community_id: int = Field(
        sa_column=Column(Integer, ForeignKey("community.id"), nullable=False, index=True))
    contact_name: str | None = Field(default=None, sa_column=Column(String(100)))
    contact_phone: str | None = Field(default=None, sa_column=Column(String(32)))


class MemberStatusChange(SQLModel, table=True):
    """One step of a member's admission cycle: from, to, who and why (append-only)."""

    __tablename__ = "member_status_change"
    __table_args__ = (
        CheckConstraint(f"to_status IN ({_enum_values(MemberStatus)})",
                        name="member_status_change_to"),
    )

    id: int | None = Field(default=None, primary_key=True)
    member_id: int = Field(sa_column=Column(
        Integer, ForeignKey("member.id", ondelete="CASCADE"), nullable=False, index=True))
    at: datetime = Field(sa_column=_ts())
    from_status: str | None = Field(default=None, sa_column=Column(String(16)))
    to_status: str = Field(sa_column=Column(String(16), nullable=False))
    actor: str = Field(sa_column=Column(String(64), nullable=False))
    reason: str | None = Field(default=None, sa_column=Column(String(1000)))


class CandidateNotice(SQLModel, table=True):
    """The public notice (公示) of a candidate: posted at, ends at."""

    __tablename__ = "candidate_notice"
    __table_args__ = (CheckConstraint("ends_at > posted_at", name="candidate_notice_period"),)

    id: int | None = Field(default=None, primary_key=True)
    member_id: int = Field(sa_column=Column(
        Integer, ForeignKey("member.id", ondelete="CASCADE"), nullable=False, index=True))
    posted_at: datetime = Field(sa_column=_ts())
    ends_at: datetime = Field(sa_column=_ts())
    actor: str = Field(sa_column=Column(String(64), nullable=False))


class Objection(SQLModel, table=True):
    """An objection to a candidate on notice, from anyone; its contact phone is for staff."""

    __tablename__ = "objection"
    __table_args__ = (
        CheckConstraint(f"status IN ({_enum_values(ObjectionStatus)})", name="objection_status"),
    )

    id: int | None = Field(default=None, primary_key=True)
    notice_id: int = Field(sa_column=Column(
        Integer, ForeignKey("candidate_notice.id", ondelete="CASCADE"), nullable=False,
        index=True))
    at: datetime = Field(sa_column=_ts())
    reason: str = Field(sa_column=Column(String(1000), nullable=False))
    contact_phone: str | None = Field(default=None, sa_column=Column(String(32)))
    status: str = Field(default=ObjectionStatus.OPEN.value,
                        sa_column=Column(String(16), nullable=False,
                                         server_default=text("'OPEN'")))
    resolved_at: datetime | None = Field(default=None, sa_column=_ts(nullable=True))
    resolved_by: str | None = Field(default=None, sa_column=Column(String(64)))
    resolution: str | None = Field(default=None, sa_column=Column(String(1000)))


class GridBoundaryVersion(SQLModel, table=True):
    """A grid's boundary over [valid_from, valid_to); valid_to NULL for the current one.
    Versions of one grid never overlap in time (an exclusion constraint, migration 0014)."""

    __tablename__ = "grid_boundary_version"
    __table_args__ = (
        CheckConstraint("valid_to IS NULL OR valid_to > valid_from",
                        name="grid_boundary_version_period"),
        CheckConstraint("ST_IsValid(boundary)", name="grid_boundary_version_boundary_valid"),
        ExcludeConstraint(("grid_id", "="), (text("tstzrange(valid_from, valid_to)"), "&&"),
                          using="gist", name="grid_boundary_version_no_overlap"),
    )

    id: int | None = Field(default=None, primary_key=True)
    grid_id: int = Field(sa_column=Column(
        Integer, ForeignKey("grid.id", ondelete="CASCADE"), nullable=False, index=True))
    valid_from: datetime = Field(sa_column=_ts())
    valid_to: datetime | None = Field(default=None, sa_column=_ts(nullable=True))
    boundary: Any = Field(sa_column=_geometry("MULTIPOLYGON", nullable=False))
