"""`gridsteward account create`: a staff account from the command line, city-wide rights.

The password is read from standard input (one line; a prompt without echo when it is a
terminal), never from the arguments, where `ps` and shell histories would keep it.
"""

from __future__ import annotations

import argparse
import getpass
import sys
from collections.abc import Callable, Sequence


def read_password() -> str:
    """The new password: prompted twice on a terminal, else the first line of stdin."""
    if sys.stdin.isatty():
        first = getpass.getpass("password: ")
        if getpass.getpass("again: ") != first:
            raise SystemExit("gridsteward account: the two passwords differ")
        return first
    return sys.stdin.readline().rstrip("\r\n")


async def create(url: str, *, login: str, name: str, territories: Sequence[str],
                 password: str) -> int:
    """Create the account; print its id, or the errors (exit status 1)."""
    from domain.access import CITY
    from domain.errors import InvalidInput
    from domain.infra.db import make_async_engine, session_factory, transaction
    from domain.people.accounts import create_account
    from domain.people.territories import parse_territories
    engine = make_async_engine(url, pool_size=1)
    try:
        async with transaction(session_factory(engine)) as session:
            found = await parse_territories(session, territories)
            account = await create_account(session, scope=CITY, login=login, name=name,
                                           password=password, territories=found, field="")
    except InvalidInput as exc:
        for error in exc.errors:
            print(f"{error.code} {_option(error.field)}: {error.message}", file=sys.stderr)
        return 1
    finally:
        await engine.dispose()
    print(f"staff account {account.login} created (id {account.id})")
    return 0


def _option(field: str | None) -> str:
    """The option an error is about: `.territories[1].id` is --territory, `.password` the
    password read from standard input."""
    name = (field or "").lstrip(".-").split(".")[0].split("[")[0]
    if name == "password":
        return "password (standard input)"
    return "--territory" if name == "territories" else f"--{name}" if name else ""


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser],
               run: Callable[[argparse.Namespace], int]) -> None:
    """`account create --login L --name N --territory T [--territory T ...]`."""
    account = sub.add_parser("account", help="staff accounts: `account create` (the password "
                             "is read from standard input)")
    actions = account.add_subparsers(dest="action", required=True)
    new = actions.add_parser("create", help="create a staff account", description=(
        "Create a staff account. The password (12+ characters, not a common one) is read "
        "from standard input. T is `city`, `subdistrict:CODE` or `community:CODE`."))
    new.add_argument("--login", required=True)
    new.add_argument("--name", required=True)
    new.add_argument("--territory", action="append", required=True, metavar="T",
                     help="city, subdistrict:CODE or community:CODE (repeatable)")
    new.set_defaults(fn=run)
