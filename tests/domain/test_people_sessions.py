"""Sessions: refresh-token rotation, reuse detection ending the whole chain, expiry, signOut,
and the viewer look-up refusing a token of an ended session or of a member who left."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import text

from domain.access import load_viewer
from domain.errors import UserError
from domain.infra.db import transaction
from domain.people.sessions import Issued, hash_token, revoke, rotate, start_session
from tests.people_factory import load_places, make_account, make_member

NOW = datetime(2026, 12, 1, 10, 0, tzinfo=UTC)


async def _start(sessions: Any, **who: int) -> Issued:
    async with transaction(sessions) as session:
        return await start_session(session, now=NOW, ttl=timedelta(days=30), **who)


async def _rotate(sessions: Any, token: str, at: datetime = NOW) -> Issued | UserError:
    async with transaction(sessions) as session:
        return await rotate(session, token=token, now=at, ttl=timedelta(days=30))


def _code(outcome: Issued | UserError) -> str:
    assert isinstance(outcome, UserError), outcome
    assert outcome.field == "refreshToken"
    return outcome.code


async def _signed_in(sessions: Any, issued: Issued) -> bool:
    async with sessions() as session:
        viewer = await load_viewer(session, admin=False, member_id=issued.member_id,
                                   account_id=issued.account_id, session_id=issued.session_id)
    return viewer.authenticated


async def test_refresh_tokens_are_stored_only_as_their_hash(sessions: Any) -> None:
    issued = await _start(sessions, member_id=await make_member(sessions, "13800001111"))
    async with sessions() as session:
        stored = (await session.execute(text("SELECT token_hash FROM refresh_token")))\
            .scalar_one()
    assert len(issued.refresh_token) >= 43  # 256 bits, URL-safe base64
    assert stored == hash_token(issued.refresh_token) != issued.refresh_token


async def test_rotation_replaces_the_token_and_reuse_ends_the_chain(sessions: Any) -> None:
    issued = await _start(sessions, member_id=await make_member(sessions, "13800001111"))
    second = await _rotate(sessions, issued.refresh_token)
    assert isinstance(second, Issued) and second.session_id == issued.session_id
    third = await _rotate(sessions, second.refresh_token)
    assert isinstance(third, Issued)
    assert _code(await _rotate(sessions, issued.refresh_token)) == "REUSED"  # replayed
    assert _code(await _rotate(sessions, third.refresh_token)) == "REVOKED"  # chain ended
    assert not await _signed_in(sessions, third)  # its access tokens too


async def test_an_expired_or_unknown_refresh_token_is_refused(sessions: Any) -> None:
    issued = await _start(sessions, member_id=await make_member(sessions, "13800001111"))
    later = NOW + timedelta(days=30, seconds=1)
    assert _code(await _rotate(sessions, issued.refresh_token, later)) == "EXPIRED"
    assert _code(await _rotate(sessions, "not-a-token")) == "INVALID_TOKEN"
    assert isinstance(await _rotate(sessions, issued.refresh_token), Issued)  # unchanged


async def test_sign_out_ends_the_session_and_its_access_tokens(sessions: Any) -> None:
    ids = await load_places(sessions)
    account = await make_account(sessions, ids, "zhaolei", "C1")
    issued = await _start(sessions, account_id=account)
    assert await _signed_in(sessions, issued)
    async with transaction(sessions) as session:
        assert await revoke(session, token=issued.refresh_token, now=NOW) is None
    assert not await _signed_in(sessions, issued)
    assert _code(await _rotate(sessions, issued.refresh_token)) == "REVOKED"
    async with transaction(sessions) as session:
        assert _code(await revoke(session, token="nope", now=NOW)) == "INVALID_TOKEN"  # type: ignore[arg-type]


async def test_a_member_who_leaves_is_refused_at_once(sessions: Any) -> None:
    member_id = await make_member(sessions, "13800001111")
    issued = await _start(sessions, member_id=member_id)
    assert await _signed_in(sessions, issued)
    async with transaction(sessions) as session:
        await session.execute(text("UPDATE member SET status = 'EXITED' WHERE id = :id"),
                              {"id": member_id})
    assert not await _signed_in(sessions, issued)
    assert _code(await _rotate(sessions, issued.refresh_token)) == "REVOKED"


async def test_a_session_token_must_match_its_session(sessions: Any) -> None:
    member_id = await make_member(sessions, "13800001111")
    other = await make_member(sessions, "13800002222")
    issued = await _start(sessions, member_id=member_id)
    async with sessions() as session:
        forged = await load_viewer(session, admin=False, member_id=other,
                                   session_id=issued.session_id)
        account = await load_viewer(session, admin=False, member_id=None, account_id=1)
    assert not forged.authenticated
    assert not account.authenticated  # account tokens exist only for sessions
