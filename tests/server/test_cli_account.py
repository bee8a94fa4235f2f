"""`gridsteward account create` as an operator runs it: a real process on the test database,
the password on standard input, errors naming the option, exit status 1, nothing created."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from typing import Any

from sqlalchemy import text

from tests.conftest import ROOT
from tests.people_factory import GOOD_PASSWORD, load_places


def account(*args: str, password: str, database_url: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "DATABASE_URL": database_url, "GRIDSTEWARD_ENV": "test"}
    return subprocess.run([sys.executable, "-m", "server.cli", "account", "create", *args],
                          cwd=ROOT, env=env, input=password + "\n", capture_output=True,
                          text=True, timeout=60)


async def _accounts(sessions: Any) -> list[tuple[Any, ...]]:
    async with sessions() as session:
        return [tuple(r) for r in (await session.execute(text("""
            SELECT a.login, a.name, t.level, s.code, c.code FROM staff_account a
            JOIN account_territory t ON t.account_id = a.id
            LEFT JOIN subdistrict s ON s.id = t.subdistrict_id
            LEFT JOIN community c ON c.id = t.community_id ORDER BY t.id"""))).all()]


async def test_account_create_reads_the_password_from_stdin(sessions: Any,
                                                            database_url: str) -> None:
    await load_places(sessions)
    done = await asyncio.to_thread(
        account, "--login", "chenjing", "--name", "陈静", "--territory", "subdistrict:S1",
        "--territory", "community:C3", password=GOOD_PASSWORD, database_url=database_url)
    assert (done.returncode, done.stderr) == (0, ""), done.stderr
    assert done.stdout.startswith("staff account chenjing created")
    assert GOOD_PASSWORD not in done.stdout
    assert await _accounts(sessions) == [("chenjing", "陈静", "SUBDISTRICT", "S1", None),
                                         ("chenjing", "陈静", "COMMUNITY", None, "C3")]


async def test_account_create_refuses_bad_input_naming_the_option(sessions: Any,
                                                                  database_url: str) -> None:
    await load_places(sessions)
    cases = [(("--territory", "community:NOPE"), GOOD_PASSWORD, "NOT_FOUND --territory"),
             (("--territory", "city"), "short", "WEAK_PASSWORD password (standard input)"),
             (("--territory", "street:S1"), GOOD_PASSWORD, "INVALID_VALUE --territory")]
    for args, password, error in cases:
        done = await asyncio.to_thread(account, "--login", "chenjing", "--name", "陈静", *args,
                                       password=password, database_url=database_url)
        assert done.returncode == 1 and done.stderr.startswith(error), done.stderr
    assert await _accounts(sessions) == []
