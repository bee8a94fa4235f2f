"""The city benchmark (issue #14, point 5): every read of the schema on the benchmark city at
1x and at 10x, in one run, with the growth ratio.

    .venv/bin/python -m benchmarks.city_reads [--scales 1 10] [--runs 11] [--rebuild]

Each scale is its own database in the local cluster (gridsteward_bench_city_1x,
gridsteward_bench_city_10x), built set-based in SQL by benchmarks/city_build.py (2,000 grids,
100,000 buildings, 28,000 members and 1,000,000 requests with their timelines and surveys over
12 months a unit of scale). A build carries on where it stopped, and a finished one is reused
(--rebuild starts afresh): the 10x city takes most of an hour on two cores.

Then, one scale after the other, every read below goes through the schema in this process
(`schema.execute`, the resolvers, loaders and SQL a request runs, without HTTP), as the city
administrator, the administrator of subdistrict 1 (10 communities) or of community 1 where the
read is territorial, one client: the first run warms the plans and is dropped, the p50 of the
next `--runs` is the figure. Lists select `totalCount`, as the screens do, and are read at
their first page and at a deep page (after the id 90 % of the way through the list).
Tiles are rendered by domain.spatial.tiles in this process. The quarter's assessment
snapshot and `assessments` of the whole city, page after page, run in a child process whose
peak RSS is the figure.

Targets at 10x: interactive reads p50 <= 20 ms; a statistic (requestStats, satisfaction) for
any territory and any period up to a year <= 200 ms; the snapshot <= 120 s under 500 MB; the
ratio 10x/1x <= 2 for every interactive read.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import resource
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

import psycopg

from benchmarks import city_build
from benchmarks.harness import command, processes, report
from benchmarks.harness.project import (
    CITY_ADMIN,
    Context,
    Territories,
    Viewer,
    assess_period,
    build_schema,
    dispose_engine,
    encode_cursor,
    encode_id,
    make_async_engine,
    session_factory,
    settings,
    vector_tile,
)

END = city_build.END
PERIOD = "2026-Q3"
INTERACTIVE_MS, STATISTIC_MS, SNAPSHOT_S, SNAPSHOT_MB, GROWTH = 20.0, 200.0, 120.0, 500.0, 2.0
#: The kinds of read and the target each is judged by.
INTERACTIVE, STATISTIC, HEAVY = "interactive", "statistic", "heavy"

_PAGE = "totalCount pageInfo { hasNextPage endCursor }"
_GRID = "edges { node { id code name community { id name } } }"
_BUILDING = "edges { node { id code address households grid { id name } } }"
_MEMBER = "edges { node { id name roles skills status phone building { id address } } }"
_REQUEST = ("edges { node { id number category status submittedAt dueAt overdue "
            "building { id address } assignee { id name } } }")


@dataclass(frozen=True)
class Facts:
    """What the reads of one city need from its data: ids, boxes, deep cursors."""

    community: str  # the Node id of community 1
    grid: str
    building: str
    group: str
    address: str  # building 1's
    point: dict[str, float]  # inside building 1's footprint
    community_box: dict[str, float]
    grid_box: dict[str, float]
    tile15: tuple[int, int]  # x, y of the z15 tile over building 1
    tile12: tuple[int, int]
    deep: dict[str, str] = field(default_factory=dict)  # read name -> cursor 90 % in


@dataclass(frozen=True)
class Read:
    """One read: a GraphQL operation (or a tile), who asks, and how it is judged."""

    name: str
    query: str
    variables: Callable[[Facts], dict[str, Any]] = lambda facts: {}
    viewer: str = "city"  # city | subdistrict | community | anonymous
    kind: str = INTERACTIVE
    #: For a list: the ids it pages through, in order (SQL with :community and :grid), so
    #: that a deep page can start 90 % of the way in.
    ids: str | None = None
    tile: tuple[str, int] | None = None  # (layer, zoom): a vector tile, not GraphQL


def _list(name: str, field_: str, args: str, body: str, *, ids: str, viewer: str = "city",
          variables: Callable[[Facts], dict[str, Any]] = lambda facts: {},
          declared: str = "") -> list[Read]:
    """The first page and a deep page of a list."""
    head = f"query ($after: String{declared})"
    text = f"{head} {{ {field_}(first: 50, after: $after{args}) {{ {_PAGE} {body} }} }}"
    def deep(facts: Facts) -> dict[str, Any]:
        return {**variables(facts), "after": facts.deep[name]}
    return [Read(name, text, variables, viewer),
            Read(f"{name}, deep page", text, deep, viewer, ids=ids)]


def _stats(field_: str, body: str) -> list[Read]:
    reads = []
    for who, scope in (("community", ""), ("subdistrict", ""), ("city", "")):
        for period, days in (("month", 30), ("year", 365)):
            since = (END - timedelta(days=days)).isoformat()
            reads.append(Read(
                f"{field_}, {who}, {period}",
                f'{{ {field_}(since: "{since}", until: "{END.isoformat()}"{scope}) {{ {body} }} }}',
                viewer=who, kind=STATISTIC))
    return reads


_STEWARDS = "SELECT id FROM member WHERE 'STEWARD' = ANY(roles)"
_COMMUNITY_MEMBERS = ("SELECT m.id FROM member m JOIN building_group bg ON bg.id = m.group_id "
                      "JOIN grid g ON g.id = bg.grid_id WHERE g.community_id = 1 UNION "
                      "SELECT gw.member_id FROM grid_worker gw JOIN grid g ON g.id = gw.grid_id "
                      "WHERE g.community_id = 1")
_SUBDISTRICT_MEMBERS = _COMMUNITY_MEMBERS.replace(
    "g.community_id = 1", "g.community_id IN (SELECT id FROM community WHERE subdistrict_id = 1)")

READS: list[Read] = [
    Read("coverage, point", "query ($p: PointInput!) { coverage(point: $p) { "
         "building { id address } buildingGroup { id } grid { id name } community { id } } }",
         lambda f: {"p": f.point}, viewer="anonymous"),
    Read("coverage, address", "query ($a: String!) { coverage(address: $a) { "
         "matchedAddress building { id } grid { id } community { id } } }",
         lambda f: {"a": f"湖南省衡阳市{f.address}3单元502室"}, viewer="anonymous"),
    Read("node, a building", "query ($id: ID!) { node(id: $id) { id ... on Building { "
         "address grid { id } } } }", lambda f: {"id": f.building}),
    *_list("subdistricts", "subdistricts", "", "edges { node { id name } }",
           ids="SELECT id FROM subdistrict"),
    *_list("grids", "grids", "", _GRID, ids="SELECT id FROM grid"),
    *_list("grids, communityId (community admin)", "grids", ", communityId: $c", _GRID,
           ids="SELECT id FROM grid WHERE community_id = 1", viewer="community",
           variables=lambda f: {"c": f.community}, declared=", $c: ID"),
    *_list("grids, bbox of a community", "grids", ", bbox: $b", _GRID,
           ids="SELECT id FROM grid WHERE community_id = 1",
           variables=lambda f: {"b": f.community_box}, declared=", $b: BBoxInput"),
    *_list("buildings", "buildings", "", _BUILDING, ids="SELECT id FROM building"),
    *_list("buildings, gridId", "buildings", ", gridId: $g", _BUILDING,
           ids="SELECT id FROM building WHERE grid_id = 1",
           variables=lambda f: {"g": f.grid}, declared=", $g: ID"),
    *_list("buildings, bbox of a grid", "buildings", ", bbox: $b", _BUILDING,
           ids="SELECT id FROM building WHERE grid_id = 1",
           variables=lambda f: {"b": f.grid_box}, declared=", $b: BBoxInput"),
    *_list("buildings, search a road", "buildings", ", search: $s", _BUILDING,
           ids="SELECT id FROM building WHERE address LIKE "
               "(SELECT regexp_replace(address, '[0-9]+号$', '') FROM building WHERE id = 1)"
               " || '%'",
           variables=lambda f: {"s": f.address.rstrip("号").rstrip("0123456789")},
           declared=", $s: String"),
    Read("buildings, search an address",
         "query ($s: String) { buildings(first: 50, search: $s) { " + _PAGE + " "
         + _BUILDING + " } }", lambda f: {"s": f.address}),
    Read("buildings, search that matches nothing",
         "query ($s: String) { buildings(first: 50, search: $s) { " + _PAGE + " "
         + _BUILDING + " } }", lambda f: {"s": "不存在的路999号"}),
    *_list("members", "members", "", _MEMBER, ids="SELECT id FROM member"),
    *_list("members, role STEWARD", "members", ", role: STEWARD", _MEMBER, ids=_STEWARDS),
    *_list("members, skill EMERGENCY", "members", ", skill: EMERGENCY", _MEMBER,
           ids="SELECT id FROM member WHERE 'EMERGENCY' = ANY(skills)"),
    *_list("members, status ACTIVE", "members", ", status: ACTIVE", _MEMBER,
           ids="SELECT id FROM member WHERE status = 'ACTIVE'"),
    *_list("members, community admin", "members", "", _MEMBER, ids=_COMMUNITY_MEMBERS,
           viewer="community"),
    *_list("members, subdistrict admin", "members", "", _MEMBER, ids=_SUBDISTRICT_MEMBERS,
           viewer="subdistrict"),
    *_list("members, scope communityId", "members", ", scope: {communityId: $c}", _MEMBER,
           ids=_COMMUNITY_MEMBERS, variables=lambda f: {"c": f.community},
           declared=", $c: ID"),
    *_list("serviceRequests", "serviceRequests", "", _REQUEST,
           ids="SELECT id FROM service_request"),
    *_list("serviceRequests, status SUBMITTED", "serviceRequests", ", status: [SUBMITTED]",
           _REQUEST, ids="SELECT id FROM service_request WHERE status = 'SUBMITTED'"),
    *_list("serviceRequests, category MEDIATION", "serviceRequests", ", category: MEDIATION",
           _REQUEST, ids="SELECT id FROM service_request WHERE category = 'MEDIATION'"),
    *_list("serviceRequests, overdue", "serviceRequests", ", overdue: true", _REQUEST,
           ids="SELECT id FROM service_request WHERE status IN ('SUBMITTED', 'DISPATCHED', "
               "'ACCEPTED', 'IN_PROGRESS') AND due_at < now()"),
    *_list("serviceRequests, bbox of a grid", "serviceRequests", ", bbox: $b", _REQUEST,
           ids="SELECT id FROM service_request WHERE grid_id = 1",
           variables=lambda f: {"b": f.grid_box}, declared=", $b: BBoxInput"),
    *_list("serviceRequests, scope gridId", "serviceRequests", ", scope: {gridId: $g}",
           _REQUEST, ids="SELECT id FROM service_request WHERE grid_id = 1",
           variables=lambda f: {"g": f.grid}, declared=", $g: ID"),
    *_list("serviceRequests, community admin", "serviceRequests", "", _REQUEST,
           ids="SELECT id FROM service_request WHERE community_id = 1", viewer="community"),
    *_list("serviceRequests, subdistrict admin", "serviceRequests", "", _REQUEST,
           ids="SELECT id FROM service_request WHERE community_id <= 10",
           viewer="subdistrict"),
    Read("outboundMessages", "{ outboundMessages(first: 50) { id kind status } }"),
    Read("staffAccounts", "{ staffAccounts(first: 50) { totalCount edges { node { id login "
         "territories { level } } } } }"),
    Read("auditLog", "{ auditLog(first: 50) { totalCount edges { node { id at action } } } }"),
    Read("organisations", "{ organisations(first: 50) { totalCount edges { node { id name } } "
         "} }"),
    Read("calendarOverrides", "query ($c: ID!) { calendarOverrides(communityId: $c) { "
         "__typename } }", lambda f: {"c": f.community}),
    Read("noticeBoard", "query ($g: ID!) { noticeBoard(buildingGroupId: $g) { __typename } }",
         lambda f: {"g": f.group}),
    Read("groupSuggestions, a community", "query ($c: ID) { groupSuggestions(communityId: $c) "
         "{ __typename } }", lambda f: {"c": f.community}),
    Read("membersForReview, a community", "query ($c: ID) { membersForReview(period: "
         f'"{PERIOD}", communityId: $c) {{ __typename }} }}', lambda f: {"c": f.community}),
    Read("mapFeatures, five layers, a grid", "query ($b: BBoxInput!) { mapFeatures(bbox: $b, "
         "layers: [COMMUNITIES, GRIDS, BUILDINGS, BUILDING_GROUPS, OPEN_REQUESTS]) }",
         lambda f: {"b": f.grid_box}),
    Read("mapFeatures, five layers, a community", "query ($b: BBoxInput!) { mapFeatures("
         "bbox: $b, layers: [COMMUNITIES, GRIDS, BUILDINGS, BUILDING_GROUPS, OPEN_REQUESTS]) }",
         lambda f: {"b": f.community_box}, kind=HEAVY),
    Read("mapFeatures, grids, a community (community admin)", "query ($b: BBoxInput!) { "
         "mapFeatures(bbox: $b, layers: [GRIDS]) }", lambda f: {"b": f.community_box},
         viewer="community"),
    *[Read(f"tile z{z} {layer}", "", tile=(layer, z)) for layer, z in (
        ("communities", 12), ("grids", 12), ("buildings", 15), ("building_groups", 15),
        ("open_requests", 15))],
    *_stats("requestStats", "submitted dispatched completed overdue byCategory { category "
            "count }"),
    *_stats("satisfaction", "surveysSent responses responseRate averageScore csat"),
    Read("assessments, a community", "query ($c: ID) { assessments(period: "
         f'"{PERIOD}", scope: {{communityId: $c}}, first: 500) {{ score rank member {{ id name }}'
         " } }", lambda f: {"c": f.community}, viewer="community", kind=HEAVY),
]


# --- the facts of a city -----------------------------------------------------------------


def facts(conninfo: str) -> Facts:
    """Ids, boxes, the tiles and every list's deep cursor of the city at `conninfo`."""
    with psycopg.connect(conninfo) as conn:
        def one(sql: str) -> tuple[Any, ...]:
            row = conn.execute(sql).fetchone()
            assert row is not None, sql
            return tuple(row)

        address, group, x, y = one(
            "SELECT address, group_id, ST_X(ST_PointOnSurface(footprint)), "
            "ST_Y(ST_PointOnSurface(footprint)) FROM building WHERE id = 1")
        deep = {}
        for read in READS:
            if read.ids:
                row = conn.execute(
                    f"SELECT id FROM ({read.ids}) AS l(id) ORDER BY id OFFSET "
                    f"(SELECT count(*) * 9 / 10 FROM ({read.ids}) AS c) LIMIT 1").fetchone()
                deep[read.name.removesuffix(", deep page")] = encode_cursor(
                    int(row[0]) if row else 0)
        return Facts(
            community=encode_id("Community", 1), grid=encode_id("Grid", 1),
            building=encode_id("Building", 1), group=encode_id("BuildingGroup", int(group)),
            address=str(address), point={"lon": float(x), "lat": float(y)},
            community_box=_box(one("SELECT ST_XMin(boundary), ST_YMin(boundary), "
                                   "ST_XMax(boundary), ST_YMax(boundary) FROM community "
                                   "WHERE id = 1")),
            grid_box=_box(one("SELECT ST_XMin(boundary), ST_YMin(boundary), ST_XMax(boundary), "
                              "ST_YMax(boundary) FROM grid WHERE id = 1")),
            tile15=tile_of(float(x), float(y), 15), tile12=tile_of(float(x), float(y), 12),
            deep=deep)


