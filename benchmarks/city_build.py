"""The benchmark city at `scale` (1 = 2,000 grids, 100,000 buildings, 28,000 members,
1,000,000 requests with their timelines and surveys over 12 months), built set-based in SQL,
step by step, resumable.

A unit of scale is the coverage benchmark's synthetic city (benchmarks/synthetic_city.py: 40
communities of 50 grids, 50 buildings a grid, a building group per four of them), one steward
a group and a grid worker a grid (benchmarks/stewards.py: 13 + 1 = 14 members a grid, 28,000
a unit), and 500 requests a grid over the 12 months before `end` (benchmarks/city_history.py:
about 7 events a request, 3 in 4 requests with an answered survey), as issue #14 sizes the
city: 10x is 20,000 grids, 1,000,000 buildings, 280,000 members, 10,000,000 requests.

How it is built (each a step, committed with its row in `bench_build_step`, so an interrupted
build carries on where it stopped when run again, and a finished one is reused as it is):

1. the secondary indexes of the big tables (building, member, service_request,
   request_event, survey; not their primary keys or unique constraints) are dropped and their
   definitions kept in `bench_build_index`;
2. the city (communities, grids, groups, buildings), then the building indexes (the members'
   step looks buildings up by group), the members, then the member indexes (the requests'
   step looks stewards up by group);
3. requests, events and surveys in chunks of `CHUNK` request ids, INSERT ... SELECT over
   generate_series with triggers skipped (`session_replication_role = replica`);
   (the members' step too);
4. the remaining indexes, sequences moved past the ids written, what the skipped triggers
   keep (the statistics' roll-ups, each member's communities), VACUUM ANALYZE.

Every step runs with `maintenance_work_mem` raised (index builds) and `synchronous_commit`
off. The tables stay LOGGED: UNLOGGED would spare the WAL of the load, but `SET LOGGED`
afterwards writes the whole table to the WAL anyway, and tables left unlogged are emptied by
a crash of the cluster (the figures would then be of an empty city).
"""

from __future__ import annotations

import argparse
import functools
import math
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import psycopg

from benchmarks import city_history, stewards, synthetic_city
from benchmarks.harness import processes
from benchmarks.harness.project import upgrade_database

#: Grids, buildings and requests of one unit of scale (members follow: 14 a grid).
GRIDS, BUILDINGS, REQUESTS = 2000, 100_000, 1_000_000
#: Request ids a chunk of the requests', events' and surveys' steps.
CHUNK = 500_000
#: The 12 months of history end here.
END = datetime(2026, 10, 1, tzinfo=UTC)
BIG_TABLES = ("building", "member", "service_request", "request_event", "survey")
SESSION = ("SET maintenance_work_mem = '1GB'", "SET synchronous_commit = off",
           "SET max_parallel_maintenance_workers = 2")

_STATE = """
CREATE TABLE IF NOT EXISTS bench_build_step (step text PRIMARY KEY, seconds float8 NOT NULL,
                                             done_at timestamptz NOT NULL DEFAULT now());
CREATE TABLE IF NOT EXISTS bench_build_index (name text PRIMARY KEY, tablename text NOT NULL,
                                              definition text NOT NULL)
"""

_SECONDARY_INDEXES = """
SELECT i.relname, t.relname, pg_get_indexdef(i.oid)
FROM pg_index x JOIN pg_class i ON i.oid = x.indexrelid JOIN pg_class t ON t.oid = x.indrelid
WHERE t.relname = ANY(%s) AND t.relnamespace = 'public'::regnamespace
  AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conindid = i.oid)
ORDER BY t.relname, i.relname
"""


@dataclass(frozen=True)
class Size:
    """What a city of `scale` units holds."""

    scale: float

    @property
    def grids(self) -> int:
        return max(synthetic_city.GRIDS_PER_COMMUNITY, round(GRIDS * self.scale))

    @property
    def buildings(self) -> int:
        return round(BUILDINGS * self.scale)

    @property
    def requests(self) -> int:
        return round(REQUESTS * self.scale)

    @property
    def layout(self) -> synthetic_city.CityLayout:
        return synthetic_city.CityLayout.plan(self.grids, self.buildings)

    @property
    def members(self) -> int:
        """One steward a building group and one grid worker a grid."""
        layout = self.layout
        return layout.building_groups + layout.grids

    def chunks(self) -> list[tuple[int, int]]:
        """(first, last) request ids of each chunk."""
        return [(lo, min(lo + CHUNK - 1, self.requests))
                for lo in range(1, self.requests + 1, CHUNK)]


@dataclass(frozen=True)
class Step:
    name: str
    run: Callable[[psycopg.Connection[Any]], object]
    autocommit: bool = False  # VACUUM cannot run in a transaction


