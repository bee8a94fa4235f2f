"""The benchmarks' shared harness: what it writes into docs/benchmarks.md, the loops' counts,
the pool's handling of a dropped connection, the CPU arithmetic (no timings asserted)."""

from __future__ import annotations

import argparse
import asyncio
from pathlib import Path

from benchmarks.harness import command, cpu, load
from benchmarks.harness.report import percentile


def test_a_section_is_replaced_in_place_and_a_new_one_appended(tmp_path: Path) -> None:
    doc = tmp_path / "benchmarks.md"
    doc.write_text("# B\n\n<!-- a:start -->\nold\n<!-- a:end -->\n\nby hand\n")
    command.write_section(doc, "a", "new")
    command.write_section(doc, "b", "other")
    assert doc.read_text() == ("# B\n\n<!-- a:start -->\nnew\n<!-- a:end -->\n\nby hand\n\n"
                               "<!-- b:start -->\nother\n<!-- b:end -->\n")


def test_options_are_written_as_typed() -> None:
    args = argparse.Namespace(rate=10.0, brokers=["rabbitmq", "redis"], count=300,
                              server_env={"DB_POOL_SIZE": "20"})
    assert command.options_text(args, ["brokers", "rate", "count", "server_env"]) == (
        "--brokers rabbitmq redis --rate 10 --count 300 --server-env DB_POOL_SIZE=20")


def test_percentile_is_nearest_rank() -> None:
    values = [float(v) for v in range(1, 101)]
    assert (percentile(values, 0.5), percentile(values, 0.99), percentile([3.0], 0.99)) == (
        50.0, 99.0, 3.0)


async def test_closed_loop_makes_exactly_count_calls_over_its_clients() -> None:
    async def call(k: int) -> int:
        await asyncio.sleep(0)
        return k
    assert sorted(await load.closed_loop(call, clients=3, count=10)) == list(range(10))


async def test_open_loop_gives_none_for_a_call_unanswered_within_grace() -> None:
    never = asyncio.Event()

    async def call(k: int, scheduled: float) -> int:
        if k == 1:
            await never.wait()
        return k
    results = await load.open_loop(call, rate=1000.0, count=3, begin=0.0, grace=0.05)
    assert results == [0, None, 2]


async def test_a_failed_question_is_an_error_and_its_connection_is_closed() -> None:
    opened: list[int] = []
    closed: list[int] = []

    async def open_() -> int:
        opened.append(len(opened))
        return opened[-1]

    async def ask(conn: int, payload: str) -> load.Answer:
        if payload == "drop":
            raise ConnectionResetError("reset by peer")
        return None, payload == "null"

    async def close(conn: int) -> None:
        closed.append(conn)
    pool = load.Pool(load.Connector(open_, ask, close))
    answers = [await pool.ask(p) for p in ("ok", "drop", "null")]
    assert answers == [(None, False), ("ConnectionResetError: reset by peer", False),
                       (None, True)]
    assert (opened, closed) == ([0, 1], [0])


def test_cores_per_party_and_what_is_left() -> None:
    def snap(at: float, used: dict[int, float], busy: float) -> cpu.Snapshot:
        return cpu.Snapshot(at, used, {}, {}, busy)
    start = snap(0.0, {1: 0.0, 2: 1.0, 3: 0.0}, 0.0)
    end = snap(2.0, {1: 1.0, 2: 2.0, 3: 0.5}, 3.0)
    got = cpu.cores(start, end, {"server": {1}, "client": {2}})
    assert got == {"server": 0.5, "client": 0.5, "other": 0.25, "busy": 1.5, "seconds": 2.0,
                   "unattributed": 0.25}
