"""Password rules and argon2id hashing (no database)."""

from __future__ import annotations

import pytest

from domain.errors import InvalidInput
from domain.people.passwords import (
    check_password,
    common_passwords,
    hash_password,
    password_problem,
    verify_password,
)


@pytest.mark.parametrize(("password", "why"), [
    ("short-pass1", "at least 12"),
    ("password1234", "common"),
    ("Qwerty123456!", "common"),
    ("1q2w3e4r5t6y", "common"),
    ("aaaaaaaaaaaaaa", "too simple"),
    ("abababababab", "too simple"),
    ("abcdefghijklmnop", "too simple"),
    ("wangfang-2026-secure", "login"),
])
def test_weak_passwords_are_refused_saying_why(password: str, why: str) -> None:
    assert why in (password_problem(password, login="WangFang") or "")


def test_a_long_uncommon_password_passes() -> None:
    assert password_problem("violet-harbour-lantern-42", login="wangfang") is None


def test_the_shipped_list_holds_thousands_of_common_passwords() -> None:
    listed = common_passwords()
    assert len(listed) > 3000
    assert {"123456", "password", "qwerty123456"} <= listed


def test_a_refused_password_names_the_field() -> None:
    with pytest.raises(InvalidInput) as caught:
        check_password("too-short", login=None, field="input.password")
    (error,) = caught.value.errors
    assert (error.code, error.field) == ("WEAK_PASSWORD", "input.password")


async def test_hashes_are_argon2id_and_verify() -> None:
    stored = await hash_password("violet-harbour-lantern-42")
    assert stored.startswith("$argon2id$")
    assert await verify_password(stored, "violet-harbour-lantern-42")
    assert not await verify_password(stored, "violet-harbour-lantern-43")
    assert not await verify_password(None, "violet-harbour-lantern-42")  # a dummy is verified
