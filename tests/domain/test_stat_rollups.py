"""The roll-ups of requestStats and satisfaction (migration 0018) answer what the exact
statements answer: random histories written in several statements and transactions (bulk
inserts, events out of time order, reopened and moved requests, answered surveys), read
over random windows (whole days in China time, whole hours, arbitrary instants, open ends),
by the city, by staff of a community and of a subdistrict, before and after compaction."""

from __future__ import annotations

import json
import random
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import text

from domain.access import Territories, Viewer
from domain.buckets import CHINA, DAY, HOUR, MONTH, Window
from domain.infra.db import transaction
from domain.requests import queries
from domain.requests.rollups import compact_requests
from domain.spatial.directory import Scope
from domain.surveys import satisfaction as sat
from domain.surveys.rollups import compact_surveys
from tests.factories import load
from workers.schedule import rollup_compaction

T0 = datetime(2026, 9, 1, tzinfo=UTC)
SPAN = timedelta(days=75)
ONE_DAY = timedelta(days=1)
#: Requests a dispatch batch writes at once (domain.requests.dispatch.BATCH).
BATCH = 50
CATEGORIES = ("MAINTENANCE", "ASSISTANCE", "CONSULTATION", "CULTURE", "EMERGENCY",
              "MEDIATION")
STATUSES = ("SUBMITTED", "DISPATCHED", "ACCEPTED", "IN_PROGRESS", "WAITING_RESIDENT",
            "COMPLETED", "CLOSED", "CANCELLED")
KINDS = (("DISPATCHED", "SUBMITTED"), ("ASSIGNED", "SUBMITTED"), ("ACCEPTED", "SUBMITTED"),
         ("ACCEPTED", "DISPATCHED"), ("LOCATED", None), ("DECLINED", "DISPATCHED"))


def _at(rng: random.Random) -> datetime:
    return T0 + timedelta(seconds=rng.randrange(int(SPAN.total_seconds())))


async def _communities(session: Any) -> list[int]:
    """The factory's community and two more (one in a subdistrict with the first)."""
    first = (await session.execute(text("SELECT id FROM community"))).scalar_one()
    sub = (await session.execute(text(
        "INSERT INTO subdistrict (code, name) VALUES ('S-R', '测试街道') RETURNING id"
    ))).scalar_one()
    await session.execute(text("UPDATE community SET subdistrict_id = :s"), {"s": sub})
    ids = [first]
    for code, subdistrict in (("C-R2", sub), ("C-R3", None)):
        ids.append((await session.execute(text(
            "INSERT INTO community (code, name, subdistrict_id) VALUES (:c, :c, :s) "
            "RETURNING id"), {"c": code, "s": subdistrict})).scalar_one())
    return ids


def _request_values(rng: random.Random, n: int,
                    communities: list[int | None]) -> list[dict[str, Any]]:
    rows = []
    for i in range(n):
        submitted = _at(rng)
        status = rng.choice(STATUSES)
        completed = (submitted + timedelta(hours=rng.randrange(1, 100))
                     if status in ("COMPLETED", "CLOSED") or rng.random() < 0.1 else None)
        rows.append({
            "number": f"R-{rng.random():.12f}-{i}", "category": rng.choice(CATEGORIES),
            "status": status, "community": rng.choice(communities), "submitted": submitted,
            "due": submitted + timedelta(hours=rng.choice((4, 24, 72, 500))),
            "completed": completed, "overdue": rng.random() < 0.15,
            "fallback": rng.random() < 0.2})
    return rows


INSERT_REQUEST = """
    INSERT INTO service_request (number, category, description, status, community_id,
        submitted_at, updated_at, due_at, completed_at, overdue, due_fallback)
    SELECT x->>'number', x->>'category', '需要帮助', x->>'status',
           (x->>'community')::int, (x->>'submitted')::timestamptz,
           (x->>'submitted')::timestamptz, (x->>'due')::timestamptz,
           (x->>'completed')::timestamptz, (x->>'overdue')::boolean, (x->>'fallback')::boolean
    FROM jsonb_array_elements(CAST(:rows AS jsonb)) x RETURNING id"""


def _json(rows: list[dict[str, Any]]) -> str:
    return json.dumps(rows, default=lambda v: v.isoformat())


