"""Test fixtures: a real PostGIS for the whole session, migrated once, emptied before each test.

The database is TEST_DATABASE_URL when set (it will be emptied!), else `gridsteward_test` in
the project's local cluster (.gridsteward/pg), created afresh for each run. Without PostGIS the
database tests are skipped locally with the reason, and fail in CI.
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from domain.access import Viewer
from domain.infra.db import dispose_engine, make_async_engine, session_factory
from domain.settings import Settings
from migrations.runner import upgrade_database
from schema.app import build_schema
from schema.common.context import Context
from server.auth import SessionTokens
from tests.settings import make_settings

ADMIN = Viewer(admin=True)
ROOT = Path(__file__).resolve().parent.parent
TABLES = ("subdistrict, staff_account, account_territory, auth_session, refresh_token, "
          "sign_in_code, community, grid, building_group, building, member, grid_worker, "
          "service_request, request_event, outbound_message, audit_entry, rate_limit_bucket, "
          "request_photo, media_blob, "
          "calendar_override, "
          "organisation, member_status_change, candidate_notice, objection, "
          "grid_boundary_version, "
          "dramatiq.queue")
os.environ.setdefault("GRIDSTEWARD_ENV", "test")
os.environ.setdefault("SECRET_KEY", "test-secret-key-used-only-by-the-test-suite-0123456789")
#: Signs the access tokens of sign-ins made through `Api` (and keys their sign-in codes).
TOKENS = SessionTokens(os.environ["SECRET_KEY"])


def _fresh_local_database() -> str:
    from server.localdb import ensure_local_cluster
    cluster = ensure_local_cluster(ROOT / ".gridsteward" / "pg", databases=())
    admin = cluster.url("postgres").replace("postgresql+psycopg", "postgresql")
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute("DROP DATABASE IF EXISTS gridsteward_test WITH (FORCE)")
        conn.execute("CREATE DATABASE gridsteward_test")
    return cluster.url("gridsteward_test")


def _without_autovacuum(url: str) -> None:
    """Autovacuum off for the test database's tables. Its ANALYZE would sample whatever
    rows a test left at that moment (every request in one community, all DISPATCHED), and
    those statistics outlive the next TRUNCATE: the plans the plan tests check
    (tests/plans.py) would then depend on timing. The tests that need statistics make them
    (ANALYZE of their own data); the workers' "table statistics" job is off in tests too
    (tests/workers/live.py)."""
    conninfo = url.replace("postgresql+psycopg://", "postgresql://", 1)
    with psycopg.connect(conninfo, autocommit=True) as conn:
        tables = conn.execute("SELECT quote_ident(schemaname) || '.' || quote_ident(tablename)"
                              " FROM pg_tables WHERE tableowner = current_user"
                              " AND schemaname NOT IN ('pg_catalog', 'information_schema')"
                              ).fetchall()
        for (table,) in tables:
            conn.execute(f"ALTER TABLE {table} SET (autovacuum_enabled = false)")


@pytest.fixture(scope="session")
def database_url() -> str:
    """A migrated PostGIS database for this test session."""
    try:
        url = os.environ.get("TEST_DATABASE_URL") or _fresh_local_database()
        url = url.replace("postgresql://", "postgresql+psycopg://", 1)
        upgrade_database(url)
        _without_autovacuum(url)
    except Exception as exc:
        if os.environ.get("CI"):
            raise
        pytest.skip(f"no PostGIS database for the tests: {exc}")
    return url


@pytest.fixture(scope="session")
async def engine(database_url: str) -> AsyncIterator[AsyncEngine]:
    engine = make_async_engine(database_url, pool_size=5)
    yield engine
    await dispose_engine(engine)


@pytest.fixture
async def sessions(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    """A session factory over a database emptied for this test."""
    async with engine.begin() as conn:
        await conn.execute(text(f"TRUNCATE {TABLES} RESTART IDENTITY CASCADE"))
    return session_factory(engine)


@pytest.fixture
async def session(sessions: async_sessionmaker[AsyncSession]) -> AsyncIterator[AsyncSession]:
    async with sessions() as session:
        yield session


@pytest.fixture(scope="session")
def gql_schema() -> Any:
    return build_schema()


class Api:
    """Runs GraphQL operations through `schema.execute` with a real context."""

    def __init__(self, schema: Any, sessions: async_sessionmaker[AsyncSession]) -> None:
        self.schema = schema
        self.sessions = sessions
        self.settings = make_settings()

    async def run(self, query: str, variables: dict[str, Any] | None = None, *,
                  viewer: Viewer = ADMIN, settings: Settings | None = None) -> Any:
        context = Context(sessions=self.sessions, settings=settings or self.settings,
                          viewer=viewer, tokens=TOKENS)
        return await self.schema.execute(query, variable_values=variables,
                                         context_value=context)

    async def data(self, query: str, variables: dict[str, Any] | None = None, *,
                   viewer: Viewer = ADMIN) -> dict[str, Any]:
        """Run and insist on success; returns `data`."""
        result = await self.run(query, variables, viewer=viewer)
        assert result.errors is None, result.errors
        return result.data


@pytest.fixture
def api(gql_schema: Any, sessions: async_sessionmaker[AsyncSession]) -> Iterator[Api]:
    yield Api(gql_schema, sessions)
