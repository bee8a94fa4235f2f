"""Surveys over GraphQL: answering once, satisfaction and assessments with their rights."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import text

from domain.access import ANONYMOUS, Viewer
from domain.calendar import ZONE
from domain.surveys.batch import SurveyTimes, run_survey_batch
from schema.common.ids import encode_id
from tests.requests_factory import community_with_stewards, completed_request

NOW = datetime.now(UTC)
COMPLETED = NOW - timedelta(hours=2)
TIMES = SurveyTimes(delay=timedelta(0), reminder=timedelta(days=2), expiry=timedelta(days=7))
ANSWER = """mutation ($t: String!, $s: Int!, $r: Boolean, $c: String) {
  submitSurveyResponse(token: $t, score: $s, resolved: $r, comment: $c) {
    survey { status score resolved comment answeredAt } errors { code field message } } }"""


@pytest.fixture
async def sent(sessions: Any) -> dict[str, Any]:
    """One completed request with its survey sent; the token and who served it."""
    await community_with_stewards(sessions)
    request_id, member = await completed_request(sessions, at=COMPLETED)
    await run_survey_batch(sessions, now=NOW - timedelta(hours=1), times=TIMES)
    async with sessions() as session:
        token = (await session.execute(text(
            "SELECT survey_token FROM outbound_message WHERE kind = 'SURVEY'"))).scalar_one()
    return {"token": token, "request": request_id, "member": member}


async def test_anonymous_resident_answers_once(api: Any, sent: dict[str, Any]) -> None:
    first = await api.data(ANSWER, {"t": sent["token"], "s": 5, "r": True, "c": "很及时，谢谢"},
                           viewer=ANONYMOUS)
    survey = first["submitSurveyResponse"]["survey"]
    assert (survey["status"], survey["score"], survey["resolved"]) == ("ANSWERED", 5, True)
    again = await api.data(ANSWER, {"t": sent["token"], "s": 1}, viewer=ANONYMOUS)
    assert again["submitSurveyResponse"]["errors"][0]["code"] == "ALREADY_ANSWERED"
    request = await api.data("query ($id: ID!) { node(id: $id) { ... on ServiceRequest { "
                             "status survey { status score } } } }",
                             {"id": encode_id("ServiceRequest", sent["request"])})
    assert request["node"] == {"status": "CLOSED",
                               "survey": {"status": "ANSWERED", "score": 5}}


@pytest.mark.parametrize(("variables", "code", "field"), [
    ({"t": "", "s": 5}, "REQUIRED", "token"),
    ({"t": "xyz", "s": 5}, "MALFORMED_TOKEN", "token"),
    ({"t": "0" * 64, "s": 5}, "NOT_FOUND", "token"),
    ({"s": 9}, "OUT_OF_RANGE", "score"),
    ({"s": 3, "c": "字" * 1001}, "TOO_LONG", "comment"),
])
async def test_bad_answers_change_nothing(api: Any, sent: dict[str, Any],
                                          variables: dict[str, Any], code: str,
                                          field: str) -> None:
    data = await api.data(ANSWER, {"t": sent["token"], **variables}, viewer=ANONYMOUS)
    payload = data["submitSurveyResponse"]
    assert payload["survey"] is None
    assert (payload["errors"][0]["code"], payload["errors"][0]["field"]) == (code, field)
    fine = await api.data(ANSWER, {"t": sent["token"], "s": 4}, viewer=ANONYMOUS)
    assert fine["submitSurveyResponse"]["errors"] == []


async def test_score_must_be_an_integer(api: Any, sent: dict[str, Any]) -> None:
    result = await api.run(ANSWER, {"t": sent["token"], "s": 4.5}, viewer=ANONYMOUS)
    assert "Int" in result.errors[0].message and "$s" in result.errors[0].message


SATISFACTION = "{ satisfaction { surveysSent responses responseRate averageScore csat } }"


async def test_satisfaction_respects_rights(api: Any, sent: dict[str, Any]) -> None:
    await api.data(ANSWER, {"t": sent["token"], "s": 4}, viewer=ANONYMOUS)
    admin = await api.data(SATISFACTION)
    assert admin["satisfaction"] == {"surveysSent": 1, "responses": 1, "responseRate": 1.0,
                                     "averageScore": 4.0, "csat": 1.0}
    stranger = await api.data(SATISFACTION, viewer=Viewer(member_id=sent["member"] + 100))
    assert stranger["satisfaction"]["surveysSent"] == 0
    result = await api.run(SATISFACTION, viewer=ANONYMOUS)
    assert result.errors[0].extensions["code"] == "UNAUTHENTICATED"


ASSESS = """query ($p: String!) { assessments(period: $p) { period completed tier score rank
  member { name } } }"""


async def test_assessments_are_computed_and_scoped(api: Any, sent: dict[str, Any]) -> None:
    period = f"{COMPLETED.astimezone(ZONE):%Y-%m}"  # the month in China, not in UTC
    everyone = await api.data(ASSESS, {"p": period})
    assert {a["period"] for a in everyone["assessments"]} == {period}
    assert len(everyone["assessments"]) == 2  # the two stewards
    mine = await api.data(ASSESS, {"p": period}, viewer=Viewer(member_id=sent["member"]))
    assert [a["completed"] for a in mine["assessments"]] == [1]
    assert mine["assessments"][0]["tier"] == "INSUFFICIENT_DATA"


@pytest.mark.parametrize("period", ["2026-13", "Q4-2026", "last month"])
async def test_bad_period_names_the_field(api: Any, sent: dict[str, Any], period: str) -> None:
    result = await api.run(ASSESS, {"p": period})
    assert result.errors[0].extensions["field"] == "period"
