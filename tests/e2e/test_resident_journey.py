"""The resident's journey over HTTP (issue 13), with the real `gridsteward serve` and a real
`gridsteward worker` on RabbitMQ delivering through the webhook channel to a receiver here:
submit with a photo (a multipart request) → confirmation text with the tracking link → track
anonymously, the photo's signed link answering → accepted notice → complete with a photo →
completion notice → survey link in the tracking view → answer the survey.
And the tracking field's rate limit per request number."""

from __future__ import annotations

import json
import os
import re
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from uuid import uuid4

import httpx
import pytest

from server.auth import issue_token
from tests.e2e.serving import free_port, multipart, post, running_api
from tests.media_factory import photo
from tests.requests_factory import B1_POINT, community_with_stewards
from tests.workers.live import Workers, rabbitmq_vhost

SECRET = "e2e-resident-secret-used-only-by-this-test-0123456789-abc"
WEBHOOK_SECRET = "e2e-resident-webhook-secret-0123456789"
TRACKING_LINK = "https://gs.example/track"
SURVEY_LINK = "https://gs.example/survey?token="
PHONE = "13912345678"
SUBMIT = """mutation ($input: SubmitRequestInput!) { submitServiceRequest(input: $input) {
  request { id number status } trackingCode errors { field message } } }"""
TRACK = """query ($n: String!, $c: String!) { trackServiceRequest(number: $n, code: $c) {
  number status description assigneeRole surveyLink timeline { word }
  photos { stage url thumbnailUrl } } }"""
COMPLETE = """mutation ($id: ID!, $photos: [Upload!]) { completeServiceRequest(id: $id,
  resolution: "已更换灯泡", photos: $photos) { request { status } errors { code field } } }"""
STATUS = """query ($id: ID!) { node(id: $id) { ... on ServiceRequest { status } } }"""
ACT = ("mutation ($id: ID!) {{ {name}(id: $id{extra}) {{ request {{ status }} "
       "errors {{ code }} }} }}")
SURVEY = """mutation ($t: String!) { submitSurveyResponse(token: $t, score: 5, resolved: true) {
  errors { code field } } }"""


class Receiver:
    """An HTTP server standing for the SMS gateway: it keeps every message POSTed to it."""

    def __init__(self) -> None:
        self.messages: list[dict[str, Any]] = []
        received = self.messages

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers["Content-Length"])
                received.append(json.loads(self.rfile.read(length)))
                self.send_response(200)
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self.port = free_port()
        self.server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def wait_for(self, kind: str, seconds: float = 40) -> dict[str, Any]:
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            found = [m for m in self.messages if m["kind"] == kind]
            if found:
                return found[0]
            time.sleep(0.1)
        pytest.fail(f"no {kind} message within {seconds}s; got {self.messages}")

    def close(self) -> None:
        self.server.shutdown()


@pytest.fixture(scope="module")
def broker_url() -> Iterator[str]:
    with rabbitmq_vhost() as url:
        yield url


@pytest.fixture
def system(database_url: str, broker_url: str, tmp_path: Path,
           sessions: Any) -> Iterator[tuple[str, Receiver]]:
    """The API and one worker delivering to a Receiver; surveys go out at once."""
    receiver = Receiver()
    env = {"BROKER_URL": broker_url, "SWEEP_INTERVAL_SECONDS": "0.5",
           "OUTBOUND_CHANNEL": "webhook", "WEBHOOK_URL": f"http://127.0.0.1:{receiver.port}/",
           "WEBHOOK_SECRET": WEBHOOK_SECRET, "TRACKING_LINK": TRACKING_LINK,
           "SURVEY_LINK": SURVEY_LINK, "SURVEY_DELAY_SECONDS": "0",
           "SURVEY_BATCH_INTERVAL_SECONDS": "0.5"}
    workers = Workers({**os.environ, "DATABASE_URL": database_url, "SECRET_KEY": SECRET,
                       "GRIDSTEWARD_ENV": "test", **env}, tmp_path)
    workers.start(processes=1, threads=2)
    try:
        with running_api(database_url, SECRET, **env) as base:
            yield base, receiver
    finally:
        workers.stop_all()
        receiver.close()


def _data(response: httpx.Response) -> dict[str, Any]:
    body = response.json()
    assert "errors" not in body, body
    return dict(body["data"])


def _act(base: str, name: str, request_id: str, token: str, extra: str = "") -> None:
    answer = _data(post(base, ACT.format(name=name, extra=extra), {"id": request_id}, token))
    assert answer[name]["errors"] == [], answer


