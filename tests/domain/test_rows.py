"""Fixed statements for psycopg written as SQLAlchemy text: the same statement, run both
ways, gives the same row; rows by id without the ORM are the rows the ORM loads."""

from __future__ import annotations

from typing import Any

from geoalchemy2 import WKBElement
from sqlalchemy import Column, Integer, MetaData, String, Table, text
from sqlalchemy import Enum as SAEnum
from sqlalchemy.ext.asyncio import AsyncSession

from domain.demo import load_demo
from domain.infra import rows
from domain.infra.db import autocommit, transaction
from domain.organisation.models import Organisation
from domain.people.models import AuditEntry, StaffAccount
from domain.spatial import directory
from domain.spatial.models import Building, BuildingGroup, Community, Grid, Member, Subdistrict
from tests.people_factory import load_places, make_account

STATEMENT = ("SELECT CAST(:a AS int) % 7, 'x%' || CAST(:b AS text), "
             "CAST(:a AS int)::text || '::'")


def test_pyformat_names_parameters_as_psycopg_does_and_doubles_percent_signs() -> None:
    assert rows.pyformat(STATEMENT) == (
        "SELECT CAST(%(a)s AS int) %% 7, 'x%%' || CAST(%(b)s AS text), "
        "CAST(%(a)s AS int)::text || '::'")


async def test_a_statement_gives_the_same_row_through_psycopg_as_through_sqlalchemy(
        session: AsyncSession) -> None:
    params = {"a": 40, "b": "y"}
    through_sqlalchemy = tuple((await session.execute(text(STATEMENT), params)).one())
    assert await rows.fetch_one(session, rows.pyformat(STATEMENT), params) == \
        through_sqlalchemy == (5, "x%y", "40::")


#: The tables whose rows by id the loaders read without the ORM (schema.common.loaders).
PLAIN: tuple[Any, ...] = (Subdistrict, Community, Grid, Building, BuildingGroup, Member,
                          StaffAccount, AuditEntry, Organisation)


def _values(row: Any) -> dict[str, Any]:
    """A row's column values, geometry as (SRID, hex EWKB)."""
    found: dict[str, Any] = {}
    model: Any = type(row)
    for name in rows.columns(model, shapes=True):
        value = getattr(row, name)
        found[name] = (value.srid, str(value.desc)) if isinstance(value, WKBElement) else value
    return found


def test_the_loaders_tables_are_plain_and_a_processed_column_is_not() -> None:
    assert all(rows.plain(model) for model in PLAIN)

    class Processed:  # an enum column: SQLAlchemy turns its text into the enum's value
        __table__ = Table("processed", MetaData(), Column("id", Integer),
                          Column("kind", SAEnum("A", "B", name="ab")))

    class IdLast:
        __table__ = Table("id_last", MetaData(), Column("name", String), Column("id", Integer))
    assert not rows.plain(Processed)
    assert not rows.plain(IdLast)


async def test_rows_by_id_are_the_rows_the_orm_loads(sessions: Any) -> None:
    async with transaction(sessions) as session:
        await load_demo(session)
    await make_account(sessions, await load_places(sessions), "rows-by-id", "C1")
    async with autocommit(sessions) as session:
        for model in PLAIN:
            ids = [*(await session.execute(text(
                f"SELECT id FROM {model.__table__.name} ORDER BY id DESC"))).scalars()]
            assert ids or model in (AuditEntry, Organisation), model
            asked = [*ids, 10**9, *ids[:1]]  # an unknown id, and one asked twice
            through_orm = await directory.by_ids(session, model, asked)
            through_rows = await rows.by_ids(session, model, asked)
            assert [r and _values(r) for r in through_rows] == \
                [r and _values(r) for r in through_orm], model
            assert through_rows[len(ids)] is None
