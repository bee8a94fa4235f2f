"""Tables of the request lifecycle: requests, their append-only timeline, outbound messages."""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum
from typing import Any

from geoalchemy2 import Geometry
from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    Column,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlmodel import Field, SQLModel

from domain.spatial.models import ServiceCategory, _enum_values


class RequestStatus(StrEnum):
    """SUBMITTED → DISPATCHED → ACCEPTED → IN_PROGRESS → COMPLETED → CLOSED; CANCELLED;
    WAITING_RESIDENT (from ACCEPTED or IN_PROGRESS, back to where it was): the clock stops."""

    SUBMITTED = "SUBMITTED"
    DISPATCHED = "DISPATCHED"
    ACCEPTED = "ACCEPTED"
    IN_PROGRESS = "IN_PROGRESS"
    COMPLETED = "COMPLETED"
    CLOSED = "CLOSED"
    CANCELLED = "CANCELLED"
    WAITING_RESIDENT = "WAITING_RESIDENT"


#: Open, and its time limit running (the sweep's overdue escalation looks at these).
RUNNING_STATUSES = (RequestStatus.SUBMITTED, RequestStatus.DISPATCHED, RequestStatus.ACCEPTED,
                    RequestStatus.IN_PROGRESS)
#: Open: not done, not cancelled (a request waiting on the resident is open, its clock stopped).
OPEN_STATUSES = (*RUNNING_STATUSES, RequestStatus.WAITING_RESIDENT)


def _ts(*, nullable: bool = True, default_now: bool = False) -> Any:
    return Column(DateTime(timezone=True), nullable=nullable,
                  server_default=text("now()") if default_now else None)


class ServiceRequest(SQLModel, table=True):
    """A resident's need, located at submission; building, group, grid and community are kept
    as found then, even if boundaries change later."""

    __tablename__ = "service_request"
    __table_args__ = (
        CheckConstraint(f"status IN ({_enum_values(RequestStatus)})", name="request_status"),
        CheckConstraint(f"category IN ({_enum_values(ServiceCategory)})",
                        name="request_category"),
        CheckConstraint("escalation_level BETWEEN 0 AND 2", name="request_escalation"),
        CheckConstraint("length(description) BETWEEN 1 AND 4000", name="request_description"),
        CheckConstraint("waiting_from IS NULL OR waiting_from IN ('ACCEPTED', 'IN_PROGRESS')",
                        name="request_waiting_from"),
        Index("request_open_idx", "status", "accept_deadline", postgresql_where=text(
            "status IN ('SUBMITTED','DISPATCHED','ACCEPTED','IN_PROGRESS')")),
        Index("request_completed_idx", "completed_at",
              postgresql_where=text("status = 'COMPLETED'")),
        Index("request_due_idx", "due_at", postgresql_where=text(
            "NOT overdue AND status IN ('SUBMITTED','DISPATCHED','ACCEPTED','IN_PROGRESS')")),
        Index("request_waiting_idx", "id", postgresql_where=text(
            "status = 'SUBMITTED' AND escalation_level = 0")),
        # The exact edges of requestStats' window (domain.requests.rollups, migration 0018).
        Index("request_submitted_at_idx", "submitted_at"),
        Index("request_done_at_idx", "completed_at",
              postgresql_where=text("status IN ('COMPLETED', 'CLOSED')")),
        Index(  # a community's requests in id order: its staff's pages (migration 0019)
            "service_request_community_page_idx", "community_id", "id"),
        Index(  # the open requests' map layer and tiles filter by box (migration 0019)
            "service_request_open_location_idx", "location", postgresql_using="gist",
            postgresql_where=text("status IN ('SUBMITTED', 'DISPATCHED', 'ACCEPTED', "
                                  "'IN_PROGRESS', 'WAITING_RESIDENT')")),
    )

    id: int | None = Field(default=None, primary_key=True)
    number: str = Field(sa_column=Column(String(32), nullable=False, unique=True))
    category: str = Field(sa_column=Column(String(16), nullable=False))
    description: str = Field(sa_column=Column(Text, nullable=False))
    status: str = Field(sa_column=Column(String(16), nullable=False, index=True))
    address: str | None = Field(default=None, sa_column=Column(String(300)))
    location: Any = Field(default=None, sa_column=Column(
        Geometry(geometry_type="POINT", srid=4326, spatial_index=True)))
    building_id: int | None = Field(default=None, sa_column=Column(
        Integer, ForeignKey("building.id"), index=True))
    group_id: int | None = Field(default=None, sa_column=Column(
        Integer, ForeignKey("building_group.id"), index=True))
    grid_id: int | None = Field(default=None, sa_column=Column(
        Integer, ForeignKey("grid.id"), index=True))
    community_id: int | None = Field(default=None, sa_column=Column(
        Integer, ForeignKey("community.id"), index=True))
    assignee_id: int | None = Field(default=None, sa_column=Column(
        Integer, ForeignKey("member.id"), index=True))
    escalation_level: int = Field(default=0, sa_column=Column(Integer, nullable=False,
                                                             server_default="0"))
    overdue: bool = Field(default=False, sa_column=Column(Boolean, nullable=False,
                                                         server_default="false"))
    submitted_at: datetime = Field(sa_column=_ts(nullable=False, default_now=True))
    due_at: datetime = Field(sa_column=_ts(nullable=False))
    dispatched_at: datetime | None = Field(default=None, sa_column=_ts())
    accept_deadline: datetime | None = Field(default=None, sa_column=_ts())
    completed_at: datetime | None = Field(default=None, sa_column=_ts())
    updated_at: datetime = Field(sa_column=_ts(nullable=False, default_now=True))
    resolution: str | None = Field(default=None, sa_column=Column(Text))
    contact_name: str | None = Field(default=None, sa_column=Column(String(100)))
    contact_phone: str | None = Field(default=None, sa_column=Column(String(32)))
    idempotency_key: str | None = Field(default=None, sa_column=Column(String(200),
                                                                     unique=True))
    # The resident's side (issue 13): the tracking code's nonce and hash
    # (domain.requests.tracking), whether they want notices, and the stopped clock.
    tracking_nonce: str | None = Field(default=None, sa_column=Column(String(64)))
    tracking_hash: str | None = Field(default=None, sa_column=Column(String(64), unique=True))
    notify: bool = Field(default=True, sa_column=Column(Boolean, nullable=False,
                                                       server_default="true"))
    waiting_since: datetime | None = Field(default=None, sa_column=_ts())
    waiting_from: str | None = Field(default=None, sa_column=Column(String(16)))
    #: True when `due_at` was counted in calendar days: the calendar did not know the year.
    due_fallback: bool = Field(default=False, sa_column=Column(Boolean, nullable=False,
                                                              server_default="false"))


