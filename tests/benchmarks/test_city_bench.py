"""The city benchmark at a small scale: the sizes of a unit, a build that carries on where it
stopped and leaves the migrated indexes as they were, and reads measured through the schema
(no timings asserted)."""

from __future__ import annotations

from typing import Any

import psycopg
import pytest

from benchmarks import city_build, city_reads
from benchmarks.harness import processes

SCALE = 0.025  # 50 grids, 2,500 buildings, 25,000 requests


def test_a_unit_is_the_issue_s_city_and_ten_units_its_ten_times() -> None:
    one, ten = city_build.Size(1), city_build.Size(10)
    assert (one.grids, one.buildings, one.members, one.requests) == (
        2000, 100_000, 28_000, 1_000_000)
    assert (ten.grids, ten.buildings, ten.members, ten.requests) == (
        20_000, 1_000_000, 280_000, 10_000_000)
    assert ten.layout.numbers_per_road == 800  # enough road names for a million addresses
    assert one.layout.numbers_per_road == 200  # the coverage benchmark's city, unchanged
    assert ten.chunks()[0] == (1, city_build.CHUNK) and ten.chunks()[-1][1] == 10_000_000


def test_database_names_are_bench_databases_per_scale() -> None:
    assert city_build.database_name(1) == "gridsteward_bench_city_1x"
    assert city_build.database_name(0.1) == "gridsteward_bench_city_0_1x"


@pytest.fixture
def city(database_url: str) -> str:
    """A small city, built once into its own bench database of the test cluster."""
    url = database_url.rsplit("/", 1)[0] + "/gridsteward_bench_city_test"
    db = city_build.prepare(SCALE, rebuild=True, url=url)
    city_build.build(db.conninfo, city_build.Size(SCALE), city_build.END,
                     progress=lambda line: None)
    return db.sqlalchemy_url


def _indexes(conninfo: str) -> set[str]:
    with psycopg.connect(conninfo) as conn:
        return {r[0] for r in conn.execute(
            "SELECT indexname FROM pg_indexes WHERE schemaname = 'public' AND tablename = "
            "ANY(%s)", (list(city_build.BIG_TABLES),))}


def test_the_build_makes_the_city_and_resumes_to_nothing(city: str, database_url: str) -> None:
    conninfo = processes.Database.from_url(city).conninfo
    size = city_build.Size(SCALE)
    counts = city_build.counts(conninfo)
    assert (counts["grid"], counts["building"], counts["member"],
            counts["service_request"]) == (size.grids, size.buildings, size.members,
                                           size.requests)
    assert 6.5 < counts["request_event"] / counts["service_request"] < 7.5  # about 7
    assert city_build.is_built(conninfo)
    with psycopg.connect(conninfo) as conn:  # the members' communities, filled at the end
        assert conn.execute("SELECT count(DISTINCT member_id) FROM member_community"
                            ).fetchone() == (size.members,)
    ran: list[str] = []
    city_build.build(conninfo, size, city_build.END, progress=ran.append)
    assert ran == []  # every step was done
    migrated = processes.Database.from_url(database_url).conninfo
    assert _indexes(conninfo) == _indexes(migrated)  # every index dropped came back


async def test_reads_are_measured_through_the_schema(city: str) -> None:
    figures: dict[str, Any] = await city_reads.measure(
        city, runs=1, only=["coverage, point", "grids, deep page", "members, community admin",
                            "tile z15 buildings", "requestStats, subdistrict, month"])
    assert set(figures) == {"coverage, point", "grids, deep page", "members, community admin",
                            "members, community admin, deep page", "tile z15 buildings",
                            "requestStats, subdistrict, month"}
    assert all(f.error is None and f.millis for f in figures.values()), figures
    assert figures["grids, deep page"].note == "4 rows of 50"  # after the 46th of 50
    assert figures["members, community admin"].note == "50 rows of 700"  # one community
    lines = city_reads.table([SCALE, SCALE], {SCALE: figures})
    assert lines[0].startswith("| read | viewer |") and len(lines) == 2 + len(figures)
