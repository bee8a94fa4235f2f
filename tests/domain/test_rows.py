"""Fixed statements for psycopg written as SQLAlchemy text: the same statement, run both
ways, gives the same row."""

from __future__ import annotations

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from domain.infra import rows

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
