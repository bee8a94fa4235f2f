"""A service request's whole life over GraphQL, with a real `gridsteward worker` on RabbitMQ:
a resident submits, the worker dispatches to the steward with the skill, the steward accepts,
starts and completes, and the timeline and the dispatch notice show every step."""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from schema.common.ids import encode_id
from server.auth import issue_token
from tests.e2e.serving import post, running_api
from tests.requests_factory import B1_POINT, community_with_stewards
from tests.workers.live import Workers, rabbitmq_vhost

SECRET = "e2e-lifecycle-secret-used-only-by-this-test-0123456789-abc"
SUBMIT = """mutation ($input: SubmitRequestInput!) { submitServiceRequest(input: $input) {
  request { id number status buildingGroup { code } } errors { field message } } }"""
STATUS = """query ($id: ID!) { node(id: $id) { ... on ServiceRequest {
  status assignee { id } timeline { kind actor } } } }"""
ACTIONS = {
    "accept": "mutation ($id: ID!) { acceptServiceRequest(id: $id) { request { status } "
              "errors { code message } } }",
    "start": "mutation ($id: ID!) { startServiceRequest(id: $id) { request { status } "
             "errors { code message } } }",
    "complete": "mutation ($id: ID!) { completeServiceRequest(id: $id, resolution: "
                "\"已更换楼道灯泡\") { request { status resolution completedAt } "
                "errors { code message } } }",
}
NOTICES = """query ($id: ID!) { outboundMessages(requestId: $id) { kind recipient body } }"""


@pytest.fixture(scope="module")
def broker_url() -> Iterator[str]:
    with rabbitmq_vhost() as url:
        yield url


@pytest.fixture
def system(database_url: str, broker_url: str, tmp_path: Path,
           sessions: Any) -> Iterator[str]:
    """The API and one worker, both on the test database and the test's RabbitMQ vhost;
    yields the API's base URL."""
    env = {"BROKER_URL": broker_url, "SWEEP_INTERVAL_SECONDS": "0.5",
           "OUTBOUND_CHANNEL": "log"}
    workers = Workers({**os.environ, "DATABASE_URL": database_url,
                       "GRIDSTEWARD_ENV": "test", **env}, tmp_path)
    workers.start(processes=1, threads=2)
    try:
        with running_api(database_url, SECRET, **env) as base:
            yield base
    finally:
        workers.stop_all()


def _data(response: Any) -> dict[str, Any]:
    body = response.json()
    assert "errors" not in body, body
    return body["data"]


def _wait_for_status(base: str, request_id: str, status: str, token: str) -> dict[str, Any]:
    deadline = time.monotonic() + 30
    while True:
        node = _data(post(base, STATUS, {"id": request_id}, token))["node"]
        if node["status"] == status or time.monotonic() > deadline:
            assert node["status"] == status, node
            return node
        time.sleep(0.1)


async def test_submit_dispatch_accept_start_complete(system: str, sessions: Any) -> None:
    stewards = await community_with_stewards(sessions, 1)
    admin = issue_token(SECRET, admin=True)
    member = issue_token(SECRET, member_id=stewards[0])

    submitted = _data(post(system, SUBMIT, {"input": {
        "category": "MAINTENANCE", "description": "三单元楼道灯不亮",
        "point": {"lon": B1_POINT[0], "lat": B1_POINT[1]}, "contactPhone": "13912345678",
        "idempotencyKey": "lifecycle-1"}}))["submitServiceRequest"]
    assert submitted["errors"] == []
    request = submitted["request"]
    assert request["status"] == "SUBMITTED" and request["buildingGroup"]["code"] == "L1"

    dispatched = _wait_for_status(system, request["id"], "DISPATCHED", admin)
    assert dispatched["assignee"]["id"] == encode_id("Member", stewards[0])

    for action, status in (("accept", "ACCEPTED"), ("start", "IN_PROGRESS"),
                           ("complete", "COMPLETED")):
        payload = next(iter(_data(post(system, ACTIONS[action], {"id": request["id"]},
                                       member)).values()))
        assert payload["errors"] == [] and payload["request"]["status"] == status

    final = _wait_for_status(system, request["id"], "COMPLETED", admin)
    kinds = [event["kind"] for event in final["timeline"]]
    assert kinds[0] == "SUBMITTED" and kinds[-3:] == ["ACCEPTED", "STARTED", "COMPLETED"]
    assert "DISPATCHED" in kinds
    notices = _data(post(system, NOTICES, {"id": request["id"]}, admin))["outboundMessages"]
    assert [n["kind"] for n in notices] == ["REQUEST_RECEIVED", "DISPATCH_NOTICE",
                                            "REQUEST_ACCEPTED", "REQUEST_COMPLETED"]
    assert request["number"] in notices[1]["body"]


async def test_a_second_member_cannot_accept_what_was_dispatched_to_another(
        system: str, sessions: Any) -> None:
    stewards = await community_with_stewards(sessions, 2)
    admin = issue_token(SECRET, admin=True)
    request = _data(post(system, SUBMIT, {"input": {
        "category": "MAINTENANCE", "description": "水管漏水",
        "point": {"lon": B1_POINT[0], "lat": B1_POINT[1]}}}))["submitServiceRequest"]["request"]
    node = _wait_for_status(system, request["id"], "DISPATCHED", admin)
    other = next(s for s in stewards if encode_id("Member", s) != node["assignee"]["id"])
    answer = _data(post(system, ACTIONS["accept"], {"id": request["id"]},
                        issue_token(SECRET, member_id=other)))["acceptServiceRequest"]
    assert answer["request"] is None and answer["errors"][0]["code"] == "NOT_ASSIGNEE"
