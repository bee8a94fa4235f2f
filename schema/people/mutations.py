"""Mutations of people: signing in and out, refreshing a session, and staff accounts.

The sign-in mutations are open to anonymous callers. Their failures come back in `errors`;
those that must leave a trace (a wrong code counts against it, a reused refresh token ends
its session) commit it, everything else changes nothing.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime

import strawberry

from domain.errors import InvalidInput, UserError
from domain.infra.db import transaction
from domain.people import accounts, sessions, signin
from domain.people.audit import actor_of
from domain.people.models import TerritoryLevel
from domain.people.sessions import Issued
from domain.people.territories import Territory as TerritoryRow
from domain.people.territories import check_shapes, of_level
from schema.common.context import Info, Tokens
from schema.common.errors import PublicError
from schema.common.ids import decode_id
from schema.common.payloads import UserErrorType
from schema.common.rate_limits import SIGN_IN, SIGN_IN_CODE, RateLimited
from schema.people.types import (
    Session,
    SessionPayload,
    SignInCodePayload,
    SignOutPayload,
    StaffAccount,
    StaffAccountInput,
    StaffAccountPayload,
    StaffAccountUpdateInput,
    TerritoryInput,
)

_ID_TYPE = {TerritoryLevel.SUBDISTRICT: "Subdistrict", TerritoryLevel.COMMUNITY: "Community"}


def _now() -> datetime:
    return datetime.now(UTC)


def _tokens(info: Info) -> Tokens:
    if info.context.tokens is None:
        raise PublicError("signing in is not configured on this server", code="UNAVAILABLE")
    return info.context.tokens


def _answer(info: Info, outcome: Issued | UserError, now: datetime) -> SessionPayload:
    if isinstance(outcome, UserError):
        return SessionPayload(errors=UserErrorType.list_of([outcome]))
    token, expires = _tokens(info).access_token(
        session_id=outcome.session_id, account_id=outcome.account_id,
        member_id=outcome.member_id, now=now)
    return SessionPayload(session=Session(
        access_token=token, access_token_expires_at=expires,
        refresh_token=outcome.refresh_token,
        refresh_token_expires_at=outcome.refresh_expires_at))


def _territories(given: Sequence[TerritoryInput], field: str) -> list[TerritoryRow]:
    check_shapes([(t.level, None if t.id is None else 0) for t in given], field)
    return [of_level(t.level, None if t.id is None else decode_id(
        t.id, _ID_TYPE[t.level], f"{field}[{i}].id")) for i, t in enumerate(given)]


@strawberry.type
class PeopleMutation:
    @strawberry.mutation(extensions=[RateLimited(SIGN_IN, "login")], description="Staff "
                         "sign-in. A wrong login or password, or an inactive account, all "
                         "answer SIGN_IN_FAILED alike. RATE_LIMITED per address and login.")
    async def sign_in_with_password(self, info: Info, login: str,
                                    password: str) -> SessionPayload:
        now = _now()
        _tokens(info)
        async with transaction(info.context.sessions) as session:
            outcome = await signin.sign_in_with_password(
                session, login=login, password=password, now=now,
                ttl=info.context.settings.refresh_ttl)
        return _answer(info, outcome, now)

    @strawberry.mutation(extensions=[RateLimited(SIGN_IN_CODE, "phone")], description="Member "
                         "sign-in, step 1: sends a 6-digit code (SIGN_IN_CODE, valid 5 "
                         "minutes) to the phone when it is a member's; the answer is the same "
                         "when it is not. INVALID_PHONE for a number that is not a mainland "
                         "mobile. RATE_LIMITED per address and phone.")
    async def request_sign_in_code(self, info: Info, phone: str) -> SignInCodePayload:
        try:
            async with transaction(info.context.sessions) as session:
                sent = await signin.request_code(
                    session, phone=phone, now=_now(), key=_tokens(info).code_key,
                    channel=info.context.settings.outbound_channel)
        except InvalidInput as exc:
            return SignInCodePayload(errors=UserErrorType.list_of(exc.errors))
        if sent.message_id is not None and info.context.background is not None:
            info.context.background.send(sent.message_id)
        return SignInCodePayload(sent_to=sent.sent_to, expires_at=sent.expires_at)

    @strawberry.mutation(extensions=[RateLimited(SIGN_IN, "phone")], description="Member "
                         "sign-in, step 2: the code sent to the phone. Good once; five wrong "
                         "tries void it; SIGN_IN_FAILED alike for a wrong, expired or used "
                         "code and a phone that is no member's. RATE_LIMITED per address and "
                         "phone.")
    async def sign_in_with_code(self, info: Info, phone: str, code: str) -> SessionPayload:
        now = _now()
        try:
            async with transaction(info.context.sessions) as session:
                outcome = await signin.sign_in_with_code(
                    session, phone=phone, code=code, now=now, key=_tokens(info).code_key,
                    ttl=info.context.settings.refresh_ttl)
        except InvalidInput as exc:
            return SessionPayload(errors=UserErrorType.list_of(exc.errors))
        return _answer(info, outcome, now)

    @strawberry.mutation(extensions=[RateLimited(SIGN_IN)], description="A new token pair for "
                         "a refresh token, which stops working. Errors (field refreshToken): "
                         "INVALID_TOKEN, EXPIRED, REVOKED, and REUSED, which also ends the "
                         "session: sign in again. RATE_LIMITED per address.")
    async def refresh_session(self, info: Info, refresh_token: str) -> SessionPayload:
        now = _now()
        _tokens(info)
        async with transaction(info.context.sessions) as session:
            outcome = await sessions.rotate(session, token=refresh_token, now=now,
                                            ttl=info.context.settings.refresh_ttl)
        return _answer(info, outcome, now)

    @strawberry.mutation(description="Ends the session of a refresh token: it and the session's "
                         "access tokens stop working at once.")
    async def sign_out(self, info: Info, refresh_token: str) -> SignOutPayload:
        async with transaction(info.context.sessions) as session:
            error = await sessions.revoke(session, token=refresh_token, now=_now())
        if error is not None:
            return SignOutPayload(errors=UserErrorType.list_of([error]))
        return SignOutPayload(signed_out=True)

    @strawberry.mutation(description="A new staff account, with "
                         "territories within the caller's own. Errors name the field: "
                         "INVALID_VALUE, LOGIN_TAKEN, WEAK_PASSWORD, NOT_FOUND, FORBIDDEN.")
    async def create_staff_account(self, info: Info,
                                   input: StaffAccountInput) -> StaffAccountPayload:
        try:
            territories = _territories(input.territories, "input.territories")
            async with transaction(info.context.sessions) as session:
                account = await accounts.create_account(
                    session, scope=info.context.viewer.scope, login=input.login,
                    name=input.name, password=input.password, territories=territories,
                    actor=actor_of(info.context.viewer))
        except InvalidInput as exc:
            return StaffAccountPayload(errors=UserErrorType.list_of(exc.errors))
        return StaffAccountPayload(account=StaffAccount.of(account))

    @strawberry.mutation(description="Changes a staff account within "
                         "the caller's territories: name, password (ends its other sessions), "
                         "active (false ends every session at once), territories.")
    async def update_staff_account(self, info: Info, id: strawberry.ID,
                                   input: StaffAccountUpdateInput) -> StaffAccountPayload:
        viewer = info.context.viewer
        try:
            change = accounts.AccountChange(
                name=input.name, password=input.password, active=input.active,
                territories=None if input.territories is None else _territories(
                    input.territories, "input.territories"))
            async with transaction(info.context.sessions) as session:
                account = await accounts.update_account(
                    session, scope=viewer.scope, account_id=decode_id(id, "StaffAccount", "id"),
                    change=change, now=_now(), keep_session=viewer.session_id,
                    actor=actor_of(viewer))
        except InvalidInput as exc:
            return StaffAccountPayload(errors=UserErrorType.list_of(exc.errors))
        return StaffAccountPayload(account=StaffAccount.of(account))