async def _history(sessions: Any, rng: random.Random) -> list[int]:
    await load(sessions)
    async with transaction(sessions) as session:
        communities = await _communities(session)
    choices: list[int | None] = [*communities, None]
    ids: list[int] = []
    # requests: one bulk statement, then a few one by one in their own transactions
    async with transaction(sessions) as session:
        rows = await session.execute(text(INSERT_REQUEST),
                                     {"rows": _json(_request_values(rng, 150, choices))})
        ids += [int(r) for r in rows.scalars()]
    for _ in range(10):
        async with transaction(sessions) as session:
            rows = await session.execute(text(INSERT_REQUEST),
                                         {"rows": _json(_request_values(rng, 1, choices))})
            ids += [int(r) for r in rows.scalars()]
    # events: a bulk statement, then single ones (some earlier than those already there)
    events = [{"request": rng.choice(ids), "at": _at(rng), "kind": k, "from": f}
              for k, f in (rng.choice(KINDS) for _ in range(400))]
    insert_events = """
        INSERT INTO request_event (request_id, at, kind, from_status, actor)
        SELECT (x->>'request')::int, (x->>'at')::timestamptz, x->>'kind', x->>'from', 'test'
        FROM jsonb_array_elements(CAST(:rows AS jsonb)) x"""
    async with transaction(sessions) as session:
        await session.execute(text(insert_events), {"rows": _json(events[:300])})
    for event in events[300:]:
        async with transaction(sessions) as session:
            await session.execute(text(insert_events), {"rows": _json([event])})
    # surveys of some requests, then answers
    async with transaction(sessions) as session:
        await session.execute(text("""
            INSERT INTO survey (request_id, status, phone, scheduled_for, sent_at)
            SELECT id, 'SENT', '13900000000', submitted_at,
                   CASE WHEN id % 7 <> 0 THEN submitted_at + (id % 50) * interval '1 hour' END
            FROM service_request WHERE id % 2 = 0"""))
    for survey_id in rng.sample(ids, 60):
        async with transaction(sessions) as session:
            await session.execute(text("""
                UPDATE survey SET status = 'ANSWERED', score = :score, resolved = :resolved
                WHERE request_id = :id"""), {
                "id": survey_id, "score": rng.choice((None, 1, 2, 3, 4, 5)),
                "resolved": rng.choice((None, True, False))})
    # changes: reopened, completed, flagged, moved to another community, in bulk and alone
    for _ in range(25):
        async with transaction(sessions) as session:
            await session.execute(text("""
                UPDATE service_request SET status = :status, overdue = overdue OR :flag,
                       completed_at = COALESCE(:completed, completed_at),
                       community_id = CASE WHEN :move THEN :community ELSE community_id END
                WHERE id = :id"""), {
                "id": rng.choice(ids), "status": rng.choice(STATUSES), "flag": rng.random() < 0.3,
                "completed": _at(rng) if rng.random() < 0.5 else None,
                "move": rng.random() < 0.3, "community": rng.choice(choices)})
    async with transaction(sessions) as session:
        await session.execute(text(
            "UPDATE service_request SET status = 'CLOSED', completed_at = submitted_at + "
            "interval '5 hours' WHERE id % 9 = 0"))
        await session.execute(text(
            "UPDATE service_request SET community_id = :c WHERE id % 11 = 0"),
            {"c": communities[1]})
    return communities


def _windows(rng: random.Random) -> list[tuple[datetime | None, datetime | None]]:
    china_midnight = T0.astimezone(CHINA).replace(hour=0) + timedelta(days=1)
    windows: list[tuple[datetime | None, datetime | None]] = [
        (None, None), (T0, T0 + SPAN), (china_midnight, china_midnight + timedelta(days=7)),
        (None, T0 + timedelta(days=5)), (T0 + timedelta(days=3), None),
        (T0 + timedelta(hours=5), T0 + timedelta(hours=6)),
        (T0 + timedelta(minutes=17), T0 + timedelta(minutes=43))]
    for _ in range(40):
        a, b = sorted((_at(rng), _at(rng)))
        if rng.random() < 0.5:
            a, b = a.replace(minute=0, second=0), b.replace(minute=0, second=0)
        windows.append((a, b))
    return windows


def _viewers(communities: list[int]) -> list[tuple[Viewer, Scope]]:
    admin = Viewer(admin=True)
    one = Viewer(account_id=1, territories=Territories(community_ids=frozenset({communities[0]})),
                 communities=frozenset({communities[0]}))
    return [(admin, Scope()), (admin, Scope(community_id=communities[1])),
            (one, Scope()), (one, Scope(community_id=communities[2]))]