def _box(row: Sequence[Any]) -> dict[str, float]:
    west, south, east, north = (float(v) for v in row)
    return {"west": west, "south": south, "east": east, "north": north}


def tile_of(lon: float, lat: float, z: int) -> tuple[int, int]:
    """The x, y of the tile of zoom `z` over a point."""
    from benchmarks.tiles import tile_range
    return tile_range((lon, lat, lon, lat), z)[0]


def viewers(conninfo: str) -> dict[str, Viewer]:
    """The callers: the city administrator and the accounts of subdistrict 1 and
    community 1 (made by the build), and no one."""
    with psycopg.connect(conninfo) as conn:
        ids: dict[str, int] = dict(conn.execute(
            "SELECT login, id FROM staff_account WHERE login LIKE 'bench-%'").fetchall())
        within = frozenset(r[0] for r in conn.execute(
            "SELECT id FROM community WHERE subdistrict_id = 1"))
    return {
        "city": CITY_ADMIN, "anonymous": Viewer(),
        "subdistrict": Viewer(account_id=ids["bench-subdistrict"], territories=Territories(
            subdistrict_ids=frozenset({1})), communities=within),
        "community": Viewer(account_id=ids["bench-community"], territories=Territories(
            community_ids=frozenset({1})), communities=frozenset({1})),
    }


