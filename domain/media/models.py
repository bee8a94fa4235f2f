"""The tables of photos: one row per photo of a request, and, for MEDIA_STORE=postgres, the
bytes of its two JPEGs."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import (
    CheckConstraint,
    Column,
    DateTime,
    ForeignKey,
    Integer,
    LargeBinary,
    SmallInteger,
    String,
    UniqueConstraint,
    text,
)
from sqlmodel import Field, SQLModel


class PhotoStage(StrEnum):
    """When a photo was taken: PROBLEM (the resident's, at submission) or SERVICE (the
    assignee's, at completion: the service done)."""

    PROBLEM = "PROBLEM"
    SERVICE = "SERVICE"


def _ts() -> Any:
    return Column(DateTime(timezone=True), nullable=False, server_default=text("now()"))


class RequestPhoto(SQLModel, table=True):
    """A photo of a request. Its bytes live in the media store under `key` + "/full.jpg" and
    `key` + "/thumb.jpg" (`store` names the back end that held them when written). Nothing of
    the original file is kept: no name, no metadata, no GPS."""

    __tablename__ = "request_photo"
    __table_args__ = (
        CheckConstraint("stage IN ('PROBLEM', 'SERVICE')", name="request_photo_stage"),
        CheckConstraint("position BETWEEN 0 AND 2", name="request_photo_position"),
        UniqueConstraint("request_id", "stage", "position", name="request_photo_slot"),
    )

    id: int | None = Field(default=None, primary_key=True)
    request_id: int = Field(sa_column=Column(
        Integer, ForeignKey("service_request.id", ondelete="CASCADE"), nullable=False,
        index=True))
    stage: str = Field(sa_column=Column(String(8), nullable=False))
    position: int = Field(sa_column=Column(SmallInteger, nullable=False))
    key: str = Field(sa_column=Column(String(100), nullable=False, unique=True))
    store: str = Field(sa_column=Column(String(16), nullable=False))
    width: int = Field(sa_column=Column(Integer, nullable=False))
    height: int = Field(sa_column=Column(Integer, nullable=False))
    thumb_width: int = Field(sa_column=Column(Integer, nullable=False))
    thumb_height: int = Field(sa_column=Column(Integer, nullable=False))
    source_format: str = Field(sa_column=Column(String(8), nullable=False))
    created_at: datetime = Field(sa_column=_ts())


class MediaBlob(SQLModel, table=True):
    """The bytes of one stored object, for MEDIA_STORE=postgres (the default)."""

    __tablename__ = "media_blob"

    key: str = Field(sa_column=Column(String(120), primary_key=True))
    media_type: str = Field(sa_column=Column(String(64), nullable=False))
    data: bytes = Field(sa_column=Column(LargeBinary, nullable=False))
    created_at: datetime = Field(sa_column=_ts())