async def _compare(sessions: Any, viewers: list[tuple[Viewer, Scope]],
                   windows: list[tuple[datetime | None, datetime | None]]) -> int:
    compared = 0
    async with sessions() as session:
        for viewer, scope in viewers:
            for since, until in windows:
                for now in (T0 + timedelta(days=4), T0 + SPAN + timedelta(days=30)):
                    args: dict[str, Any] = {"viewer": viewer, "scope": scope, "since": since,
                                            "until": until}
                    fast = await queries.request_stats(session, now=now, **args)
                    exact = await queries.exact_request_stats(session, now=now, **args)
                    assert fast == exact, (viewer, scope, since, until, now,
                                           Window.split(since, until))
                rolled = await sat.satisfaction(session, **args)
                row = await sat.exact_satisfaction_row(session, **args)
                assert (rolled.surveys_sent, rolled.responses, rolled.average_score,
                        rolled.csat, rolled.resolved_rate) == (
                    int(row.sent), int(row.responses), sat._round(row.average),
                    sat._round(row.csat), sat._round(row.resolved)), (viewer, scope, since,
                                                                       until)
                compared += 1
    return compared


@pytest.mark.parametrize("seed", [1, 2])
async def test_roll_ups_answer_as_the_exact_statements(sessions: Any, seed: int) -> None:
    rng = random.Random(seed)
    communities = await _history(sessions, rng)
    async with sessions() as session:
        sub = (await session.execute(text("SELECT id FROM subdistrict"))).scalar_one()
    viewers = [*_viewers(communities),
               (Viewer(account_id=2, territories=Territories(subdistrict_ids=frozenset({sub})),
                       communities=frozenset(communities[:2])), Scope())]
    windows = _windows(rng)
    grains = {grain for window in windows for grain, _ in Window.split(*window).spans}
    assert grains == {HOUR, DAY, MONTH}
    assert any(Window.split(*window).edges for window in windows)
    assert await _compare(sessions, viewers, windows) == len(viewers) * len(windows)
    async with transaction(sessions) as session:
        assert await compact_requests(session) > 0
        assert await compact_surveys(session) > 0
    async with sessions() as session:
        fresh = (await session.execute(text(
            "SELECT count(*) FROM request_rollup WHERE fresh"))).scalar_one()
    assert fresh == 0
    await _compare(sessions, viewers, windows)


async def test_a_member_or_a_grid_is_counted_exactly(sessions: Any) -> None:
    rng = random.Random(3)
    await _history(sessions, rng)
    async with sessions() as session:
        grid = (await session.execute(text("SELECT min(id) FROM grid"))).scalar_one()
        for viewer, scope in ((Viewer(admin=True), Scope(grid_id=grid)),
                              (Viewer(member_id=1), Scope())):
            args: dict[str, Any] = {"viewer": viewer, "scope": scope, "since": T0,
                                    "until": T0 + SPAN, "now": T0 + SPAN}
            assert (await queries.request_stats(session, **args)
                    == await queries.exact_request_stats(session, **args))


async def test_the_worker_compacts_the_roll_ups(sessions: Any, engine: Any) -> None:
    rng = random.Random(4)
    await _history(sessions, rng)
    args: dict[str, Any] = {"viewer": Viewer(admin=True), "scope": Scope(), "since": T0,
                            "until": T0 + SPAN}
    async with sessions() as session:
        before = await queries.request_stats(session, now=T0 + SPAN, **args)
        surveys = await sat.satisfaction(session, **args)
    assert await rollup_compaction(engine).run() > 0
    async with sessions() as session:
        fresh = (await session.execute(text(
            "SELECT (SELECT count(*) FROM request_rollup WHERE fresh) + "
            "(SELECT count(*) FROM survey_rollup WHERE fresh)"))).scalar_one()
        assert fresh == 0
        assert await queries.request_stats(session, now=T0 + SPAN, **args) == before
        assert await sat.satisfaction(session, **args) == surveys
    assert await rollup_compaction(engine).run() == 0


