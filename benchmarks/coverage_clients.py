"""The coverage benchmark's clients: how one question is asked over HTTP or as raw SQL.

Each is a `Connector` (benchmarks/steady_rate.py): open a connection, ask one question on it,
close it; the closed loop and the steady rate drive the same ones.

What the raw SQL side includes: exactly the statements the API sends (domain.spatial.coverage's,
compiled by SQLAlchemy for psycopg), through the same driver, on connections in autocommit
mode: for a point, the one coverage statement, which also returns the grid, building and
building group rows (all columns, geometries as EWKB) that the GraphQL query's fields show;
for an address, the exact-key statement (with the same rows), and when it misses the fuzzy
candidates (scored with geo.address.similarity against the same threshold) and the chosen
building's rows. The address key is computed before the clock starts. Not included: HTTP,
GraphQL parsing and execution, SQLAlchemy sessions and pool, the ORM.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any
from urllib.parse import urlsplit

import httpx
import psycopg

from benchmarks.steady_rate import Connector
from geo.address import house_number_signature, similarity
from geo.sql import degrees_for_metres

Statement = tuple[str, dict[str, Any]]  # SQL for psycopg, and the values it always binds
Answer = tuple[str | None, bool]  # (error, the answer is null)


def _compiled(statement: Any) -> Statement:
    """What SQLAlchemy sends through psycopg for `statement`: its SQL (%(name)s parameters,
    geometries as ST_AsEWKB) and the values it binds itself, such as a LIMIT."""
    from sqlalchemy.dialects.postgresql import psycopg as dialect
    compiled = statement.compile(dialect=dialect.dialect())
    return str(compiled), {k: v for k, v in compiled.params.items() if v is not None}


def api_statements() -> dict[str, Statement]:
    """The statements domain.spatial.coverage sends, as psycopg receives them."""
    from domain.spatial import coverage
    return {
        "cover_point": _compiled(coverage._COVER_POINT),
        "exact_address": _compiled(coverage._EXACT_ADDRESS),
        "fuzzy_address": _compiled(coverage._FUZZY_ADDRESS),
        "building_by_id": _compiled(coverage._BUILDING_BY_ID),
    }


# --- HTTP --------------------------------------------------------------------------------------


def check_graphql(status: int, body: bytes) -> Answer:
    """(error, coverage is null) for one HTTP answer."""
    if status != 200:
        return f"HTTP {status}: {body[:200]!r}", False
    try:
        doc = json.loads(body)
    except ValueError:
        return f"not JSON: {body[:200]!r}", False
    if not isinstance(doc, dict) or "errors" in doc or "data" not in doc:
        return f"GraphQL errors: {json.dumps(doc, ensure_ascii=False)[:300]}", False
    data = doc["data"]
    return None, not isinstance(data, dict) or data.get("coverage", ...) is None


class _HttpConnection:
    """One keep-alive connection, reopened when the server closes it."""

    def __init__(self, host: str, port: int) -> None:
        self.host, self.port = host, port
        self.head = (f"POST /graphql HTTP/1.1\r\nHost: {host}:{port}\r\n"
                     "Content-Type: application/json\r\nAccept: application/json\r\n"
                     "Content-Length: ").encode()
        self.streams: tuple[asyncio.StreamReader, asyncio.StreamWriter] | None = None

    async def ask(self, body: bytes) -> Answer:
        if self.streams is None:
            self.streams = await asyncio.open_connection(self.host, self.port)
        reader, writer = self.streams
        writer.write(self.head + str(len(body)).encode() + b"\r\n\r\n" + body)
        status, answer, close = await _read_response(reader)
        if close:
            self.close()
        return check_graphql(status, answer)

    def close(self) -> None:
        if self.streams is not None:
            self.streams[1].close()
            self.streams = None


async def _read_response(reader: asyncio.StreamReader) -> tuple[int, bytes, bool]:
    """Status, body and whether the server closes the connection: HTTP/1.1, just enough."""
    lines = (await reader.readuntil(b"\r\n\r\n")).split(b"\r\n")
    status = int(lines[0].split(b" ", 2)[1])
    length, chunked, close = 0, False, False
    for line in lines[1:]:
        name, _, value = line.partition(b":")
        name, value = name.strip().lower(), value.strip().lower()
        if name == b"content-length":
            length = int(value)
        elif name == b"transfer-encoding":
            chunked = b"chunked" in value
        elif name == b"connection":
            close = value == b"close"
    if not chunked:
        return status, await reader.readexactly(length), close
    chunks = []
    while size := int((await reader.readuntil(b"\r\n")).split(b";")[0], 16):
        chunks.append(await reader.readexactly(size))
        await reader.readexactly(2)
    await reader.readuntil(b"\r\n")
    return status, b"".join(chunks), close


def raw_http(base: str) -> Connector[_HttpConnection]:
    """A minimal HTTP/1.1 keep-alive client on asyncio streams (0.2 ms CPU a request; httpx
    takes 3 ms, which on 2 shared cores is taken from the server)."""
    parts = urlsplit(base)
    host, port = parts.hostname or "127.0.0.1", parts.port or 80

    async def open_() -> _HttpConnection:
        conn = _HttpConnection(host, port)
        conn.streams = await asyncio.open_connection(host, port)
        return conn

    async def ask(conn: _HttpConnection, body: bytes) -> Answer:
        return await conn.ask(body)

    async def close(conn: _HttpConnection) -> None:
        conn.close()

    return Connector(open_, ask, close)


def httpx_client(client: httpx.AsyncClient) -> Connector[httpx.AsyncClient]:
    """httpx.AsyncClient, its own pool behind one shared "connection"."""
    headers = {"Content-Type": "application/json"}

    async def open_() -> httpx.AsyncClient:
        return client

    async def ask(conn: httpx.AsyncClient, body: bytes) -> Answer:
        response = await conn.post("/graphql", content=body, headers=headers)
        return check_graphql(response.status_code, response.content)

    async def close(conn: httpx.AsyncClient) -> None:
        return None

    return Connector(open_, ask, close)


# --- raw SQL -----------------------------------------------------------------------------------

SqlConnection = psycopg.AsyncConnection[Any]


def _sql(conninfo: str, ask: Any) -> Connector[SqlConnection]:
    async def open_() -> SqlConnection:
        return await psycopg.AsyncConnection.connect(conninfo, autocommit=True)

    async def close(conn: SqlConnection) -> None:
        await conn.close()

    return Connector(open_, ask, close)


def sql_point(conninfo: str, nearest_metres: float) -> Connector[SqlConnection]:
    """The API's point statement; payloads are (lon, lat)."""
    sql, fixed = api_statements()["cover_point"]

    async def ask(conn: SqlConnection, point: tuple[float, float]) -> Answer:
        lon, lat = point
        params = {**fixed, "lon": lon, "lat": lat, "metres": nearest_metres,
                  "deg": degrees_for_metres(nearest_metres, lat)}
        row = await (await conn.execute(sql, params)).fetchone()
        assert row is not None
        grid_id, building_id, _group_id, _distance, community_id = row[:5]
        return None, grid_id is None and building_id is None and community_id is None

    return _sql(conninfo, ask)


def sql_address(conninfo: str, threshold: float) -> Connector[SqlConnection]:
    """The API's address statements; payloads are normalised keys."""
    statements = api_statements()
    exact, exact_fixed = statements["exact_address"]
    fuzzy, fuzzy_fixed = statements["fuzzy_address"]
    by_id, by_id_fixed = statements["building_by_id"]

    async def ask(conn: SqlConnection, key: str) -> Answer:
        row = await (await conn.execute(exact, {**exact_fixed, "key": key})).fetchone()
        if row is not None:
            return None, False
        params = {**fuzzy_fixed, "key": key, "numbers": house_number_signature(key)}
        candidates = await (await conn.execute(fuzzy, params)).fetchall()
        best = max(((similarity(key, c[1]), -c[0]) for c in candidates), default=None)
        if best is None or best[0] < threshold:
            return None, True
        row = await (await conn.execute(by_id, {**by_id_fixed, "id": -best[1]})).fetchone()
        return None, row is None

    return _sql(conninfo, ask)
