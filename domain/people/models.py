"""Tables of who signs in: staff accounts and their territories, sessions with their refresh
tokens, and one-time sign-in codes. Secrets are never stored: passwords as argon2id hashes,
refresh tokens and codes as SHA-256 / HMAC digests. And the audit trail, which is only ever appended
to (domain.people.audit)."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    Column,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    String,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlmodel import Field, SQLModel

from domain.spatial import models as spatial_models  # noqa: F401  (the tables referenced)


class TerritoryLevel(StrEnum):
    """Where an administrator's rights reach: the whole city, a subdistrict or a community."""

    CITY = "CITY"
    SUBDISTRICT = "SUBDISTRICT"
    COMMUNITY = "COMMUNITY"


def _ts(*, nullable: bool = True, default_now: bool = False) -> Any:
    return Column(DateTime(timezone=True), nullable=nullable,
                  server_default=text("now()") if default_now else None)


class StaffAccount(SQLModel, table=True):
    """A member of community or subdistrict committee staff who signs in with a password."""

    __tablename__ = "staff_account"
    __table_args__ = (
        CheckConstraint("login = lower(login) AND length(login) BETWEEN 3 AND 64",
                        name="staff_account_login"),
        CheckConstraint("length(trim(name)) > 0", name="staff_account_name_nonempty"),
    )

    id: int | None = Field(default=None, primary_key=True)
    login: str = Field(sa_column=Column(String(64), nullable=False, unique=True))
    name: str = Field(sa_column=Column(String(100), nullable=False))
    password_hash: str = Field(sa_column=Column(String(200), nullable=False))
    active: bool = Field(default=True, sa_column=Column(Boolean, nullable=False,
                                                        server_default="true"))
    created_at: datetime | None = Field(default=None, sa_column=_ts(nullable=False,
                                                                    default_now=True))
    last_sign_in_at: datetime | None = Field(default=None, sa_column=_ts())


class AccountTerritory(SQLModel, table=True):
    """One territory of an account: CITY, or one subdistrict, or one community."""

    __tablename__ = "account_territory"
    __table_args__ = (
        CheckConstraint(
            "(level = 'CITY' AND subdistrict_id IS NULL AND community_id IS NULL) OR "
            "(level = 'SUBDISTRICT' AND subdistrict_id IS NOT NULL AND community_id IS NULL) OR "
            "(level = 'COMMUNITY' AND community_id IS NOT NULL AND subdistrict_id IS NULL)",
            name="account_territory_level"),
        Index("account_territory_unique", "account_id", "level",
              text("coalesce(subdistrict_id, 0)"), text("coalesce(community_id, 0)"),
              unique=True),
    )

    id: int | None = Field(default=None, primary_key=True)
    account_id: int = Field(sa_column=Column(
        Integer, ForeignKey("staff_account.id", ondelete="CASCADE"), nullable=False, index=True))
    level: str = Field(sa_column=Column(String(16), nullable=False))
    subdistrict_id: int | None = Field(default=None, sa_column=Column(
        Integer, ForeignKey("subdistrict.id", ondelete="CASCADE")))
    community_id: int | None = Field(default=None, sa_column=Column(
        Integer, ForeignKey("community.id", ondelete="CASCADE")))


class AuthSession(SQLModel, table=True):
    """One sign-in of an account or a member: the chain of its refresh tokens. Access tokens
    name it, so revoking it refuses them at once."""

    __tablename__ = "auth_session"
    __table_args__ = (
        CheckConstraint("(account_id IS NULL) <> (member_id IS NULL)", name="auth_session_who"),
    )

    id: int | None = Field(default=None, primary_key=True)
    account_id: int | None = Field(default=None, sa_column=Column(
        Integer, ForeignKey("staff_account.id", ondelete="CASCADE"), index=True))
    member_id: int | None = Field(default=None, sa_column=Column(
        Integer, ForeignKey("member.id", ondelete="CASCADE"), index=True))
    created_at: datetime | None = Field(default=None, sa_column=_ts(nullable=False,
                                                                    default_now=True))
    revoked_at: datetime | None = Field(default=None, sa_column=_ts())
    revoked_reason: str | None = Field(default=None, sa_column=Column(String(32)))


class RefreshToken(SQLModel, table=True):
    """A refresh token of a session, by its SHA-256; `used_at` is set when it is rotated."""

    __tablename__ = "refresh_token"

    id: int | None = Field(default=None, sa_column=Column(BigInteger, primary_key=True))
    session_id: int = Field(sa_column=Column(
        Integer, ForeignKey("auth_session.id", ondelete="CASCADE"), nullable=False, index=True))
    token_hash: str = Field(sa_column=Column(String(64), nullable=False, unique=True))
    issued_at: datetime = Field(sa_column=_ts(nullable=False))
    expires_at: datetime = Field(sa_column=_ts(nullable=False))
    used_at: datetime | None = Field(default=None, sa_column=_ts())


class SignInCode(SQLModel, table=True):
    """A one-time code asked for a phone. The code itself is not stored: `code_hash` is an
    HMAC of it, and the deliverer derives it from `nonce` with the server's key."""

    __tablename__ = "sign_in_code"
    __table_args__ = (Index("sign_in_code_phone_idx", "phone", "id"),)

    id: int | None = Field(default=None, sa_column=Column(BigInteger, primary_key=True))
    phone: str = Field(sa_column=Column(String(32), nullable=False))
    member_id: int | None = Field(default=None, sa_column=Column(
        Integer, ForeignKey("member.id", ondelete="CASCADE")))
    nonce: str = Field(sa_column=Column(String(64), nullable=False, unique=True))
    code_hash: str = Field(sa_column=Column(String(64), nullable=False))
    created_at: datetime = Field(sa_column=_ts(nullable=False))
    expires_at: datetime = Field(sa_column=_ts(nullable=False))
    attempts: int = Field(default=0, sa_column=Column(Integer, nullable=False,
                                                      server_default="0"))
    spent_at: datetime | None = Field(default=None, sa_column=_ts())


class AuditEntry(SQLModel, table=True):
    """One line of the audit trail: who (`actor`) did what (`action`) to which object
    (`subject_type`, `subject_id`), in which community, with what changed in `detail` (never a
    password, code or token). Append-only: a trigger refuses UPDATE and DELETE but those of
    the retention job (migration 0012)."""

    __tablename__ = "audit_entry"
    __table_args__ = (
        Index("audit_entry_community_idx", "community_id", "id"),
        Index("audit_entry_subject_idx", "subject_type", "subject_id", "id"),
        Index("audit_entry_at_idx", "at"),
    )

    id: int | None = Field(default=None, sa_column=Column(BigInteger, primary_key=True))
    at: datetime | None = Field(default=None, sa_column=_ts(nullable=False, default_now=True))
    actor: str = Field(sa_column=Column(String(64), nullable=False))
    action: str = Field(sa_column=Column(String(32), nullable=False))
    subject_type: str | None = Field(default=None, sa_column=Column(String(32)))
    subject_id: int | None = Field(default=None, sa_column=Column(Integer))
    community_id: int | None = Field(default=None, sa_column=Column(Integer))
    detail: Any = Field(default=None, sa_column=Column(JSONB))
