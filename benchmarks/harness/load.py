"""Load on a server: the closed loop, the steady rate, and the clients they drive.

- Closed loop: N clients, each sending its next request when its last is answered. It
  measures throughput; its latency includes the queue the clients build (p50 is about
  N ÷ throughput whatever one request costs).
- Steady rate (open loop), for latency that means something on a small machine: requests
  start on a fixed schedule whether or not earlier ones were answered, so a stall of the
  server or of this client delays every request behind it in the figures too (no
  coordinated omission) when latency is taken from the scheduled start.

A `Pool` keeps the connections of a `Connector` (how to open a connection, ask one question
on it, close it) for either loop; `raw_http` and `httpx_client` are the HTTP ones.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import math
import multiprocessing
import signal
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Coroutine
from dataclasses import dataclass
from typing import Any, Generic, TypeVar
from urllib.parse import urlsplit

import httpx

C = TypeVar("C")
T = TypeVar("T")
Answer = tuple[str | None, bool]  # (error, the answer is null)
Post = Callable[[bytes], Awaitable[tuple[int, bytes]]]  # POST /graphql: (status, body)
Check = Callable[[int, bytes], Answer]  # an HTTP answer (status, body) judged

#: Connections a pool may hold at once: beyond this, requests wait for an idle one (and
#: their wait counts in their latency).
MAX_CONNECTIONS = 256


# --- the two loops -----------------------------------------------------------------------------


async def open_loop(call: Callable[[int, float], Coroutine[Any, Any, T]], *, rate: float,
                    count: int, begin: float, grace: float | None = None) -> list[T | None]:
    """`call(k, scheduled)` for k in range(count), started at `begin + k / rate`
    (perf_counter seconds) whatever became of the earlier ones; their results in order, None
    for a call still unanswered `grace` seconds after the last start (then cancelled)."""
    tasks: list[asyncio.Task[T]] = []
    for k in range(count):
        at = begin + k / rate
        while (left := at - time.perf_counter()) > 0:  # a timer may fire a little early
            await asyncio.sleep(left)
        tasks.append(asyncio.create_task(call(k, at)))
    if not tasks:
        return []
    done, late = await asyncio.wait(tasks, timeout=grace)
    for task in late:
        task.cancel()
    return [task.result() if task in done else None for task in tasks]


async def closed_loop(call: Callable[[int], Awaitable[T]], *, clients: int,
                      count: float = math.inf, until: float = math.inf) -> list[T]:
    """`clients` concurrent callers of `call(k)`, k = 0, 1, ..., each calling again as soon as
    its last call returned, until `count` calls were made or `until` (perf_counter) passed;
    the results in the order they came."""
    numbers = itertools.count()
    results: list[T] = []

    async def client() -> None:
        while time.perf_counter() < until and (k := next(numbers)) < count:
            results.append(await call(k))
    await asyncio.gather(*(client() for _ in range(clients)))
    return results


# --- connections -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Connector(Generic[C]):
    """How to open a connection, ask one question on it and close it."""

    open: Callable[[], Awaitable[C]]
    ask: Callable[[C, Any], Awaitable[Answer]]
    close: Callable[[C], Awaitable[None]]


class Pool(Generic[C]):
    """Idle connections, used in turn (first in, first out: keep-alive connections that landed
    on different server processes share the work); a new one when none is idle."""

    def __init__(self, connector: Connector[C]) -> None:
        self.connector = connector
        self.idle: asyncio.Queue[C] = asyncio.Queue()
        self.opened = 0

    async def preopen(self, count: int, stagger: float) -> None:
        """Open `count` connections `stagger` seconds apart (keep-alive connections opened
        at once are all accepted by the first uvicorn worker to wake)."""
        for _ in range(count):
            self.opened += 1
            self.idle.put_nowait(await self.connector.open())
            await asyncio.sleep(stagger)

    async def ask(self, payload: Any) -> Answer:
        """One question on an idle connection; a refused or dropped connection is the
        server's answer (an error), and that connection is closed."""
        conn: C | None = None
        try:
            conn = await self._take()
            error, null = await self.connector.ask(conn, payload)
        except Exception as exc:
            error, null = f"{type(exc).__name__}: {exc}", False
        if conn is not None and error is not None:
            self.opened -= 1
            await self.connector.close(conn)
        elif conn is not None:
            self.idle.put_nowait(conn)
        return error, null

    async def _take(self) -> C:
        if self.idle.empty() and self.opened < MAX_CONNECTIONS:
            self.opened += 1
            try:
                return await self.connector.open()
            except BaseException:
                self.opened -= 1
                raise
        return await self.idle.get()

    async def close(self) -> None:
        """Close the idle connections (call it after the last CPU reading: a closed
        PostgreSQL backend takes its CPU time with it)."""
        while not self.idle.empty():
            await self.connector.close(self.idle.get_nowait())


# --- HTTP and GraphQL --------------------------------------------------------------------------


def graphql_body(query: str, variables: dict[str, Any]) -> bytes:
    return json.dumps({"query": query, "variables": variables},
                      ensure_ascii=False).encode("utf-8")