def steps(size: Size, end: datetime) -> list[Step]:
    """Every step of the build, in order."""
    layout = size.layout
    made: list[Step] = [
        Step("drop secondary indexes", _drop_indexes),
        Step("city", lambda conn: synthetic_city.fill(conn, layout)),
        Step("territories", _territories),
        Step("indexes: building", lambda conn: _create_indexes(conn, "building")),
        Step("members", _members),
        Step("indexes: member", lambda conn: _create_indexes(conn, "member")),
    ]
    params = city_history.params(buildings=layout.buildings, end=end)
    for what, sql in (("requests", city_history.REQUESTS_IN), ("events", city_history.EVENTS_IN),
                      ("surveys", city_history.SURVEYS_IN)):
        for lo, hi in size.chunks():
            made.append(Step(f"{what} {lo:,}-{hi:,}", functools.partial(
                _chunk, sql=sql, params={**params, "lo": lo, "hi": hi})))
    made += [Step("indexes: the rest", lambda conn: _create_indexes(conn, None)),
             Step("sequences", _sequences),
             # The load skipped the triggers that keep the statistics' roll-ups (0018).
             Step("roll-ups", lambda conn: conn.execute("SELECT rollup_rebuild()")),
             # ... and those that keep each member's communities (0022).
             Step("member communities", _member_communities),
             # (a city built before 0022 has had its VACUUM: the new table's own, so that a
             # territory's members are an index-only scan)
             Step("vacuum analyze: member communities",
                  lambda conn: conn.execute("VACUUM (ANALYZE) member_community"),
                  autocommit=True),
             Step("vacuum analyze", lambda conn: conn.execute("VACUUM (ANALYZE)"),
                  autocommit=True)]
    return made


def _members(conn: psycopg.Connection[Any]) -> None:
    """The stewards and grid workers, their communities' triggers skipped (row by row, they
    would refresh each member's rows: the step "member communities" fills them at once)."""
    conn.execute("SET LOCAL session_replication_role = replica")
    stewards.insert_members(conn, per_group=1)


def _member_communities(conn: psycopg.Connection[Any]) -> None:
    conn.execute("SELECT member_community_rebuild()")


def _chunk(conn: psycopg.Connection[Any], sql: str, params: dict[str, Any]) -> None:
    conn.execute("SET LOCAL session_replication_role = replica")
    conn.execute(sql, params)


#: A subdistrict per `COMMUNITIES_PER_SUBDISTRICT` communities (two rows of five: a
#: rectangle), and the staff accounts the benchmark reads as: the city, subdistrict 1 and
#: community 1 (logins bench-city, bench-subdistrict, bench-community; no password).
COMMUNITIES_PER_SUBDISTRICT = 10
_TERRITORIES = """
INSERT INTO subdistrict (id, code, name, boundary)
SELECT s + 1, 'S' || lpad((s + 1)::text, 3, '0'), '街道' || (s + 1),
       (SELECT ST_Multi(ST_Union(c.boundary)) FROM community c
        WHERE (c.id - 1) / %(per)s = s)
FROM generate_series(0, (SELECT (max(id) - 1) / %(per)s FROM community)) AS s;
UPDATE community SET subdistrict_id = (id - 1) / %(per)s + 1;
SELECT setval(pg_get_serial_sequence('subdistrict', 'id'), (SELECT max(id) FROM subdistrict));
INSERT INTO staff_account (login, name, password_hash)
VALUES ('bench-city', '市级管理员', '!'), ('bench-subdistrict', '街道管理员', '!'),
       ('bench-community', '社区管理员', '!');
INSERT INTO account_territory (account_id, level, subdistrict_id, community_id)
SELECT id, CASE login WHEN 'bench-city' THEN 'CITY' WHEN 'bench-subdistrict' THEN
         'SUBDISTRICT' ELSE 'COMMUNITY' END,
       CASE WHEN login = 'bench-subdistrict' THEN 1 END,
       CASE WHEN login = 'bench-community' THEN 1 END
FROM staff_account WHERE login LIKE 'bench-%%'
"""


def _territories(conn: psycopg.Connection[Any]) -> None:
    for statement in _TERRITORIES.split(";"):
        conn.execute(statement, {"per": COMMUNITIES_PER_SUBDISTRICT})


def _drop_indexes(conn: psycopg.Connection[Any]) -> None:
    for name, table, definition in conn.execute(_SECONDARY_INDEXES, (list(BIG_TABLES),)
                                                ).fetchall():
        conn.execute("INSERT INTO bench_build_index VALUES (%s, %s, %s) "
                     "ON CONFLICT (name) DO NOTHING", (name, table, definition))
        conn.execute(f'DROP INDEX "{name}"')


