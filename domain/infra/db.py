"""Engines and sessions. Callers pass the URL; this module never reads settings itself."""

from __future__ import annotations

import socket
import time
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from typing import Any

import psycopg
from sqlalchemy import (
    ColumnElement,
    Engine,
    Integer,
    any_,
    bindparam,
    cast,
    event,
    exc,
    make_url,
)
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.exc import DisconnectionError
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)

from domain.infra import autocommit_pool

#: A pooled connection used this recently is handed out without a ping (HikariCP's
#: aliveBypassWindowMs has the same default).
PING_AFTER_IDLE_SECONDS = 0.5


#: Session option of every pooled connection (see make_async_engine).
NO_JIT = "-c jit=off"


def one_of(column: Any, ids: Sequence[int]) -> ColumnElement[bool]:
    """`column = ANY(CAST(:ids AS INTEGER[]))`: the ids bound as one array parameter, however
    many there are. `column.in_(ids)` binds one parameter per id, and PostgreSQL's protocol
    takes at most 65,535 (a loader given every member of a city failed there); one statement
    text for every batch size also means one prepared plan."""
    return column == any_(cast(bindparam(None, list(ids), type_=ARRAY(Integer)),
                               ARRAY(Integer)))


def make_async_engine(url: str, *, pool_size: int = 10) -> AsyncEngine:
    """The async engine the API and workers share per process (psycopg 3), with its pool of
    autocommit connections for the hottest reads (domain.infra.autocommit_pool: as many again,
    made only when used); close it with `dispose_engine`.

    It opens up to 2 × `pool_size` connections, as `pool_size` plus as many overflow would,
    but keeps them all: overflow connections are closed whenever they come back to a full
    pool, which under steady load meant ~10 new PostgreSQL backends a second per process
    (a fork and a cold catalog cache each), a third of the machine in the coverage benchmark.
    Connections are checked before use when they have been idle (see `_ping_when_idle`).

    PostgreSQL's JIT is off for these sessions (NO_JIT): it compiles every statement whose
    estimated cost passes jit_above_cost, which a city-wide read does, and compiling took
    longer than the read itself (mapFeatures of a community of the 2x benchmark city: 0.9-2 s
    with JIT, 0.2-0.3 s without; requestStats of a community 120 ms against 60 ms; the
    quarter's assessment figures 1.3 s against 0.9 s)."""
    given = make_url(url).query.get("options")  # kept: ours is appended to the URL's own
    options = f"{given} {NO_JIT}" if isinstance(given, str) else NO_JIT
    engine = create_async_engine(url, pool_size=2 * pool_size, max_overflow=0,
                                 connect_args={"options": options})
    _ping_when_idle(engine.sync_engine)
    autocommit_pool.attach(engine, autocommit_pool.AutocommitPool(
        libpq_url(url), options=options, size=2 * pool_size))
    return engine


async def dispose_engine(engine: AsyncEngine) -> None:
    """Close an engine of make_async_engine: its autocommit connections
    (domain.infra.autocommit_pool), then its pool."""
    await autocommit_pool.close_pool(engine)
    await engine.dispose()


def _ping_when_idle(engine: Engine) -> None:
    """Ping a pooled connection before handing it out if it has been idle for
    PING_AFTER_IDLE_SECONDS, and replace it if the ping fails: a restarted server or a
    firewall drops connections while they sit unused. A ping on every checkout
    (`pool_pre_ping`) cost ~0.35 ms of CPU per coverage request, 7 % of the server's work;
    a connection busy a moment ago that died since fails its statement instead, and the
    pool then renews every connection older than the failure, as without any ping."""

    @event.listens_for(engine.pool, "checkin")
    def returned(dbapi_connection: Any, record: Any) -> None:
        record.info["returned_at"] = time.monotonic()

    @event.listens_for(engine.pool, "checkout")
    def ping(dbapi_connection: Any, record: Any, proxy: Any) -> None:
        returned_at = record.info.get("returned_at")
        if returned_at is None or time.monotonic() - returned_at < PING_AFTER_IDLE_SECONDS:
            return
        try:
            engine.dialect.do_ping(dbapi_connection)
        except engine.dialect.loaded_dbapi.Error as exc:
            raise DisconnectionError("an idle pooled connection is gone") from exc


def libpq_url(url: str) -> str:
    """A SQLAlchemy URL (`postgresql+psycopg://…`) as libpq reads it (`postgresql://…`)."""
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


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


#: What a database that cannot be reached raises: a restart or fail-over (connections cut,
#: "the database system is starting up"), a network cut, a connection refused, a pool whose
#: connections are all taken past its timeout.
_OUTAGES: tuple[type[BaseException], ...] = (
    exc.OperationalError, exc.InterfaceError, exc.DisconnectionError, exc.TimeoutError,
    psycopg.OperationalError, psycopg.InterfaceError, ConnectionError, TimeoutError,
    socket.gaierror)


def outage(error: BaseException) -> str | None:
    """When `error` means the database could not be reached (an outage to wait out, not a
    bug), the reason in one line, e.g. "OperationalError: connection failed: … Connection
    refused"; otherwise None. Looks through the errors it was raised from."""
    for cause in _causes(error):
        if isinstance(cause, _OUTAGES) or (isinstance(cause, exc.DBAPIError)
                                           and cause.connection_invalidated):
            return _one_line(_causes(error)[-1])
    return None


def _causes(error: BaseException) -> list[BaseException]:
    """`error`, the error it was raised from (`raise … from`), and so on."""
    chain = [error]
    while (cause := chain[-1].__cause__) is not None and cause not in chain:
        chain.append(cause)
    return chain


def _one_line(error: BaseException) -> str:
    text = str(getattr(error, "orig", None) or error).split("\n[SQL:")[0]
    return " ".join(f"{type(error).__name__}: {text}".split())[:300]
