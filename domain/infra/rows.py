"""Rows of the hottest reads straight from psycopg: one prepared statement on the session's own
connection, tuples back, and table objects built from the columns without the ORM's loading.

SQLAlchemy's ORM costs about half of a coverage request's CPU in the API (a Session, a
compiled statement's result machinery, an identity map, 25 column descriptions a request);
these few statements are fixed text, so they go to psycopg as they are (prepared on the
connection, planned once) and their rows become plain objects. Everything else keeps the
ORM.
"""

from __future__ import annotations

from collections.abc import Sequence
from contextlib import AbstractAsyncContextManager
from functools import cache
from typing import Any, TypeVar

import psycopg
from geoalchemy2 import Geometry, WKBElement
from sqlalchemy import ARRAY, inspect, text
from sqlalchemy.dialects.postgresql import psycopg as psycopg_dialect
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlalchemy.orm import configure_mappers

from domain.infra.autocommit_pool import pool_of

T = TypeVar("T")
#: Where a statement of this module runs: a session (inside its transaction, if any), or
#: the psycopg connection `autocommit_connection` gives.
Executor = AsyncSession | psycopg.AsyncConnection[Any]


def autocommit_connection(factory: async_sessionmaker[AsyncSession]
                          ) -> AbstractAsyncContextManager[psycopg.AsyncConnection[Any]]:
    """A psycopg connection to `factory`'s database in autocommit mode, each statement
    committing on its own: for a read of one or a few fixed statements. It comes from the
    engine's autocommit pool (domain.infra.autocommit_pool), not its session pool: neither a
    Session nor a SQLAlchemy Connection is made, nor the pool's checkout and checkin
    (those cost a coverage request ~110 µs, ~75 µs and ~40 µs of CPU, its statement ~40
    µs). The connection goes back, its prepared statements kept, when the block ends."""
    return pool_of(factory.kw["bind"]).connection()


async def driver_connection(session: AsyncSession) -> psycopg.AsyncConnection[Any]:
    """The psycopg connection under `session`, inside the session's transaction when it has
    one (its statements then commit or roll back with the session's)."""
    connection = await session.connection()
    raw = await connection.get_raw_connection()
    driver: psycopg.AsyncConnection[Any] = raw.driver_connection  # type: ignore[assignment]
    return driver


async def fetch_one(on: Executor, sql: str,
                    params: dict[str, Any]) -> tuple[Any, ...] | None:
    """The first row of a fixed statement (psycopg's `%(name)s` parameters), prepared on the
    connection so that PostgreSQL plans it once per connection."""
    cursor = await _cursor(on)
    await cursor.execute(sql, params, prepare=True)
    return await cursor.fetchone()


async def fetch_all(on: Executor, sql: str, params: dict[str, Any]) -> list[tuple[Any, ...]]:
    """Every row of a fixed statement, as `fetch_one`."""
    cursor = await _cursor(on)
    await cursor.execute(sql, params, prepare=True)
    return await cursor.fetchall()


#: The attribute of a psycopg connection that holds the cursor this module's statements use.
_CURSOR = "_gridsteward_rows_cursor"


async def _cursor(on: Executor) -> psycopg.AsyncCursor[Any]:
    """The connection's cursor for these statements, made once and reused: a new cursor for
    every statement (what `connection.execute` makes) cost ~15 µs of CPU, a fifth of the
    statement's. A connection runs one statement at a time, so one cursor is enough."""
    connection = await _driver(on)
    cursor: psycopg.AsyncCursor[Any] | None = getattr(connection, _CURSOR, None)
    if cursor is None:
        cursor = connection.cursor()
        setattr(connection, _CURSOR, cursor)
    return cursor


async def _driver(on: Executor) -> psycopg.AsyncConnection[Any]:
    return await driver_connection(on) if isinstance(on, AsyncSession) else on


def pyformat(statement: str) -> str:
    """A statement written with SQLAlchemy's `:name` parameters (as `text()` takes them) in
    psycopg's `%(name)s` style, its percent signs doubled, for `fetch_one` and `fetch_all`.
    Made once, at import, for a statement shared with or moved from `text()`."""
    return str(text(statement).compile(dialect=psycopg_dialect.dialect()))


@cache
def columns(model: Any, *, shapes: bool) -> tuple[str, ...]:
    """The column names of a table model, in table order; its geometry columns only with
    `shapes` (they are most of a row's bytes, and few answers show them)."""
    table = model.__table__
    return tuple(c.name for c in table.columns
                 if shapes or not isinstance(c.type, Geometry))


@cache
def plain(model: Any) -> bool:
    """Whether psycopg gives every column of the table model `model` as the ORM would load
    it: no column type of SQLAlchemy's processes its values (arrays of such values
    included), but geometry, which `detached` makes as the ORM does; and its first column
    is `id` (as `detached` reads it). Such rows may come from `fetch_all` and `detached`
    instead of a Session."""
    dialect = psycopg_dialect.dialect()

    def processed(kind: Any) -> bool:
        if isinstance(kind, Geometry):
            return False
        if isinstance(kind, ARRAY):
            return processed(kind.item_type)
        return kind.dialect_impl(dialect).result_processor(dialect, None) is not None
    table_columns = list(model.__table__.columns)
    return table_columns[0].name == "id" and not any(processed(c.type) for c in table_columns)


@cache
def by_ids_statement(model: Any) -> str:
    """The statement of `by_ids` for `model`: every column, `%(ids)s` an array of ids."""
    table = model.__table__.name
    return (f"SELECT {select_list(model, table, shapes=True)} FROM {table} "
            f"WHERE {table}.id = ANY(CAST(%(ids)s AS integer[]))")


async def by_ids(on: Executor, model: type[T], ids: Sequence[int]) -> list[T | None]:
    """Rows of a `plain` table model in the order of `ids`, None where an id is unknown: one
    prepared statement and `detached` rows, no Session, no ORM loading."""
    kind: Any = model
    names = columns(kind, shapes=True)
    found: dict[Any, T | None] = {
        values[0]: detached(model, names, values)
        for values in await fetch_all(on, by_ids_statement(kind), {"ids": list(ids)})}
    return [found.get(i) for i in ids]


def select_list(model: Any, alias: str, *, shapes: bool) -> str:
    """`alias.column, ...` for `columns(model, shapes=...)`."""
    return ", ".join(f"{alias}.{name}" for name in columns(model, shapes=shapes))


def detached(model: type[T], names: Sequence[str], values: Sequence[Any]) -> T | None:
    """A table object of `model` with these column values, in no session; None when its id
    (the first column) is null, as an outer join leaves it. Geometry arrives as psycopg gives
    it (hex EWKB) and becomes GeoAlchemy2's WKBElement, as the ORM would make it. A column
    not given reads as None: give every column the caller reads."""
    if values[0] is None:
        return None
    kind: Any = model
    row = _manager(kind).new_instance()
    found = dict(zip(names, values, strict=True))
    for name in _geometries(kind):
        if found.get(name) is not None:
            found[name] = WKBElement(found[name], srid=_srid(kind, name), extended=True)
    row.__dict__.update(found)
    made: T = row
    return made


@cache
def _manager(model: type[Any]) -> Any:
    configure_mappers()  # the instrumented attributes read the values given
    return inspect(model).class_manager


@cache
def _geometries(model: type[Any]) -> tuple[str, ...]:
    return tuple(c.name for c in model.__table__.columns if isinstance(c.type, Geometry))


@cache
def _srid(model: type[Any], name: str) -> int:
    return int(model.__table__.columns[name].type.srid)