def _create_indexes(conn: psycopg.Connection[Any], table: str | None) -> None:
    """The kept indexes of `table` (every one left, when None), then forgets them."""
    rows = conn.execute("SELECT name, definition FROM bench_build_index WHERE %s::text IS NULL "
                        "OR tablename = %s ORDER BY name", (table, table)).fetchall()
    for name, definition in rows:
        conn.execute(definition)
        conn.execute("DELETE FROM bench_build_index WHERE name = %s", (name,))
    if table:
        conn.execute(f"ANALYZE {table}")


def _sequences(conn: psycopg.Connection[Any]) -> None:
    for table in ("community", "grid", "building_group", "building", "member",
                  "service_request", "request_event", "survey"):
        conn.execute(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                     f"GREATEST(1, (SELECT max(id) FROM {table})))")


def done_steps(conninfo: str) -> dict[str, float]:
    """The steps already built, with their seconds."""
    with psycopg.connect(conninfo, autocommit=True) as conn:
        conn.execute(_STATE)
        return {step: float(seconds) for step, seconds in
                conn.execute("SELECT step, seconds FROM bench_build_step")}


def build(conninfo: str, size: Size, end: datetime,
          progress: Callable[[str], None] = print) -> dict[str, float]:
    """Build what is not built yet; the seconds of every step (earlier runs' included)."""
    seconds = done_steps(conninfo)
    for step in steps(size, end):
        if step.name in seconds:
            continue
        started = time.perf_counter()
        with psycopg.connect(conninfo, autocommit=step.autocommit) as conn:
            for setting in SESSION:
                conn.execute(setting)
            step.run(conn)
            took = time.perf_counter() - started
            conn.execute("INSERT INTO bench_build_step (step, seconds) VALUES (%s, %s)",
                         (step.name, took))
            if not step.autocommit:
                conn.commit()
        seconds[step.name] = took
        progress(f"  built {step.name}: {took:,.1f} s")
    return seconds


def is_built(conninfo: str) -> bool:
    return "vacuum analyze" in done_steps(conninfo)


def summary(seconds: dict[str, float]) -> dict[str, float]:
    """Seconds per kind of step (chunks summed): city, members, requests, events, ..."""
    kinds: dict[str, float] = {}
    for step, took in seconds.items():
        kind = step.split(" ")[0] if step.split(" ")[-1][0].isdigit() else step
        kinds[kind] = kinds.get(kind, 0.0) + took
    return kinds


def counts(conninfo: str) -> dict[str, int]:
    """Rows of the city's tables, and the database's size in MB."""
    with psycopg.connect(conninfo) as conn:
        found = {table: int(conn.execute(f"SELECT count(*) FROM {table}").fetchone()[0])  # type: ignore[index]
                 for table in ("community", "grid", "building", "member", "service_request",
                               "request_event", "survey")}
        row = conn.execute("SELECT pg_database_size(current_database())").fetchone()
        assert row is not None
        found["MB"] = math.ceil(int(row[0]) / 1e6)
    return found


def database_name(scale: float) -> str:
    """gridsteward_bench_city_1x, gridsteward_bench_city_10x, gridsteward_bench_city_0_1x."""
    return "gridsteward_bench_city_" + f"{scale:g}".replace(".", "_") + "x"


def prepare(scale: float, *, rebuild: bool, url: str | None = None) -> processes.Database:
    """The database of the city at `scale`: created and migrated when missing (or dropped
    first, `rebuild`), else migrated to the head (its build carries on or is reused)."""
    db = processes.bench_database(database_name(scale), url)
    with psycopg.connect(db.admin_conninfo(), autocommit=True) as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s",
                              (db.name,)).fetchone() is not None
    if rebuild or not exists:
        processes.recreate(db)
    else:
        upgrade_database(db.sqlalchemy_url)
    return db


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.city_build",
                                     description=__doc__.split("\n\n")[0])
    parser.add_argument("--scale", type=float, default=1.0)
    parser.add_argument("--rebuild", action="store_true", help="drop the database first")
    args = parser.parse_args(argv)
    started = time.perf_counter()
    db = prepare(args.scale, rebuild=args.rebuild)
    print(f"{db.name}: building the city at {args.scale:g}x", flush=True)
    seconds = build(db.conninfo, Size(args.scale), END,
                    progress=lambda line: print(line, flush=True))
    print(f"built in {time.perf_counter() - started:,.0f} s this run; steps "
          + ", ".join(f"{k} {v:,.0f} s" for k, v in summary(seconds).items()))
    print(counts(db.conninfo))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