def _wait_for_status(base: str, request_id: str, status: str, token: str) -> None:
    deadline = time.monotonic() + 30
    while _data(post(base, STATUS, {"id": request_id}, token))["node"]["status"] != status:
        assert time.monotonic() < deadline, f"not {status} in time"
        time.sleep(0.1)


async def test_submit_track_notices_complete_and_survey(system: tuple[str, Receiver],
                                                        sessions: Any) -> None:
    base, receiver = system
    (steward,) = await community_with_stewards(sessions, 1)
    member, admin = issue_token(SECRET, member_id=steward), issue_token(SECRET, admin=True)

    submitted = _data(multipart(base, SUBMIT, {"input": {
        "category": "MAINTENANCE", "description": "三单元楼道灯不亮", "contactPhone": PHONE,
        "point": {"lon": B1_POINT[0], "lat": B1_POINT[1]}, "photos": [None]}},
        {"input.photos.0": photo("JPEG", (1200, 900))}))["submitServiceRequest"]
    assert submitted["errors"] == []
    number, request_id = submitted["request"]["number"], submitted["request"]["id"]

    received = receiver.wait_for("REQUEST_RECEIVED")
    assert received["recipient"] == PHONE and number in received["body"]
    found = re.search(re.escape(TRACKING_LINK) + r"\?n=(\w+)&c=(\w+)", received["body"])
    assert found is not None, received["body"]
    assert found.groups() == (number, submitted["trackingCode"])
    assert f"c={submitted['trackingCode']}&stop=1" in received["body"]

    view = _data(post(base, TRACK, {"n": number, "c": found.group(2)}))["trackServiceRequest"]
    assert view["status"] in ("SUBMITTED", "DISPATCHED")
    assert view["description"] == "三单元楼道灯不亮"
    assert [p["stage"] for p in view["photos"]] == ["PROBLEM"]
    shown = httpx.get(base + view["photos"][0]["thumbnailUrl"], timeout=30)  # signed, no token
    assert shown.status_code == 200 and shown.headers["content-type"] == "image/jpeg"
    wrong = _data(post(base, TRACK, {"n": number, "c": "A" * 32}))["trackServiceRequest"]
    assert wrong is None

    _wait_for_status(base, request_id, "DISPATCHED", admin)
    _act(base, "acceptServiceRequest", request_id, member)
    accepted = receiver.wait_for("REQUEST_ACCEPTED")
    assert number in accepted["body"] and TRACKING_LINK in accepted["body"]
    _act(base, "startServiceRequest", request_id, member)
    done = _data(multipart(base, COMPLETE, {"id": request_id, "photos": [None]},
                           {"photos.0": photo("PNG", (640, 480))}, token=member))
    assert done["completeServiceRequest"]["errors"] == [], done
    completed = receiver.wait_for("REQUEST_COMPLETED")
    assert number in completed["body"]

    survey = receiver.wait_for("SURVEY")
    token = survey["survey_token"]
    view = _data(post(base, TRACK, {"n": number, "c": found.group(2)}))["trackServiceRequest"]
    assert view["surveyLink"] == SURVEY_LINK + token
    assert view["assigneeRole"] == "红色管家"
    assert [p["stage"] for p in view["photos"]] == ["PROBLEM", "SERVICE"]
    assert view["timeline"][0]["word"] == "受理" and "办结" in [s["word"]
                                                                for s in view["timeline"]]
    answer = _data(post(base, SURVEY, {"t": token}))["submitSurveyResponse"]
    assert answer["errors"] == []
    view = _data(post(base, TRACK, {"n": number, "c": found.group(2)}))["trackServiceRequest"]
    assert view["status"] == "CLOSED" and view["surveyLink"] is None
    assert [m["kind"] for m in receiver.messages if m["recipient"] == PHONE].count(
        "REQUEST_ACCEPTED") == 1


def test_tracking_is_rate_limited_per_request_number(database_url: str) -> None:
    with running_api(database_url, SECRET, RATE_LIMIT_STORE="postgres",
                     RATE_LIMIT_PREFIX=f"e2e:{uuid4().hex}:",
                     RATE_LIMIT_TRACK_PER_NUMBER="3/1m") as base:
        answers = [post(base, TRACK, {"n": "GS261201000001", "c": f"{n:032d}"}).json()
                   for n in range(4)]
        other = post(base, TRACK, {"n": "GS261201000002", "c": "0" * 32}).json()
    assert [a.get("data") for a in answers[:3]] == [{"trackServiceRequest": None}] * 3
    refused = answers[3]["errors"][0]
    assert refused["extensions"]["code"] == "RATE_LIMITED"
    assert refused["extensions"]["field"] == "number"
    assert "request number" in refused["message"]
    assert other["data"] == {"trackServiceRequest": None}
