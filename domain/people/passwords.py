"""Staff passwords: argon2id hashes (argon2-cffi's PasswordHasher, its RFC 9106 low-memory
defaults), and the rules a new password must pass.

A password is refused, naming the field, when it is shorter than MIN_LENGTH, is (apart from
case, and digits or symbols around it) on the shipped list of common passwords, uses fewer
than MIN_DISTINCT different characters, is a straight run like `abcdefghijkl`, or contains the
login. Hashing is slow on purpose (tens of milliseconds), so callers run it in a thread.
"""

from __future__ import annotations

import asyncio
import itertools
import re
from functools import cache
from importlib.resources import files

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from domain.errors import InvalidInput

MIN_LENGTH = 12
MAX_LENGTH = 200
MIN_DISTINCT = 4

_HASHER = PasswordHasher()  # argon2id
_EDGES = re.compile(r"^[\d\W_]+|[\d\W_]+$")


@cache
def common_passwords() -> frozenset[str]:
    """The shipped list (domain/people/common_passwords.txt), lower-cased."""
    text = files("domain.people").joinpath("common_passwords.txt").read_text(encoding="utf-8")
    return frozenset(line for line in text.splitlines() if line and not line.startswith("#"))


def _is_run(password: str) -> bool:
    steps = {ord(b) - ord(a) for a, b in itertools.pairwise(password)}
    return len(steps) == 1 and steps <= {-1, 1}


def password_problem(password: str, *, login: str | None = None) -> str | None:
    """Why `password` may not be used, in words for the person choosing it; None when fine."""
    if len(password) < MIN_LENGTH:
        return f"the password must have at least {MIN_LENGTH} characters"
    if len(password) > MAX_LENGTH:
        return f"the password must have at most {MAX_LENGTH} characters"
    lowered = password.lower()
    core = _EDGES.sub("", lowered)
    common = common_passwords()
    if lowered in common or (len(core) >= 4 and core in common):
        return "this password is one of the most common passwords: choose another"
    if len(set(password)) < MIN_DISTINCT or _is_run(lowered):
        return "the password is too simple (too few different characters, or a straight run)"
    if login and len(login) >= 3 and login.lower() in lowered:
        return "the password must not contain the login"
    return None


def check_password(password: str, *, login: str | None, field: str) -> None:
    """InvalidInput (WEAK_PASSWORD, naming `field`) when the password may not be used."""
    problem = password_problem(password, login=login)
    if problem:
        raise InvalidInput.one("WEAK_PASSWORD", problem, field)


async def hash_password(password: str) -> str:
    """The argon2id hash to store (computed in a thread: it takes tens of milliseconds)."""
    return await asyncio.to_thread(_HASHER.hash, password)


def _verify(stored: str, password: str) -> bool:
    try:
        return _HASHER.verify(stored, password)
    except (VerificationError, InvalidHashError):
        return False


@cache
def _dummy_hash() -> str:
    """Verified against when the login is unknown, so that answering takes as long as for a
    known login with a wrong password."""
    return _HASHER.hash("not the password of anyone: a dummy to verify against")


async def verify_password(stored: str | None, password: str) -> bool:
    """Whether `password` matches the stored hash; with no hash (unknown login) a dummy one is
    verified instead, taking the same time, and the answer is False."""
    if stored is None:
        await asyncio.to_thread(_verify, _dummy_hash(), password)
        return False
    return await asyncio.to_thread(_verify, stored, password)
