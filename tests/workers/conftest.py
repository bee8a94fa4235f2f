"""Fixtures for the worker tests: the real actors on a StubBroker with a real Worker (unit
tests), and helpers to read what happened in the database."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import dramatiq
import pytest
from dramatiq.brokers.stub import StubBroker
from sqlalchemy import text

from domain.infra.db import transaction
from domain.requests.submit import NewRequest, submit_request
from domain.settings import Settings
from tests.requests_factory import B1_POINT, TUNING
from tests.settings import changed, make_settings
from workers.actors import Actors, declare_actors
from workers.broker import DISPATCH_QUEUE, OUTBOUND_QUEUE, worker_middleware
from workers.runtime import Runtime

QUEUES = (DISPATCH_QUEUE, OUTBOUND_QUEUE)


@dataclass
class Stub:
    """A StubBroker, the actors declared on it, and a running Worker."""

    broker: StubBroker
    actors: Actors
    worker: dramatiq.Worker

    def drain(self, timeout_ms: int = 20_000) -> None:
        """Wait until every queue is empty and every actor has finished (follow-ups
        included); re-raises an actor's failure."""
        while True:
            for queue in QUEUES:
                self.broker.join(queue, timeout=timeout_ms)
            self.worker.join()
            if not any(self.broker.queues[q].unfinished_tasks for q in QUEUES):
                return


@pytest.fixture
def worker_settings(database_url: str) -> Settings:
    """Actors' settings for the unit tests: the test database, no stale delay."""
    return make_settings(database_url=database_url, broker_url="stub://",
                         dispatch_stale_seconds=0, sweep_interval_seconds=0.2)


def start_stub(config: Settings) -> Stub:
    broker = StubBroker(middleware=worker_middleware())
    broker.emit_after("process_boot")
    actors = declare_actors(broker, Runtime(config))
    worker = dramatiq.Worker(broker, worker_timeout=50, worker_threads=2)
    worker.start()
    return Stub(broker, actors, worker)


@pytest.fixture
def stub_factory(sessions: Any) -> Iterator[Any]:
    """Start a Stub for a given config (`sessions` first, so the database is emptied before
    any actor runs); every Stub started is stopped afterwards."""
    started: list[Stub] = []

    def start(config: Settings, **changes: Any) -> Stub:
        started.append(start_stub(changed(config, **changes)))
        return started[-1]
    yield start
    for stub in started:
        stub.worker.stop()
        stub.broker.close()


@pytest.fixture
def stub(stub_factory: Any, worker_settings: Settings) -> Stub:
    return stub_factory(worker_settings)


async def submit(sessions: Any, count: int, *, now: datetime,
                 category: str = "MAINTENANCE") -> list[int]:
    """`count` requests in building B1 (group L1, grid G1), committed together."""
    async with transaction(sessions) as session:
        return [(await submit_request(session, NewRequest(
            category=category, description=f"楼道灯不亮 {n}", point=B1_POINT),
            now=now, tuning=TUNING)).request_id for n in range(count)]


async def events(sessions: Any, kind: str) -> dict[int, int]:
    """How many events of `kind` each request has (requests with none are absent)."""
    async with sessions() as session:
        rows = await session.execute(text(
            "SELECT request_id, count(*) FROM request_event WHERE kind = :kind "
            "GROUP BY request_id"), {"kind": kind})
        return {int(r[0]): int(r[1]) for r in rows}


async def scalar(sessions: Any, sql: str, **params: Any) -> Any:
    async with sessions() as session:
        return (await session.execute(text(sql), params)).scalar_one()


async def sent_messages(sessions: Any, kind: str | None = None) -> int:
    """How many outbound messages (of `kind`, if given) are SENT."""
    return int(await scalar(sessions, "SELECT count(*) FROM outbound_message WHERE status = "
                            "'SENT' AND kind = COALESCE(:kind, kind)", kind=kind))


async def add_grid_worker(sessions: Any, grid: str = "G1", name: str = "网格员") -> int:
    """An ACTIVE grid worker serving `grid`; returns the member id."""
    async with transaction(sessions) as session:
        member = (await session.execute(text("""
            INSERT INTO member (name, phone, party_member, roles, skills, status)
            VALUES (:name, '13700000001', true, ARRAY['GRID_WORKER'], ARRAY[]::text[],
                    'ACTIVE') RETURNING id"""), {"name": name})).scalar_one()
        await session.execute(text("""
            INSERT INTO grid_worker (member_id, grid_id)
            SELECT :member, id FROM grid WHERE code = :grid"""),
            {"member": member, "grid": grid})
        return int(member)
