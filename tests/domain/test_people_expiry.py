"""Expired sign-in codes and refresh tokens are purged; live ones and sessions stay."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import text

from domain.infra.db import transaction
from domain.people.expiry import Purged, purge_expired
from domain.people.sessions import rotate, start_session
from tests.people_factory import make_member
from workers.schedule import periodic_jobs

NOW = datetime(2026, 12, 1, 12, tzinfo=UTC)


async def _counts(sessions: Any) -> tuple[int, int, int]:
    async with sessions() as session:
        row = (await session.execute(text(
            "SELECT (SELECT count(*) FROM sign_in_code), (SELECT count(*) FROM refresh_token), "
            "(SELECT count(*) FROM auth_session)"))).one()
    return int(row[0]), int(row[1]), int(row[2])


async def test_expired_codes_and_tokens_are_purged(sessions: Any) -> None:
    member = await make_member(sessions, "13812345678")
    async with transaction(sessions) as session:
        old = await start_session(session, now=NOW - timedelta(days=40), member_id=member,
                                  ttl=timedelta(days=30))
        live = await start_session(session, now=NOW - timedelta(days=1), member_id=member,
                                   ttl=timedelta(days=30))
        await rotate(session, token=live.refresh_token, now=NOW - timedelta(hours=1),
                     ttl=timedelta(days=30))
        for age in (timedelta(minutes=10), timedelta(minutes=1)):
            await session.execute(text(
                "INSERT INTO sign_in_code (phone, member_id, nonce, code_hash, created_at, "
                "expires_at) VALUES ('13812345678', :m, :nonce, 'x', :at, :expires)"),
                {"m": member, "nonce": str(age), "at": NOW - age,
                 "expires": NOW - age + timedelta(minutes=5)})
    assert await _counts(sessions) == (2, 3, 2)
    purged = await purge_expired(sessions, now=NOW, batch=1)
    assert purged == Purged(codes=1, refresh_tokens=1)
    assert await _counts(sessions) == (1, 2, 2)  # the sessions stay
    assert old.session_id != live.session_id
    assert await purge_expired(sessions, now=NOW) == Purged(0, 0)


def test_the_purge_is_a_row_of_the_schedule(engine: Any) -> None:
    from tests.settings import make_settings
    jobs = periodic_jobs(make_settings(), actors=None, engine=engine)  # type: ignore[arg-type]
    assert "sign-in purge" in [job.name for job in jobs]
