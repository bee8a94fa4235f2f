"""GraphQL types of people: Territory, StaffAccount, Session, Viewer, their inputs and
payloads (contract/people.graphql)."""

from __future__ import annotations

from datetime import datetime

import strawberry
from strawberry.scalars import JSON

from domain.people import models
from domain.people.models import TerritoryLevel
from domain.people.territories import Territory as TerritoryRow
from schema.common.context import Info
from schema.common.ids import encode_id
from schema.common.node import Node
from schema.common.payloads import UserErrorType
from schema.spatial.types import Community, Member, Subdistrict, _one

strawberry.enum(TerritoryLevel, description="Where an administrator's rights reach: the whole "
                "CITY, one SUBDISTRICT (街道, with its communities) or one COMMUNITY (社区).")


@strawberry.type(description="One territory of an administrator.")
class Territory:
    row: strawberry.Private[TerritoryRow]
    level: TerritoryLevel

    @classmethod
    def of(cls, row: TerritoryRow) -> Territory:
        return cls(row=row, level=row.level)

    @strawberry.field(description="Set for SUBDISTRICT.")
    async def subdistrict(self, info: Info) -> Subdistrict | None:
        if self.row.subdistrict_id is None:
            return None
        found = await info.context.loaders.subdistrict.load(self.row.subdistrict_id)
        return None if found is None else Subdistrict.of(found)

    @strawberry.field(description="Set for COMMUNITY.")
    async def community(self, info: Info) -> Community | None:
        if self.row.community_id is None:
            return None
        found = await info.context.loaders.community.load(self.row.community_id)
        return None if found is None else Community.of(found)


@strawberry.input(description="A territory to give an account: CITY takes no id; SUBDISTRICT "
                  "and COMMUNITY take the id of a Subdistrict or Community.")
class TerritoryInput:
    level: TerritoryLevel
    id: strawberry.ID | None = None


@strawberry.type(description="A staff account (community or subdistrict committee staff) that "
                 "signs in with a login and a password.")
class StaffAccount(Node):
    row: strawberry.Private[models.StaffAccount]
    login: str
    name: str
    active: bool
    last_sign_in_at: datetime | None

    @classmethod
    def of(cls, row: models.StaffAccount) -> StaffAccount:
        return cls(id=strawberry.ID(encode_id("StaffAccount", row.id or 0)), row=row,
                   login=row.login, name=row.name, active=row.active,
                   last_sign_in_at=row.last_sign_in_at)

    @strawberry.field(description="Where this account administers.")
    async def territories(self, info: Info) -> list[Territory]:
        return [Territory.of(t) for t in
                await info.context.loaders.territories_of_account.load(self.row.id or 0)]


@strawberry.type(description="What a sign-in or refresh answers. Send `accessToken` as "
                 "`Authorization: Bearer <accessToken>` until it expires (minutes), then "
                 "exchange `refreshToken` with refreshSession for a new pair (the old refresh "
                 "token stops working; keep it secret, e.g. in the platform's secure storage).")
class Session:
    access_token: str
    access_token_expires_at: datetime
    refresh_token: str
    refresh_token_expires_at: datetime


@strawberry.type(description="The caller: a staff account, or a member (who may also be a grid "
                 "worker); for an anonymous caller `viewer` is null.")
class Viewer:
    account: StaffAccount | None
    member: Member | None
    territories: list[Territory] = strawberry.field(
        description="Where the caller administers; empty for a member. The `gridsteward token "
        "--admin` token of scripts is CITY.")


@strawberry.input(description="A new staff account.")
class StaffAccountInput:
    login: str = strawberry.field(description="3 to 64 letters, digits, dots, dashes or "
                                  "underscores; compared without case.")
    name: str
    password: str = strawberry.field(description="At least 12 characters, not a common "
                                     "password, not containing the login.")
    territories: list[TerritoryInput] = strawberry.field(
        description="At least one, each within the caller's own territories.")


@strawberry.input(description="Changes to a staff account; what is left out stays as it is.")
class StaffAccountUpdateInput:
    name: str | None = None
    password: str | None = strawberry.field(default=None, description="A new password ends "
                                            "every other session of the account.")
    active: bool | None = strawberry.field(default=None, description="false: every session of "
                                           "the account ends at once.")
    territories: list[TerritoryInput] | None = strawberry.field(
        default=None, description="Replaces them all; each within the caller's territories.")


@strawberry.type(description="A new session, or why not.")
class SessionPayload:
    session: Session | None = None
    errors: list[UserErrorType] = strawberry.field(default_factory=list)


@strawberry.type(description="A code is on its way (when the phone is a member's: the answer "
                 "is the same either way).")
class SignInCodePayload:
    sent_to: str | None = strawberry.field(default=None, description="The phone, masked.")
    expires_at: datetime | None = None
    errors: list[UserErrorType] = strawberry.field(default_factory=list)


@strawberry.type
class SignOutPayload:
    signed_out: bool = False
    errors: list[UserErrorType] = strawberry.field(default_factory=list)


@strawberry.type
class StaffAccountPayload:
    account: StaffAccount | None = None
    errors: list[UserErrorType] = strawberry.field(default_factory=list)


@strawberry.type(description="One line of the audit trail: who did or saw what. Append-only; "
                 "kept AUDIT_RETENTION_DAYS (three years by default).")
class AuditEntry(Node):
    row: strawberry.Private[models.AuditEntry]
    at: datetime
    actor: str = strawberry.field(description='"account:<id>", "member:<id>", "resident" '
                                  '(anonymous), "cli" (the command line and the admin token '
                                  'of scripts) or "system" (the workers).')
    action: str = strawberry.field(description="SIGN_IN, SIGN_IN_FAILED, SIGN_OUT, "
                                   "SESSION_REFRESHED, REUSE_DETECTED, ACCOUNT_CREATED, "
                                   "ACCOUNT_UPDATED, MEMBER_CREATED, IMPORT, REQUEST_ASSIGNED, "
                                   "REQUEST_CANCELLED, PHONE_REVEALED.")
    subject_id: strawberry.ID | None = strawberry.field(description="The Node concerned, when "
                                                        "there is one.")
    detail: JSON | None = strawberry.field(description="What changed (before and after) or "
                                           "was seen (whose phone, at which field path); "
                                           "never a password, code or token.")

    @classmethod
    def of(cls, row: models.AuditEntry) -> AuditEntry:
        subject = (None if row.subject_type is None or row.subject_id is None
                   else strawberry.ID(encode_id(row.subject_type, row.subject_id)))
        assert row.at is not None
        return cls(id=strawberry.ID(encode_id("AuditEntry", row.id or 0)), row=row, at=row.at,
                   actor=row.actor, action=row.action, subject_id=subject, detail=row.detail)

    @strawberry.field(description="Where it happened, for territory filtering.")
    async def community(self, info: Info) -> Community | None:
        return await _one(info.context.loaders.community, self.row.community_id, Community.of)
