"""Tokens are signed and expire, session tokens name their session; settings refuse a
placeholder secret outside dev."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

import jwt
import pytest
from pydantic import ValidationError

from domain.settings import Settings
from server.auth import Claims, SessionTokens, TokenError, bearer_token, issue_token, read_token

SECRET = "a-test-secret-that-is-long-enough-for-hs256-0123456789"


def test_admin_and_member_tokens_round_trip() -> None:
    assert read_token(SECRET, issue_token(SECRET, admin=True)) == Claims(True, None)
    assert read_token(SECRET, issue_token(SECRET, member_id=7)) == Claims(False, 7)


def test_expired_token_is_refused() -> None:
    token = issue_token(SECRET, admin=True, ttl_seconds=60, now=time.time() - 3600)
    with pytest.raises(TokenError, match="expired"):
        read_token(SECRET, token)


def test_forged_token_is_refused() -> None:
    token = issue_token("another-secret-of-sufficient-length-for-hs256-000000", admin=True)
    with pytest.raises(TokenError, match="signature"):
        read_token(SECRET, token)


def test_garbage_token_is_refused() -> None:
    with pytest.raises(TokenError):
        read_token(SECRET, "not.a.token")


def test_token_is_for_exactly_one_kind_of_caller() -> None:
    with pytest.raises(ValueError):
        issue_token(SECRET, admin=True, member_id=3)


@pytest.mark.parametrize(("header", "token"), [(None, None), ("Bearer abc", "abc"),
                                               ("bearer  abc ", "abc")])
def test_bearer_header(header: str | None, token: str | None) -> None:
    assert bearer_token(header) == token


@pytest.mark.parametrize("header", ["Basic abc", "Bearer", "Bearer   "])
def test_malformed_bearer_header(header: str) -> None:
    with pytest.raises(TokenError):
        bearer_token(header)


@pytest.mark.parametrize("secret", ["", "changeme", "short"])
def test_placeholder_secret_refused_outside_dev(secret: str) -> None:
    with pytest.raises(ValidationError, match="SECRET_KEY"):
        Settings(GRIDSTEWARD_ENV="production", SECRET_KEY=secret)


def test_dev_accepts_a_generated_secret_and_urls_are_checked() -> None:
    settings = Settings(GRIDSTEWARD_ENV="dev", SECRET_KEY="x",
                        DATABASE_URL="postgresql://u@h/db")
    assert settings.database_url == "postgresql+psycopg://u@h/db"
    with pytest.raises(ValidationError, match="DATABASE_URL"):
        Settings(GRIDSTEWARD_ENV="dev", DATABASE_URL="mysql://u@h/db")


def test_session_tokens_name_their_session_and_expire_as_set() -> None:
    now = datetime.now(UTC).replace(microsecond=0)
    tokens = SessionTokens(SECRET, timedelta(seconds=Settings(
        GRIDSTEWARD_ENV="dev").access_token_ttl_seconds))
    token, expires = tokens.access_token(session_id=5, account_id=3, member_id=None, now=now)
    assert read_token(SECRET, token) == Claims(False, None, account_id=3, session_id=5)
    assert expires == now + timedelta(minutes=15)
    member, _ = tokens.access_token(session_id=6, account_id=None, member_id=9, now=now)
    assert read_token(SECRET, member) == Claims(False, 9, session_id=6)
    assert Settings(GRIDSTEWARD_ENV="dev").refresh_ttl == timedelta(days=30)
    sessionless = jwt.encode({"sub": "account:3", "iss": "gridsteward", "iat": 1,
                              "exp": 2 ** 40}, SECRET, algorithm="HS256")
    with pytest.raises(TokenError, match="session"):
        read_token(SECRET, sessionless)  # account tokens exist only for sessions
