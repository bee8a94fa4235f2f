"""A psycopg connection whose socket stays registered with the event loop between
statements, for the hot reads' autocommit connections (domain.infra.autocommit_pool).

psycopg's `wait_async` registers the socket with the loop (`add_reader`) at every wait for
PostgreSQL's answer and removes it afterwards: on uvloop that is a poll handle made and
closed and two or three `epoll_ctl` system calls a statement, about a sixth of a short
prepared statement's CPU in the API. Here the reader is added once and wakes whichever wait
is pending. Each wait keeps psycopg's check interval (a timer: after it the wait goes on
from a fresh registration, which is what gets a socket in error out of a uvloop wait).

What stays psycopg's: sending (a socket asked for writing is polled at once, as psycopg
does; when it is not writable the rest of the statement goes to psycopg's own wait), waits
with a timeout, and the interruption of a wait (a cancelled task: psycopg cancels the query
in the server and drains the answer). Those paths first take the reader off the loop, since
psycopg's wait adds and removes its own for the same socket.

The reader is taken off the loop before the connection closes (the socket's number may be
given to the next connection, which must not find a stale registration), and whenever it
fires with no wait pending (the server closed an idle connection: the socket stays
readable, and a level-triggered reader would fire at every turn of the loop).
"""

from __future__ import annotations

import asyncio
import select
from collections.abc import Generator
from typing import Any, TypeVar

import psycopg
from psycopg import errors
from psycopg.waiting import Ready, Wait

RV = TypeVar("RV")


class RegisteredConnection(psycopg.AsyncConnection[Any]):
    """An AsyncConnection that keeps its socket's reader on the loop between waits."""

    _registered: tuple[asyncio.AbstractEventLoop, int] | None = None
    #: The pending wait's future: its result is the socket's readiness (psycopg's Ready).
    _pending: asyncio.Future[int] | None = None

    async def wait(self, gen: Generator[Any, Any, RV], interval: float = 0.1,
                   timeout: float | None = None) -> RV:
        """Consume `gen` (psycopg's generator of a statement), waiting for the socket to be
        readable through the reader kept on the loop."""
        if timeout is not None:
            self._unregister()
            return await super().wait(gen, interval, timeout)
        try:
            state = next(gen)
            while True:
                if state & Wait.W:
                    ready = _ready_now(self.pgconn.socket, state)
                    if not ready:
                        return await self._psycopg_wait(gen, state, interval)
                    state = gen.send(ready)
                    continue
                try:
                    ready = await self._readable(interval)
                except BaseException as interruption:
                    # psycopg cancels the query in the server and re-raises.
                    return await self._psycopg_wait(gen, state, interval, interruption)
                state = gen.send(ready)
        except StopIteration as done:
            result: RV = done.value
            return result
        except OSError as ex:  # as psycopg's wait: the connection was closed
            raise errors.OperationalError("connection socket closed") from ex

    async def _readable(self, interval: float) -> int:
        """Ready.R when the reader fires (registering it first if it is not on this loop),
        or 0 after `interval` seconds, as psycopg's wait: a socket in error (POLLERR) never
        fires a uvloop reader, whose poll handle stops; so the reader is then registered
        afresh at the next wait, as psycopg registers it at every wait."""
        loop = asyncio.get_running_loop()
        socket = self.pgconn.socket
        if self._registered != (loop, socket):
            self._unregister()
            loop.add_reader(socket, self._wake)
            self._registered = (loop, socket)
        pending = self._pending = loop.create_future()
        timer = loop.call_later(interval, self._timed_out)
        try:
            ready = await pending
        finally:
            timer.cancel()
            self._pending = None
        if not ready:
            self._unregister()
        return ready

    def _wake(self) -> None:
        pending = self._pending
        if pending is None:
            self._unregister()  # nobody reads: an idle socket that the server closed
        elif not pending.done():
            pending.set_result(Ready.R)

    def _timed_out(self) -> None:
        pending = self._pending
        if pending is not None and not pending.done():
            pending.set_result(0)

    def _unregister(self) -> None:
        if self._registered is not None:
            loop, socket = self._registered
            self._registered = None
            if not loop.is_closed():
                loop.remove_reader(socket)

    async def _psycopg_wait(self, gen: Generator[Any, Any, RV], state: Any, interval: float,
                            interruption: BaseException | None = None) -> RV:
        """The rest of `gen` through psycopg's own wait, from the pending `state`; with an
        `interruption`, psycopg's wait first meets it, as if raised while it waited."""
        self._unregister()
        return await super().wait(_Resumed(gen, state, interruption), interval)

    async def close(self) -> None:
        """Take the reader off the loop, then close."""
        self._unregister()
        await super().close()


def _ready_now(socket: int, state: int) -> int:
    """The socket's readiness for `state` (psycopg's Wait) at once, as psycopg's Ready."""
    poll = select.poll()
    poll.register(socket, (select.POLLIN if state & Wait.R else 0) | select.POLLOUT)
    ready = 0
    for _, event in poll.poll(0):
        if event & select.POLLIN:
            ready |= Ready.R
        if event & select.POLLOUT:
            ready |= Ready.W
    return ready


class _Resumed(Generator[Any, Any, Any]):
    """`gen` as if from its start, pending at `state`; with an `interruption`, its first
    step raises that, once (psycopg's wait then goes on waiting on `gen`, to drain a
    cancelled query's answer)."""

    def __init__(self, gen: Generator[Any, Any, Any], state: Any,
                 interruption: BaseException | None) -> None:
        self._gen, self._state, self._interruption = gen, state, interruption

    def send(self, value: Any) -> Any:
        if self._interruption is not None:
            interruption, self._interruption = self._interruption, None
            raise interruption
        if self._state is not None:
            state, self._state = self._state, None
            return state
        return self._gen.send(value)

    def throw(self, *args: Any) -> Any:
        return self._gen.throw(*args)