async def test_writers_of_one_community_do_not_wait_for_each_other(sessions: Any) -> None:
    """The triggers only insert rows of differences: a second submission in the same
    community and hour goes through while the first is still uncommitted (with a counter
    row updated in place, it would wait for the lock: lock_timeout makes that an error)."""
    await load(sessions)
    async with transaction(sessions) as session:
        community = (await session.execute(text("SELECT id FROM community"))).scalar_one()
    rows = [{"number": f"L-{i}", "category": "MAINTENANCE", "status": "SUBMITTED",
             "community": community, "submitted": T0, "due": T0 + timedelta(days=2),
             "completed": None, "overdue": False, "fallback": False} for i in range(2)]
    async with sessions() as first, sessions() as second:
        await first.execute(text(INSERT_REQUEST), {"rows": _json(rows[:1])})
        await second.execute(text("SET LOCAL lock_timeout = '1s'"))
        await second.execute(text(INSERT_REQUEST), {"rows": _json(rows[1:])})
        await second.commit()
        await first.commit()
    async with sessions() as session:
        stats = await queries.request_stats(session, viewer=Viewer(admin=True), scope=Scope(),
                                            since=T0, until=T0 + ONE_DAY, now=T0)
    assert stats.submitted == 2


#: Rows of service_request, request_event and survey (heap and index entries) a statement has
#: read in this transaction, by this backend (its triggers' statements included).
_READ_SO_FAR = text("""
    SELECT COALESCE(sum(pg_stat_get_xact_tuples_returned(c.oid)), 0)
    FROM pg_class c
    WHERE c.oid IN ('service_request'::regclass, 'request_event'::regclass, 'survey'::regclass)
       OR c.oid IN (SELECT indexrelid FROM pg_index WHERE indrelid IN (
           'service_request'::regclass, 'request_event'::regclass, 'survey'::regclass))""")


async def test_the_triggers_read_a_statement_s_rows_by_key(sessions: Any) -> None:
    """A write's roll-up triggers read rows in proportion to the rows it wrote, not to the
    tables (migration 0020 probes by key from a statement's own rows): a dispatch batch's
    50 handing-over events, 50 status changes and 50 sent surveys among 5,000 requests
    with their events. 0018 joined the transition rows with IN (...) and plain joins, which
    let the planner hash a whole table for a batch (EXPLAIN of its handing-over statement
    for 50 events among 3,000 requests: a hash semi-join over all 3,000)."""
    await load(sessions)
    async with transaction(sessions) as session:
        community = (await session.execute(text("SELECT id FROM community"))).scalar_one()
    requests = _json([{"number": f"B-{i}", "category": "MAINTENANCE", "status": "SUBMITTED",
                       "community": community, "submitted": T0 + timedelta(minutes=i),
                       "due": T0 + timedelta(days=2), "completed": None, "overdue": False,
                       "fallback": False} for i in range(5000)])
    writes = {
        "a handing-over event": """
            INSERT INTO request_event (request_id, at, kind, from_status, to_status, actor)
            SELECT id, :at, 'DISPATCHED', 'SUBMITTED', 'DISPATCHED', 'test'
            FROM unnest(CAST(:ids AS integer[])) AS id""",
        "a status change": """
            UPDATE service_request SET status = 'COMPLETED', completed_at = :at
            WHERE id = ANY(CAST(:ids AS integer[]))""",
        "a sent survey": """
            INSERT INTO survey (request_id, status, phone, scheduled_for, sent_at)
            SELECT id, 'SENT', '13900000000', :at, :at
            FROM unnest(CAST(:ids AS integer[])) AS id"""}
    at = {"at": T0 + timedelta(days=1)}
    async with transaction(sessions) as session:
        many = (await session.execute(text(INSERT_REQUEST), {"rows": requests})
                ).scalars().all()
        await session.execute(text(
            "INSERT INTO request_event (request_id, at, kind, to_status, actor) "
            "SELECT id, submitted_at, 'SUBMITTED', 'SUBMITTED', 'resident' "
            "FROM service_request"))
    async with sessions() as session:
        # The writes themselves by index, as on tables with statistics (no ANALYZE here: its
        # statistics outlive the test and would change the plans of the tests after it).
        await session.execute(text("SET LOCAL enable_seqscan = off"))
        for write, sql in writes.items():
            before = (await session.execute(_READ_SO_FAR)).scalar_one()
            await session.execute(text(sql), {"ids": many[-BATCH:], **at})
            read = (await session.execute(_READ_SO_FAR)).scalar_one() - before
            assert read < 10 * BATCH, f"{write} read {read} rows of the request tables"
        await session.rollback()