# --- measuring -----------------------------------------------------------------------------


@dataclass
class Figure:
    """A read's runs at one scale: milliseconds, or what went wrong."""

    millis: list[float] = field(default_factory=list)
    error: str | None = None
    note: str = ""

    @property
    def p50(self) -> float:
        return report.percentile(self.millis, 0.5)


async def measure(url: str, runs: int, only: Sequence[str] = ()) -> dict[str, Figure]:
    """Every read of READS (or those whose name contains one of `only`) on the city at
    `url`: a warm-up, then `runs` timed runs each (statistics and heavy reads: a third)."""
    conninfo = processes.Database.from_url(url).conninfo
    found, callers = facts(conninfo), viewers(conninfo)
    engine = make_async_engine(url, pool_size=2)
    schema, sessions = build_schema(), session_factory(engine)
    configured = settings()  # once: reading the environment costs ~15 ms, not the read's
    out: dict[str, Figure] = {}
    try:
        for read in READS:
            if only and not any(word in read.name for word in only):
                continue
            figure = Figure()
            times = runs if read.kind == INTERACTIVE else max(3, runs // 3)
            for attempt in range(times + 1):
                started = time.perf_counter()
                if read.tile:
                    note = await _tile(sessions, read.tile, found, callers[read.viewer])
                else:
                    result = await schema.execute(
                        read.query, variable_values=read.variables(found),
                        context_value=Context(sessions=sessions, settings=configured,
                                              viewer=callers[read.viewer]))
                    note = _note(result)
                millis = (time.perf_counter() - started) * 1000
                if note.startswith("error"):
                    figure.error = note
                    break
                if attempt:
                    figure.millis.append(millis)
                figure.note = note
            out[read.name] = figure
            print(f"  {read.name}: {figure.error or f'{figure.p50:,.1f} ms ({figure.note})'}",
                  flush=True)
    finally:
        await dispose_engine(engine)
    return out


async def _tile(sessions: Any, tile: tuple[str, int], found: Facts, viewer: Viewer) -> str:
    layer, z = tile
    x, y = found.tile15 if z == 15 else found.tile12
    async with sessions() as session:
        data = await vector_tile(session, layer=layer, z=z, x=x, y=y, viewer=viewer)
    return f"{len(data) / 1024:.1f} KB"


def _note(result: Any) -> str:
    """What an answer held: "error: CODE message", the totalCount, or its size."""
    if result.errors:
        first = result.errors[0]
        return (f"error: {(first.extensions or {}).get('code')} {first.message[:80]}")
    data = result.data or {}
    top = next(iter(data.values()), None)
    if isinstance(top, dict) and "totalCount" in top:
        return f"{len(top.get('edges') or [])} rows of {top['totalCount']:,}"
    if isinstance(top, list):
        return f"{len(top)} rows"
    return f"{len(json.dumps(data)) / 1024:.1f} KB"


# --- the assessment snapshot and every page of the city's assessments, in a child ---------


_ASSESSMENTS_PAGED = """query ($after: ID) { assessments(period: "PERIOD", first: 500,
    after: $after) { score rank member { id name } } }""".replace("PERIOD", PERIOD)


async def _child(url: str, what: str) -> dict[str, Any]:
    """The snapshot (`what` = snapshot) or every page of the city's assessments (pages)."""
    engine = make_async_engine(url, pool_size=2)
    started = time.perf_counter()
    entries = pages = 0
    try:
        if what == "snapshot":
            async with session_factory(engine)() as session:
                entries = await assess_period(session, period=PERIOD, now=END)
                await session.commit()
        else:
            schema, sessions, after = build_schema(), session_factory(engine), None
            configured = settings()
            while True:
                result = await schema.execute(
                    _ASSESSMENTS_PAGED, variable_values={"after": after},
                    context_value=Context(sessions=sessions, settings=configured,
                                          viewer=CITY_ADMIN))
                if result.errors:
                    return {"error": result.errors[0].message[:120]}
                assert result.data is not None
                page = result.data["assessments"]
                entries, pages = entries + len(page), pages + 1
                if len(page) < 500:
                    break
                after = page[-1]["member"]["id"]
    finally:
        await dispose_engine(engine)
    return {"entries": entries, "pages": pages, "seconds": time.perf_counter() - started,
            "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}


def in_child(url: str, what: str, timeout_s: int) -> dict[str, Any]:
    """`_child` in a child process (its peak RSS is the figure)."""
    argv = [sys.executable, "-m", "benchmarks.city_reads", "--child", what, url]
    try:
        done = subprocess.run(argv, capture_output=True, text=True, timeout=timeout_s,
                              cwd=command.ROOT, check=False)
    except subprocess.TimeoutExpired:
        return {"error": f"no answer in {timeout_s} s"}
    lines = done.stdout.strip().splitlines()
    if done.returncode != 0 or not lines:
        last = (done.stderr.strip().splitlines() or ["?"])[-1]
        return {"error": f"child exited {done.returncode}: {last[:120]}"}
    return dict(json.loads(lines[-1]))


def heavy_figures(url: str, timeout_s: int) -> dict[str, Figure]:
    out = {}
    for name, what in ((f"assessment snapshot {PERIOD}, the city", "snapshot"),
                       ("assessments, the city, every page of 500", "pages")):
        got = in_child(url, what, timeout_s)
        figure = Figure(error=got.get("error"))
        if "seconds" in got:
            figure.millis = [got["seconds"] * 1000]
            figure.note = (f"{got['entries']:,} members"
                           + (f" in {got['pages']} pages" if got["pages"] else "")
                           + f"; peak RSS {got['peak_rss_mb']:.0f} MB")
        out[name] = figure
        print(f"  {name}: {figure.error or f'{figure.p50:,.0f} ms ({figure.note})'}")
    return out


# --- the report ------------------------------------------------------------------------------


def kind_of(name: str) -> str:
    if name.startswith("assessment"):
        return HEAVY
    return next((read.kind for read in READS if read.name == name), INTERACTIVE)


def verdict(name: str, small: Figure | None, large: Figure) -> str:
    """The targets of issue #14 for this read, judged at the largest scale."""
    if large.error or not large.millis:
        return "**FAIL**"
    kind, ms = kind_of(name), large.p50
    if name.startswith("assessment snapshot"):
        rss = float(large.note.rsplit("RSS ", 1)[1].split()[0])
        return report.verdict(ms <= SNAPSHOT_S * 1000 and rss <= SNAPSHOT_MB)
    if kind == STATISTIC:
        return report.verdict(ms <= STATISTIC_MS)
    if kind == HEAVY:
        return "–"
    grew = small is not None and small.millis and ms / small.p50 > GROWTH
    return report.verdict(ms <= INTERACTIVE_MS and not grew)


def table(scales: Sequence[float], figures: dict[float, dict[str, Figure]]) -> list[str]:
    small, large = scales[0], scales[-1]
    head = ["read", "viewer", *[f"{s:g}x p50 ms" for s in scales], "ratio",
            f"{large:g}x answer", "target"]
    lines = [report.row(*head), report.row(*["---"] * len(head))]
    for name, figure in figures[large].items():
        first = figures[small].get(name)
        cells = []
        for scale in scales:
            f = figures[scale].get(name)
            cells.append("–" if f is None else (f.error or report.number(f.p50)))
        ratio = (report.number(figure.p50 / first.p50, 2) if first and first.millis
                 and figure.millis else "–")
        viewer = next((r.viewer for r in READS if r.name == name), "city")
        lines.append(report.row(name, viewer, *cells, ratio, figure.note or "–",
                                verdict(name, first, figure)))
    return lines


def main(argv: Sequence[str] | None = None) -> int:
    parser = command.parser("city_reads", __doc__)
    parser.add_argument("--scales", type=float, nargs="+", default=[1.0, 10.0])
    parser.add_argument("--runs", type=int, default=11, help="timed runs of each read")
    parser.add_argument("--rebuild", action="store_true", help="drop and build the cities")
    parser.add_argument("--only", nargs="*", default=[],
                        help="measure only the reads whose name contains one of these")
    parser.add_argument("--no-heavy", action="store_true",
                        help="skip the assessment snapshot and paging through the city")
    parser.add_argument("--timeout", type=int, default=600, help="seconds for a child")
    parser.add_argument("--child", nargs=2, metavar=("WHAT", "URL"), help=argparse.SUPPRESS)
    command.add_common(parser, database=None)
    if argv is None and "--child" in sys.argv:
        args = parser.parse_args()
        print(json.dumps(asyncio.run(_child(args.child[1], args.child[0]))))
        return 0
    run = command.start(parser, argv)
    args = run.args
    figures: dict[float, dict[str, Figure]] = {}
    sizes: dict[float, dict[str, int]] = {}
    for scale in args.scales:
        db = city_build.prepare(scale, rebuild=args.rebuild)
        print(f"{db.name}: the city at {scale:g}x", flush=True)
        city_build.build(db.conninfo, city_build.Size(scale), END)
        sizes[scale] = city_build.counts(db.conninfo)
        with psycopg.connect(db.conninfo) as conn:
            run.versions = command.versions(conn)
        figures[scale] = asyncio.run(measure(db.sqlalchemy_url, args.runs, args.only))
        if not args.no_heavy:
            figures[scale].update(heavy_figures(db.sqlalchemy_url, args.timeout))
    lines = table(args.scales, figures)
    text = "\n".join([*report.heading(
        "The city at 1x and 10x: every read", INTRO, ".venv/bin/python -m benchmarks.city_reads "
        + command.options_text(args, ["scales", "runs"]), run, "Shared with other work."),
        "- **Data**: " + "; ".join(
            f"{s:g}x: " + ", ".join(f"{v:,} {k}" for k, v in sizes[s].items())
            for s in args.scales) + ".", "", *lines])
    command.publish(text, name="city", args=args)
    return 0


INTRO = ("Every read of the schema on the benchmark city at each scale (benchmarks/city_build.py:"
         " a unit is 2,000 grids, 100,000 buildings, 28,000 members, 1,000,000 requests over 12 "
         "months with their timelines and surveys), through `schema.execute` in one process, one "
         "client, as the city administrator or the administrator of subdistrict 1 or "
         "community 1; p50 of the runs after a warm-up. Lists select totalCount and are read "
         "at the first page and at a deep page (90 % in). Targets at the largest scale: "
         "interactive p50 ≤ 20 ms and growth ≤ 2×; a statistic ≤ 200 ms; the assessment "
         "snapshot ≤ 120 s under 500 MB.")


if __name__ == "__main__":
    raise SystemExit(main())
