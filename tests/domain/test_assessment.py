"""Satisfaction figures and member assessment against a hand-computed fixture."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import text

from domain.access import Viewer
from domain.errors import InvalidInput
from domain.infra.db import transaction
from domain.spatial.directory import Scope
from domain.surveys.assessment import assess_period, period_bounds, tier_of
from domain.surveys.batch import SurveyTimes, run_survey_batch
from domain.surveys.respond import Answer, answer_survey
from domain.surveys.satisfaction import satisfaction
from tests.requests_factory import TIMEOUT, community_with_stewards, completed_request

T0 = datetime(2026, 11, 3, 9, 0, tzinfo=UTC)
TIMES = SurveyTimes(delay=timedelta(hours=1), reminder=timedelta(days=2),
                    expiry=timedelta(days=7))
SCORES = [5, 5, 4, 5, 3, 2, 4, 4, 1]  # by request; the three stewards take turns
LATE = 8


@pytest.fixture
async def rated(sessions: Any) -> dict[str, int]:
    """Nine requests completed by three stewards (three each, the last one late), rated
    SCORES; plus an idle member with nothing to judge."""
    m1, m2, m3 = await community_with_stewards(sessions, stewards=3)
    made = []
    for i in range(len(SCORES)):
        request_id, member = await completed_request(
            sessions, at=T0 + timedelta(hours=2 * i), on_time=i != LATE)
        made.append((request_id, member))
    assert sorted(member for _, member in made) == sorted([m1, m2, m3] * 3)
    async with transaction(sessions) as session:
        await session.execute(text(
            "INSERT INTO member (name, roles, skills, status, party_member) "
            "VALUES ('闲置成员', ARRAY['VOLUNTEER'], ARRAY['CULTURE'], 'ACTIVE', false)"))
    await run_survey_batch(sessions, now=T0 + timedelta(days=1), times=TIMES)
    for (request_id, _), score in zip(made, SCORES, strict=True):
        async with sessions() as session:
            token = (await session.execute(text(
                "SELECT survey_token FROM outbound_message WHERE kind = 'SURVEY' "
                "AND request_id = :id"), {"id": request_id})).scalar_one()
        async with transaction(sessions) as session:
            await answer_survey(session, Answer(token, score, True), now=T0 + timedelta(days=2),
                                accept_timeout=TIMEOUT)
    return {"m1": m1, "m2": m2, "m3": m3, "count": len(made),
            **{f"r{i}": r for i, (r, _) in enumerate(made)},
            **{f"by{i}": m for i, (_, m) in enumerate(made)}}


async def test_satisfaction_figures(sessions: Any, session: Any,
                                    rated: dict[str, int]) -> None:
    found = await satisfaction(session, viewer=Viewer(admin=True), scope=Scope(),
                               since=None, until=None)
    assert (found.surveys_sent, found.responses, found.response_rate) == (9, 9, 1.0)
    assert found.average_score == pytest.approx(33 / 9, abs=1e-4)
    assert found.csat == pytest.approx(round(6 / 9, 4))
    assert found.resolved_rate == 1.0
    none = await satisfaction(session, viewer=Viewer(admin=True), scope=Scope(),
                              since=T0 + timedelta(days=30), until=None)
    assert (none.surveys_sent, none.response_rate, none.average_score, none.csat) == (
        0, 0.0, None, None)


async def test_members_see_only_their_own_figures(session: Any,
                                                  rated: dict[str, int]) -> None:
    mine = [i for i in range(rated["count"]) if rated[f"by{i}"] == rated["m1"]]
    found = await satisfaction(session, viewer=Viewer(member_id=rated["m1"]), scope=Scope(),
                               since=None, until=None)
    assert found.surveys_sent == len(mine)
    expected = sum(SCORES[i] for i in mine) / len(mine)
    assert found.average_score == pytest.approx(expected, abs=1e-4)


async def test_assessment_scores_tiers_and_ranks(sessions: Any, session: Any,
                                                 rated: dict[str, int]) -> None:
    async with transaction(sessions) as tx:
        assert await assess_period(tx, period="2026-11", now=T0 + timedelta(days=20)) == 4
    rows = {r.member_id: r for r in (await session.execute(text(
        "SELECT * FROM member_assessment WHERE period = '2026-11'"))).all()}
    by_member: dict[int, list[int]] = {}
    for i in range(rated["count"]):
        by_member.setdefault(rated[f"by{i}"], []).append(i)
    for member_id, done in by_member.items():
        row = rows[member_id]
        on_time = sum(1 for i in done if i != LATE)
        happy = sum(1 for i in done if SCORES[i] >= 4)
        assert (row.completed, row.responses) == (len(done), len(done))
        busiest = max(len(v) for v in by_member.values())
        expected = 100 * (0.25 * len(done) / busiest + 0.35 * on_time / len(done)
                          + 0.40 * happy / len(done))
        assert row.score == pytest.approx(round(expected, 2))
    idle = next(r for r in rows.values() if r.member_id not in by_member)
    assert (idle.tier, idle.score, idle.rank, idle.completed) == ("INSUFFICIENT_DATA", None,
                                                                  None, 0)
    scored = sorted((r.score, r.rank) for r in rows.values() if r.score is not None)
    assert len(scored) == 3
    assert [rank for _, rank in reversed(scored)] == list(range(1, len(scored) + 1))
    assert {r.tier for r in rows.values()} <= {"EXCELLENT", "GOOD", "ADEQUATE", "POOR",
                                              "INSUFFICIENT_DATA"}


async def test_snapshots_of_one_period_at_once_take_turns(sessions: Any,
                                                          rated: dict[str, int]) -> None:
    async def assess() -> int:
        async with transaction(sessions) as session:
            return await assess_period(session, period="2026-11", now=T0 + timedelta(days=20))
    for _ in range(3):
        assert await asyncio.gather(assess(), assess(), assess()) == [4, 4, 4]
    async with sessions() as session:
        assert (await session.execute(text(
            "SELECT count(*) FROM member_assessment WHERE period = '2026-11'"))).scalar() == 4


@pytest.mark.parametrize(("period", "start", "end"), [  # 00:00 in Beijing is 16:00 UTC
    ("2026-11", datetime(2026, 10, 31, 16, tzinfo=UTC), datetime(2026, 11, 30, 16, tzinfo=UTC)),
    ("2026-12", datetime(2026, 11, 30, 16, tzinfo=UTC), datetime(2026, 12, 31, 16, tzinfo=UTC)),
    ("2026-Q4", datetime(2026, 9, 30, 16, tzinfo=UTC), datetime(2026, 12, 31, 16, tzinfo=UTC)),
    ("2026-Q1", datetime(2025, 12, 31, 16, tzinfo=UTC), datetime(2026, 3, 31, 16, tzinfo=UTC)),
])
def test_period_bounds_are_months_and_quarters_in_china_time(period: str, start: datetime,
                                                            end: datetime) -> None:
    assert period_bounds(period) == (start, end)


@pytest.mark.parametrize("period", ["2026-13", "2026-Q5", "26-11", "2026/11", "", "2026-1"])
def test_bad_period(period: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        period_bounds(period)
    assert caught.value.errors[0].field == "period"


@pytest.mark.parametrize(("score", "tier"), [
    (100.0, "EXCELLENT"), (85.0, "EXCELLENT"), (84.99, "GOOD"), (70.0, "GOOD"),
    (69.99, "ADEQUATE"), (50.0, "ADEQUATE"), (49.99, "POOR"), (0.0, "POOR"),
    (None, "INSUFFICIENT_DATA"),
])
def test_tiers(score: float | None, tier: str) -> None:
    assert tier_of(score) == tier
