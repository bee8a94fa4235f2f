"""Engines and sessions. Callers pass the URL; this module never reads settings itself."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from sqlalchemy import Engine, create_engine
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)


def make_async_engine(url: str, *, pool_size: int = 10) -> AsyncEngine:
    """The async engine the API and workers share per process (psycopg 3).

    It opens up to 2 × `pool_size` connections, as `pool_size` plus as many overflow would,
    but keeps them all: overflow connections are closed whenever they come back to a full
    pool, which under steady load meant ~10 new PostgreSQL backends a second per process
    (a fork and a cold catalog cache each), a third of the machine in the coverage benchmark."""
    return create_async_engine(url, pool_size=2 * pool_size, max_overflow=0,
                               pool_pre_ping=True)


def make_sync_engine(url: str) -> Engine:
    """A synchronous engine, for migrations and command-line loaders."""
    return create_engine(url, pool_pre_ping=True)


def session_factory(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    """Sessions that keep loaded objects usable after commit."""
    return async_sessionmaker(engine, class_=AsyncSession, expire_on_commit=False)


@asynccontextmanager
async def transaction(factory: async_sessionmaker[AsyncSession]) -> AsyncIterator[AsyncSession]:
    """A session inside one transaction: committed on success, rolled back on any error.

    Reads that need one snapshot or a SET LOCAL belong here too: ending with COMMIT rather than
    the ROLLBACK of a plain session keeps the connection's prepared statements (see
    `autocommit`)."""
    async with factory() as session, session.begin():
        yield session


@asynccontextmanager
async def autocommit(factory: async_sessionmaker[AsyncSession]) -> AsyncIterator[AsyncSession]:
    """A session whose statements each commit on their own, for reads of one statement.

    No BEGIN and no ROLLBACK go to the server, and psycopg keeps the statements it has
    prepared on the connection, which it forgets at every ROLLBACK: a plain session's reads
    are planned afresh every time (~1 ms of PostgreSQL CPU for the coverage statement)."""
    async with factory() as session:
        await session.connection(execution_options={"isolation_level": "AUTOCOMMIT"})
        yield session