def graphql_data(status: int, body: bytes) -> tuple[str | None, dict[str, Any]]:
    """(error, data) of one GraphQL answer over HTTP: an error unless HTTP 200 with JSON
    `data` and no `errors`."""
    if status != 200:
        return f"HTTP {status}: {body[:200]!r}", {}
    try:
        doc = json.loads(body)
    except ValueError:
        return f"not JSON: {body[:200]!r}", {}
    if not isinstance(doc, dict) or "errors" in doc or not isinstance(doc.get("data"), dict):
        return f"GraphQL errors: {json.dumps(doc, ensure_ascii=False)[:300]}", {}
    return None, doc["data"]


class HttpConnection:
    """One keep-alive connection, reopened when the server closes it."""

    def __init__(self, host: str, port: int) -> None:
        self.host, self.port = host, port
        self.head = (f"POST /graphql HTTP/1.1\r\nHost: {host}:{port}\r\n"
                     "Content-Type: application/json\r\nAccept: application/json\r\n"
                     "Content-Length: ").encode()
        self.streams: tuple[asyncio.StreamReader, asyncio.StreamWriter] | None = None

    async def post(self, body: bytes) -> tuple[int, bytes]:
        if self.streams is None:
            self.streams = await asyncio.open_connection(self.host, self.port)
        reader, writer = self.streams
        writer.write(self.head + str(len(body)).encode() + b"\r\n\r\n" + body)
        status, answer, close = await _read_response(reader)
        if close:
            self.close()
        return status, answer

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


def raw_http(base: str, check: Check) -> Connector[HttpConnection]:
    """POST /graphql on a minimal HTTP/1.1 keep-alive client on asyncio streams (0.2 ms CPU a
    request; httpx takes 3 ms, which on 2 shared cores is taken from the server)."""
    parts = urlsplit(base)
    host, port = parts.hostname or "127.0.0.1", parts.port or 80

    async def open_() -> HttpConnection:
        conn = HttpConnection(host, port)
        conn.streams = await asyncio.open_connection(host, port)
        return conn

    async def ask(conn: HttpConnection, body: bytes) -> Answer:
        return check(*await conn.post(body))

    async def close(conn: HttpConnection) -> None:
        conn.close()

    return Connector(open_, ask, close)


@contextlib.asynccontextmanager
async def raw_poster(base: str, *, timeout: float = 120.0) -> AsyncIterator[Post]:
    """POST /graphql on the minimal keep-alive client, a connection per concurrent caller
    (opened on first need, reused after), each answer within `timeout` seconds (else
    TimeoutError): for load generators that want the answer's body, such as the dispatch
    benchmark's submitters."""
    parts = urlsplit(base)
    host, port = parts.hostname or "127.0.0.1", parts.port or 80
    idle: list[HttpConnection] = []

    async def post(body: bytes) -> tuple[int, bytes]:
        conn = idle.pop() if idle else HttpConnection(host, port)
        try:
            async with asyncio.timeout(timeout):
                answer = await conn.post(body)
        except BaseException:
            conn.close()
            raise
        idle.append(conn)
        return answer

    try:
        yield post
    finally:
        for conn in idle:
            conn.close()


def httpx_poster(client: httpx.AsyncClient) -> Post:
    """POST /graphql on httpx (for an in-process ASGI app behind httpx's transport)."""
    headers = {"Content-Type": "application/json"}

    async def post(body: bytes) -> tuple[int, bytes]:
        response = await client.post("/graphql", content=body, headers=headers)
        return response.status_code, response.content

    return post


def httpx_client(client: httpx.AsyncClient, check: Check) -> Connector[httpx.AsyncClient]:
    """POST /graphql on httpx.AsyncClient, its own pool behind one shared "connection"."""
    headers = {"Content-Type": "application/json"}

    async def open_() -> httpx.AsyncClient:
        return client

    async def ask(conn: httpx.AsyncClient, body: bytes) -> Answer:
        response = await conn.post("/graphql", content=body, headers=headers)
        return check(response.status_code, response.content)

    async def close(conn: httpx.AsyncClient) -> None:
        return None

    return Connector(open_, ask, close)


def run_event_loop(main: Coroutine[Any, Any, T]) -> T:
    """asyncio.run on uvloop (cheaper on CPU; uvicorn[standard] brings it) when there."""
    try:
        import uvloop
    except ImportError:  # pragma: no cover
        return asyncio.run(main)
    return uvloop.run(main)


# --- a load process ----------------------------------------------------------------------------


def in_load_process(target: Callable[[Any], T], spec: Any, *, timeout: float) -> T:
    """`target(spec)` in a fresh (spawned) process, so that the load generator never shares
    an event loop or a GIL with this one; that process is ended whatever happens here."""
    context = multiprocessing.get_context("spawn")
    results = context.Queue()
    process = context.Process(target=_load_process, args=(target, spec, results), daemon=True)
    process.start()
    try:
        ok, result = results.get(timeout=timeout)
        process.join(timeout=10)
    finally:
        if process.is_alive():
            process.terminate()
            process.join(timeout=5)
    if not ok:
        raise RuntimeError(f"load process failed: {result}")
    return result


def _load_process(target: Callable[[Any], Any], spec: Any, results: Any) -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent decides when to stop
    try:
        results.put((True, target(spec)))
    except Exception as exc:  # reported by the parent
        results.put((False, f"{type(exc).__name__}: {exc}"))