class RequestEvent(SQLModel, table=True):
    """One entry of a request's timeline; rows are only ever inserted (a trigger refuses
    UPDATE and DELETE)."""

    __tablename__ = "request_event"
    __table_args__ = (
        # Dispatch policy: when was a member last handed a request (one index probe per
        # candidate, where a scan of the whole timeline grew with every request ever made).
        Index("request_event_handed_idx", "member_id", "at",
              postgresql_where=text("kind IN ('DISPATCHED', 'ASSIGNED')")),
        # requestStats' `dispatched`: the events that hand a request over, by time
        # (domain.requests.queries.HANDED_SQL).
        Index("request_event_handed_at_idx", "at", "request_id", postgresql_where=text(
            "kind IN ('DISPATCHED', 'ASSIGNED') OR "
            "(kind = 'ACCEPTED' AND from_status = 'SUBMITTED')")),
    )

    id: int | None = Field(default=None, sa_column=Column(BigInteger, primary_key=True))
    request_id: int = Field(sa_column=Column(Integer, ForeignKey("service_request.id"),
                                             nullable=False, index=True))
    at: datetime = Field(sa_column=_ts(nullable=False, default_now=True))
    kind: str = Field(sa_column=Column(String(32), nullable=False))
    from_status: str | None = Field(default=None, sa_column=Column(String(16)))
    to_status: str | None = Field(default=None, sa_column=Column(String(16)))
    actor: str | None = Field(default=None, sa_column=Column(String(100)))
    member_id: int | None = Field(default=None, sa_column=Column(Integer, ForeignKey("member.id")))
    note: str | None = Field(default=None, sa_column=Column(Text))


class OutboundMessage(SQLModel, table=True):
    """A message to a person, written in the transaction that causes it and delivered later by
    the sender actor; `dedupe_key` makes writing it twice impossible."""

    __tablename__ = "outbound_message"
    __table_args__ = (
        CheckConstraint("status IN ('PENDING', 'SENT', 'FAILED')", name="outbound_status"),
        Index("outbound_pending_idx", "next_attempt_at",
              postgresql_where=text("status = 'PENDING'")),
    )

    id: int | None = Field(default=None, sa_column=Column(BigInteger, primary_key=True))
    channel: str = Field(sa_column=Column(String(32), nullable=False))
    recipient: str = Field(sa_column=Column(String(100), nullable=False))
    kind: str = Field(sa_column=Column(String(32), nullable=False, index=True))
    body: str = Field(sa_column=Column(Text, nullable=False))
    request_id: int | None = Field(default=None, sa_column=Column(
        Integer, ForeignKey("service_request.id"), index=True))
    member_id: int | None = Field(default=None, sa_column=Column(Integer, ForeignKey("member.id")))
    survey_token: str | None = Field(default=None, sa_column=Column(String(100)))
    dedupe_key: str = Field(sa_column=Column(String(200), nullable=False, unique=True))
    created_at: datetime = Field(sa_column=_ts(nullable=False, default_now=True))
    status: str = Field(default="PENDING", sa_column=Column(String(16), nullable=False,
                                                            server_default="PENDING"))
    attempts: int = Field(default=0, sa_column=Column(Integer, nullable=False,
                                                      server_default="0"))
    next_attempt_at: datetime = Field(sa_column=_ts(nullable=False, default_now=True))
    sent_at: datetime | None = Field(default=None, sa_column=_ts())
    last_error: str | None = Field(default=None, sa_column=Column(Text))


class CalendarOverride(SQLModel, table=True):
    """An administrator's exception to the national working calendar in one community: a day
    off (a local festival) or a working day (domain.requests.overrides)."""

    __tablename__ = "calendar_override"
    __table_args__ = (UniqueConstraint("community_id", "day", name="calendar_override_day"),)

    id: int | None = Field(default=None, primary_key=True)
    community_id: int = Field(sa_column=Column(Integer, ForeignKey("community.id"),
                                               nullable=False))
    day: date = Field(sa_column=Column(Date, nullable=False))
    working: bool = Field(sa_column=Column(Boolean, nullable=False))
    note: str | None = Field(default=None, sa_column=Column(String(200)))
    created_by: str | None = Field(default=None, sa_column=Column(String(100)))
    created_at: datetime = Field(sa_column=_ts(nullable=False, default_now=True))
