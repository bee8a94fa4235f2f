"""The side-by-side benchmark's arithmetic and judging (no servers, no timings asserted):
the rotation of rounds, how rounds combine, how PostGraphile's answers are read."""

from __future__ import annotations

import json

from benchmarks.coverage_load import LoadResult
from benchmarks.peer import Contestant, check_peer, rotated, row_ids
from benchmarks.peer_report import combined, cpu_ms


def _answer(grids: list[int], buildings: list[int]) -> bytes:
    return json.dumps({"data": {
        "allGrids": {"nodes": [{"id": g} for g in grids]},
        "allBuildings": {"nodes": [{"id": b} for b in buildings]}}}).encode()


def test_each_round_starts_one_contestant_later() -> None:
    contestants = [Contestant(name, "http", "", []) for name in "abc"]
    orders = ["".join(c.name for c in rotated(contestants, k)) for k in range(4)]
    assert orders == ["abc", "bca", "cab", "abc"]


def test_rounds_combine_requests_windows_latencies_and_cpu() -> None:
    one = LoadResult("x", 32, 10.0, latencies_ms=[1.0] * 1000,
                     cpu={"server": 0.5, "postgres": 0.2, "seconds": 10.0})
    two = LoadResult("x", 32, 10.0, latencies_ms=[3.0] * 3000, errors=1,
                     cpu={"server": 1.5, "postgres": 0.6, "seconds": 10.0})
    whole = combined([one, two])
    assert (whole.requests, whole.rps, whole.errors, whole.p50) == (4000, 200.0, 1, 3.0)
    assert round(cpu_ms(whole, "server"), 6) == 5.0  # 1.0 core ÷ 200 requests/s
    assert round(cpu_ms(whole, "postgres"), 6) == 2.0


def test_a_peer_answer_is_null_when_nothing_covers_the_point() -> None:
    assert check_peer(200, _answer([], [])) == (None, True)
    assert check_peer(200, _answer([7], [])) == (None, False)
    assert row_ids(json.loads(_answer([7], [3, 5]))["data"], "allBuildings") == [3, 5]
    error, _ = check_peer(200, b'{"errors": [{"message": "no"}]}')
    assert error is not None and "no" in error
