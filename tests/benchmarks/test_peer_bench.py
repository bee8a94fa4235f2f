"""The side-by-side benchmark's arithmetic and judging (no servers, no timings asserted):
the rotation of rounds, how rounds combine, how PostGraphile's answers are read."""

from __future__ import annotations

import json

from benchmarks.coverage_load import LoadResult
from benchmarks.harness.command import Run, machine
from benchmarks.peer import Contestant, check_peer, options, rotated, row_ids
from benchmarks.peer_report import (
    GRIDSTEWARD_ADDRESS,
    GRIDSTEWARD_POINT,
    PEER_POINT,
    Report,
    combined,
    cpu_ms,
    render,
)


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


def _rounds(name: str, rps: float, p50: float, server: float) -> list[LoadResult]:
    return [LoadResult(name, 32, 10.0, latencies_ms=[p50] * int(rps * 10),
                       cpu={"server": server, "postgres": 0.3, "client": 0.1, "other": 0.0,
                            "unattributed": 0.0, "seconds": 10.0}) for _ in range(2)]


def test_the_report_judges_each_target_on_the_combined_rounds() -> None:
    args = options().parse_args(["--rounds", "2"])
    args.server_env = {}
    report = Report(run=Run(args, "Tue Dec  1 12:00:00 UTC 2026", machine()),
                    sizes={"communities": 40, "grids": 2000, "buildings": 100_000,
                           "point_only": 10_000, "building_groups": 26_000, "roads": 500,
                           "database_mb": 80},
                    generation=None, checks=["checked"], main={
                        GRIDSTEWARD_POINT: _rounds(GRIDSTEWARD_POINT, 3000, 10.0, 1.0),
                        PEER_POINT: _rounds(PEER_POINT, 2800, 11.0, 0.8),
                        "point, raw SQL": _rounds("point, raw SQL", 6000, 5.0, 0.0),
                        GRIDSTEWARD_ADDRESS: _rounds(GRIDSTEWARD_ADDRESS, 1400, 20.0, 1.0)})
    text = render(report)
    assert "point coverage requests/s ≥ PostGraphile's, 32 clients: 3,000 against 2,800 " \
        "(1.07×) — **PASS**" in text
    assert "with one client: not measured (`--probe-duration 0`) — **FAIL**" in text
    assert "≤ 0.4 ms, 32 clients: 0.33 ms (PostGraphile's: 0.29 ms) — **PASS**" in text
    assert "address coverage ≥ 1,500 requests/s, 32 clients: 1,400/s — **FAIL**" in text
    assert "| 2 | 3,000 (10.00) | 2,800 (11.00) | 6,000 (5.00) | 1,400 (20.00) | 1.07× (0.91×) |" \
        in text
