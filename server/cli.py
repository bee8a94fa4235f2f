"""The `gridsteward` command: dev, migrate, serve, worker, import, demo, token, account,
surveys, assess.

Every subcommand reads its settings from the environment (see README); `--help` explains each.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

from pydantic import ValidationError

from domain.settings import Settings

STATE_DIR = Path(os.environ.get("GRIDSTEWARD_HOME", ".gridsteward"))


def _settings() -> Settings:
    try:
        settings = Settings()
    except ValidationError as exc:
        raise SystemExit(f"gridsteward: bad settings:\n{exc}") from None
    if not settings.database_url:
        raise SystemExit("gridsteward: DATABASE_URL is not set (or use `gridsteward dev`, "
                         "which starts a local PostGIS)")
    return settings


def cmd_migrate(args: argparse.Namespace) -> int:
    """Bring the database schema up to date (safe to run twice)."""
    from migrations.runner import upgrade_database
    upgrade_database(_settings().database_url)
    print("database schema is up to date")
    return 0


def cmd_serve(args: argparse.Namespace) -> int:
    """Run the API with uvicorn."""
    import uvicorn
    _settings()  # fail early, with a readable message
    # proxy_headers off: TRUSTED_PROXIES alone decides whose X-Forwarded-For is believed
    # (schema.common.client_address); uvicorn would otherwise rewrite the peer for 127.0.0.1.
    uvicorn.run("server.asgi:app", host=args.host, port=args.port, workers=args.workers,
                log_level="info", access_log=False, proxy_headers=False)
    return 0


def cmd_worker(args: argparse.Namespace) -> int:
    """Run the Dramatiq worker for every queue, and beside it the periodic jobs: the sweep,
    the survey batch and the assessment refresh."""
    from workers.cli import run_worker
    _settings()  # fail early, with a readable message; each worker process reads them again
    return run_worker(processes=args.processes, threads=args.threads)


def _run_async(fn: Callable[..., object], *args: object) -> object:
    return asyncio.run(fn(*args))  # type: ignore[arg-type]


async def _import(url: str, collection: object) -> int:
    from domain.errors import InvalidInput
    from domain.infra.db import make_async_engine, session_factory, transaction
    from domain.people.audit import CLI
    from domain.spatial.importer import import_features
    engine = make_async_engine(url, pool_size=1)
    try:
        async with transaction(session_factory(engine)) as session:
            counts = await import_features(session, collection, actor=CLI)
    except InvalidInput as exc:
        for error in exc.errors:
            print(f"{error.code} {error.field or ''}: {error.message}", file=sys.stderr)
        return 1
    finally:
        await engine.dispose()
    print(f"subdistricts {counts.subdistricts}, communities {counts.communities}, grids "
          f"{counts.grids}, buildings {counts.buildings}, building groups "
          f"{counts.building_groups}")
    return 0


def cmd_import(args: argparse.Namespace) -> int:
    """Load a GeoJSON FeatureCollection as importFeatures does."""
    try:
        collection = json.loads(Path(args.file).read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        print(f"gridsteward import: cannot read {args.file}: {exc}", file=sys.stderr)
        return 1
    return int(_run_async(_import, _settings().database_url, collection))  # type: ignore[call-overload]


async def _demo(url: str) -> None:
    from domain.demo import load_demo
    from domain.infra.db import make_async_engine, session_factory, transaction
    engine = make_async_engine(url, pool_size=1)
    try:
        async with transaction(session_factory(engine)) as session:
            counts = await load_demo(session)
    finally:
        await engine.dispose()
    f = counts.features
    print(f"demo community loaded: {f.grids} grids, {f.buildings} buildings, "
          f"{f.building_groups} building groups, {counts.members} members, "
          f"{counts.organisations} partner organisations")


def cmd_demo(args: argparse.Namespace) -> int:
    """Load the demo community (idempotent)."""
    _run_async(_demo, _settings().database_url)
    return 0


def cmd_token(args: argparse.Namespace) -> int:
    """Print a bearer token for scripts and tests: `--admin` is city-wide (no account, no
    session: it stays valid until it expires), `--member ID` a member."""
    from server.auth import issue_token
    settings = _settings_for_token()
    token = issue_token(settings.secret_key, admin=args.admin, member_id=args.member,
                        ttl_seconds=args.ttl or settings.token_ttl_seconds)
    print(token)
    return 0


def cmd_account(args: argparse.Namespace) -> int:
    """Create a staff account (`account create`); the password comes from standard input."""
    from server import account_cli
    url = _settings().database_url
    password = account_cli.read_password()
    return int(_run_async(lambda: account_cli.create(  # type: ignore[call-overload]
        url, login=args.login, name=args.name, territories=args.territory,
        password=password)))


def cmd_surveys(args: argparse.Namespace) -> int:
    """Run one survey batch now and print the counts.

    It does what the worker does every SURVEY_BATCH_INTERVAL_SECONDS: schedules a survey for
    each completed request (SURVEY_DELAY_SECONDS after completion), sends the due ones with a
    one-time token after SURVEY_LINK, reminds once (SURVEY_REMINDER_SECONDS) and expires
    unanswered ones (SURVEY_EXPIRY_SECONDS). The messages it writes are delivered by
    `gridsteward worker`. While another batch is running (a worker's, most likely) it skips
    and says so. Safe to run at any time, from cron too."""
    return asyncio.run(_surveys(_settings()))


async def _surveys(settings: Settings) -> int:
    from domain.infra.db import make_async_engine
    from workers.periodic import run_once
    from workers.schedule import describe, survey_batch
    engine = make_async_engine(settings.database_url, pool_size=2)
    try:
        counts = await run_once(survey_batch(settings, engine), engine)
    finally:
        await engine.dispose()
    if counts is None:
        print("survey batch skipped: another one is running (a worker's, most likely)")
    else:
        print(f"survey batch: {describe(counts)}")
    return 0


def cmd_assess(args: argparse.Namespace) -> int:
    """Compute and store the member assessment snapshot of PERIOD, replacing any earlier one,
    and print how many members it covers.

    PERIOD is a month (2026-11) or a quarter (2026-Q4), in UTC. The worker refreshes the
    running month and quarter every ASSESSMENT_INTERVAL_SECONDS and finishes each period once
    it has ended; use this for any other period, or to recompute one now."""
    members = asyncio.run(_assess(_settings().database_url, args.period))
    print(f"assessment {args.period}: {members} member{'' if members == 1 else 's'}")
    return 0


async def _assess(url: str, period: str) -> int:
    from domain.infra.db import make_async_engine, session_factory, transaction
    from domain.surveys.assessment import assess_period
    from workers.jobs import utcnow
    engine = make_async_engine(url, pool_size=1)
    try:
        async with transaction(session_factory(engine)) as session:
            return await assess_period(session, period=period, now=utcnow())
    finally:
        await engine.dispose()


def _period(value: str) -> str:
    """PERIOD as argparse reads it: refused (exit status 2, with the reason) unless a month
    like 2026-11 or a quarter like 2026-Q4."""
    from domain.errors import InvalidInput
    from domain.surveys.assessment import period_bounds
    try:
        period_bounds(value)
    except InvalidInput as exc:
        raise argparse.ArgumentTypeError(exc.errors[0].message) from None
    return value.strip()


def _settings_for_token() -> Settings:
    try:
        return Settings()
    except ValidationError as exc:
        raise SystemExit(f"gridsteward: bad settings:\n{exc}") from None


def cmd_dev(args: argparse.Namespace) -> int:
    """Everything on one machine: local PostGIS, migrations, demo, API (and worker)."""
    from server.devrun import run_dev
    return run_dev(STATE_DIR, host=args.host, port=args.port)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="gridsteward", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    dev = sub.add_parser("dev", help=cmd_dev.__doc__)
    dev.add_argument("--host", default="127.0.0.1")
    dev.add_argument("--port", type=int, default=8000)
    dev.set_defaults(fn=cmd_dev)
    sub.add_parser("migrate", help=cmd_migrate.__doc__).set_defaults(fn=cmd_migrate)
    serve = sub.add_parser("serve", help=cmd_serve.__doc__)
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8000)
    serve.add_argument("--workers", type=int, default=1, help="uvicorn worker processes")
    serve.set_defaults(fn=cmd_serve)
    worker = sub.add_parser("worker", help=cmd_worker.__doc__)
    worker.add_argument("--processes", type=int, default=2)
    worker.add_argument("--threads", type=int, default=4)
    worker.set_defaults(fn=cmd_worker)
    imp = sub.add_parser("import", help=cmd_import.__doc__)
    imp.add_argument("file", help="a GeoJSON FeatureCollection (see importFeatures)")
    imp.set_defaults(fn=cmd_import)
    sub.add_parser("demo", help=cmd_demo.__doc__).set_defaults(fn=cmd_demo)
    token = sub.add_parser("token", help=cmd_token.__doc__)
    who = token.add_mutually_exclusive_group(required=True)
    who.add_argument("--admin", action="store_true",
                     help="the city-wide administrator, for scripts and tests")
    who.add_argument("--member", type=int, metavar="ID", help="a member, by database id")
    token.add_argument("--ttl", type=int, help="seconds until it expires (TOKEN_TTL_SECONDS)")
    token.set_defaults(fn=cmd_token)
    from server.account_cli import add_parser as add_account_parser
    add_account_parser(sub, cmd_account)
    _add_survey_commands(sub)
    return parser


def _add_survey_commands(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """`surveys` and `assess`, each explained in full by its --help."""
    _described(sub, "surveys", cmd_surveys)
    _described(sub, "assess", cmd_assess).add_argument(
        "period", type=_period, metavar="PERIOD",
        help="a month like 2026-11 or a quarter like 2026-Q4")


def _described(sub: argparse._SubParsersAction[argparse.ArgumentParser], name: str,
               fn: Callable[[argparse.Namespace], int]) -> argparse.ArgumentParser:
    """A subcommand running `fn`: its docstring's first paragraph in the list of commands,
    the whole docstring in its own --help."""
    doc = fn.__doc__ or ""
    command = sub.add_parser(name, help=" ".join(doc.split("\n\n")[0].split()),
                             description=doc)
    command.set_defaults(fn=fn)
    return command


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the `gridsteward` console script."""
    args = build_parser().parse_args(argv)
    return int(args.fn(args))


if __name__ == "__main__":
    sys.exit(main())
