"""Dispatch in batches: one transaction takes the request it was asked for and others
waiting, chooses their members as if one after the other, escalates those its group cannot
serve, and leaves alone what another dispatcher holds. Also the pure ranking (`choose`)."""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from domain.access import Viewer
from domain.infra.db import transaction
from domain.requests.actions import decline_request
from domain.requests.dispatch import Outcome, dispatch_batch
from domain.requests.policy import Candidate, choose
from domain.settings import Settings
from tests.requests_factory import TIMEOUT, community_with_stewards, dispatch_request
from tests.workers.conftest import Stub, events, scalar, sent_messages, submit
from workers import jobs

T0 = datetime(2026, 11, 28, 8, tzinfo=UTC)


async def _batch(sessions: Any, ids: list[int], extra: int = 50) -> dict[int, Outcome]:
    async with transaction(sessions) as session:
        return await dispatch_batch(session, request_ids=ids, now=T0, accept_timeout=TIMEOUT,
                                    extra=extra)


async def _assignees(sessions: Any, ids: list[int]) -> list[int | None]:
    async with sessions() as session:
        rows = dict((await session.execute(text(
            "SELECT id, assignee_id FROM service_request WHERE id = ANY(:ids)"),
            {"ids": ids})).all())
    return [rows[i] for i in ids]


async def test_one_batch_spreads_requests_as_one_at_a_time_would(sessions: Any) -> None:
    s1, s2, s3 = await community_with_stewards(sessions, 3)
    ids = await submit(sessions, 7, now=T0)
    outcomes = await _batch(sessions, ids[:1])
    assert sorted(outcomes) == ids
    # Same home building for all: least load, then never handed one, then lowest id.
    expected = [s1, s2, s3, s1, s2, s3, s1]
    assert [outcomes[i].member_id for i in ids] == expected
    assert await _assignees(sessions, ids) == expected
    assert await events(sessions, "DISPATCHED") == dict.fromkeys(ids, 1)
    notices = await scalar(sessions, "SELECT count(*) FROM outbound_message "
                           "WHERE kind = 'DISPATCH_NOTICE'")
    assert notices == 7 == sum(len(o.message_ids) for o in outcomes.values())

    async with transaction(sessions) as session:  # the same, one request at a time
        await session.execute(text("TRUNCATE service_request CASCADE"))
    ids = await submit(sessions, 7, now=T0)
    for request_id in ids:
        async with transaction(sessions) as session:
            await dispatch_request(session, request_id=request_id, now=T0,
                                   accept_timeout=TIMEOUT)
    assert await _assignees(sessions, ids) == expected


async def test_a_batch_leaves_locked_and_handled_requests_alone(sessions: Any) -> None:
    await community_with_stewards(sessions, 2)
    r1, r2, r3, r4 = await submit(sessions, 4, now=T0)
    async with transaction(sessions) as other:  # another dispatcher holds r2
        await other.execute(text("SELECT 1 FROM service_request WHERE id = :id FOR UPDATE"),
                            {"id": r2})
        assert sorted(await _batch(sessions, [r4])) == [r1, r3, r4]
    assert await scalar(sessions, "SELECT status FROM service_request WHERE id = :id",
                        id=r2) == "SUBMITTED"
    assert await _batch(sessions, [r1], extra=0) == {}  # dispatched already
    assert sorted(await _batch(sessions, [r1])) == [r2]
    assert await events(sessions, "DISPATCHED") == dict.fromkeys([r1, r2, r3, r4], 1)


async def test_a_batch_escalates_what_its_group_cannot_serve(sessions: Any) -> None:
    await community_with_stewards(sessions, 2)  # skills: MAINTENANCE, ASSISTANCE
    fix = await submit(sessions, 2, now=T0)
    (song,) = await submit(sessions, 1, now=T0, category="CULTURE")
    outcomes = await _batch(sessions, [song])
    assert {i: o.action for i, o in outcomes.items()} == {
        fix[0]: "DISPATCHED", fix[1]: "DISPATCHED", song: "ESCALATED"}
    assert outcomes[song].level == 2  # no grid worker in G1: straight to the community


async def test_a_declined_member_is_not_offered_the_request_again(sessions: Any) -> None:
    s1, s2 = await community_with_stewards(sessions, 2)
    ids = await submit(sessions, 1, now=T0)
    assert (await _batch(sessions, ids))[ids[0]].member_id == s1
    async with transaction(sessions) as session:
        await decline_request(session, request_id=ids[0], viewer=Viewer(member_id=s1),
                              reason="在外地", now=T0)
    more = await submit(sessions, 2, now=T0)
    outcomes = await _batch(sessions, more)
    # The given requests first: s2 was never handed one, so before s1; then s1 (less load);
    # the declined request, taken along, goes to s2 although s1 has less load.
    assert [outcomes[i].member_id for i in [*more, ids[0]]] == [s2, s1, s2]


async def test_one_trigger_dispatches_a_backlog_and_its_notices_go_out(
        sessions: Any, stub: Stub) -> None:
    await community_with_stewards(sessions, 3)
    ids = await submit(sessions, 60, now=T0 - timedelta(minutes=1))
    stub.actors.dispatch_request.send(ids[-1])
    stub.drain()
    dispatched = await events(sessions, "DISPATCHED")
    assert len(dispatched) == 51 and set(dispatched.values()) == {1}  # itself + BATCH
    assert ids[-1] in dispatched
    assert await sent_messages(sessions) == 51


def _option(request_id: int, member_id: int, load: int = 0, distance: float | None = 10.0,
            last: datetime | None = None) -> Candidate:
    return Candidate(request_id, member_id, None, load, distance, last)


def test_choose_ranks_by_load_then_distance_then_last_handed_then_id() -> None:
    earlier, later = T0 - timedelta(days=2), T0 - timedelta(days=1)
    options = [
        _option(1, 10, load=1, distance=1.0), _option(1, 11, distance=50.0),
        _option(2, 10, load=1), _option(2, 12, distance=None),
        _option(3, 13, last=later), _option(3, 14, last=earlier),
        _option(4, 15), _option(4, 16),
        _option(5, 17), _option(5, 18, last=earlier),
    ]
    picks = choose([1, 2, 3, 4, 5, 6], options, T0)
    assert {r: c.member_id for r, c in picks.items()} == {1: 11, 2: 12, 3: 14, 4: 15, 5: 17}


def test_choose_carries_a_pick_into_the_next_request() -> None:
    options = [_option(r, m, distance=d) for r in (1, 2, 3) for m, d in ((20, 1.0), (21, 2.0))]
    picks = choose([3, 1, 2], options, T0)
    assert {r: c.member_id for r, c in picks.items()} == {3: 20, 1: 21, 2: 20}


async def test_a_request_that_cannot_be_dispatched_holds_up_no_other(
        sessions: Any, worker_settings: Settings, caplog: pytest.LogCaptureFixture) -> None:
    """A batch that fails (here a database trigger refuses one request's update) falls back
    to the requests it was sent for, each alone; the poisoned one stays waiting, and its
    failure is raised (for Dramatiq to retry) once the others are dispatched."""
    await community_with_stewards(sessions, 2)
    poison, good = await submit(sessions, 2, now=T0)
    async with transaction(sessions) as session:
        await session.execute(text(f"""
            CREATE FUNCTION test_refuse() RETURNS trigger LANGUAGE plpgsql AS $$
            BEGIN RAISE EXCEPTION 'refused'; END $$;
            CREATE TRIGGER test_refuse BEFORE UPDATE ON service_request FOR EACH ROW
            WHEN (OLD.id = {poison}) EXECUTE FUNCTION test_refuse();"""))
    try:
        with caplog.at_level(logging.ERROR, logger="gridsteward.workers"):
            notices = await jobs.dispatch_job(sessions, worker_settings, [good])
        assert len(notices) == 1
        assert "trying each alone" in caplog.text
        assert await events(sessions, "DISPATCHED") == {good: 1}
        with pytest.raises(DBAPIError, match="refused"):
            await jobs.dispatch_job(sessions, worker_settings, [poison])
        (later,) = await submit(sessions, 1, now=T0)
        with pytest.raises(DBAPIError, match="refused"):
            await jobs.dispatch_job(sessions, worker_settings, [poison, later])
        assert await events(sessions, "DISPATCHED") == {good: 1, later: 1}
    finally:
        async with transaction(sessions) as session:
            await session.execute(text("DROP TRIGGER test_refuse ON service_request; "
                                       "DROP FUNCTION test_refuse()"))
