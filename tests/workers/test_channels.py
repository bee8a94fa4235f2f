"""Channels: the webhook POSTs signed JSON to a real HTTP server on 127.0.0.1 and fails on
non-2xx; the log channel writes one JSON line; unknown channels are refused."""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import threading
from collections.abc import Iterator
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx
import pytest

from domain.infra.db import transaction
from domain.requests.delivery import Delivery, deliver
from domain.requests.outbox import Message, write_message
from tests.settings import make_settings
from workers.channels import SIGNATURE_HEADER, WebhookChannel, log_channel, make_sender

SECRET = "a-webhook-secret-for-tests-only"
PAYLOAD = {"id": 7, "channel": "webhook", "kind": "DISPATCH_NOTICE", "recipient": "13800000001",
           "body": "【红色管家】您有一条新的维修维护服务单", "request_id": 3, "member_id": 2,
           "survey_token": None, "created_at": "2026-11-23T08:00:00+00:00", "attempt": 1}


class Receiver(ThreadingHTTPServer):
    """Records each POST (headers, raw body) and answers with `status`."""

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.status = 200
        self.received: list[tuple[dict[str, str], bytes]] = []

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}/hook"


class _Handler(BaseHTTPRequestHandler):
    server: Receiver

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["Content-Length"]))
        self.server.received.append((dict(self.headers), body))
        self.send_response(self.server.status)
        self.end_headers()

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet."""


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    server = Receiver()
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


def test_the_webhook_posts_json_signed_with_hmac_of_the_raw_body(receiver: Receiver) -> None:
    WebhookChannel(receiver.url, SECRET)(PAYLOAD)
    ((headers, body),) = receiver.received
    assert json.loads(body) == PAYLOAD
    assert headers["Content-Type"] == "application/json"
    expected = hmac.new(SECRET.encode(), body, hashlib.sha256).hexdigest()
    assert hmac.compare_digest(headers[SIGNATURE_HEADER], f"sha256={expected}")
    assert headers["X-GridSteward-Message-Id"] == "7"
    forged = hmac.new(b"another-secret", body, hashlib.sha256).hexdigest()
    assert headers[SIGNATURE_HEADER] != f"sha256={forged}"


def test_a_non_2xx_answer_raises_so_delivery_retries(receiver: Receiver) -> None:
    receiver.status = 503
    with pytest.raises(httpx.HTTPStatusError):
        WebhookChannel(receiver.url, SECRET)(PAYLOAD)


def test_an_unreachable_webhook_raises_quickly() -> None:
    with pytest.raises(httpx.TransportError):
        WebhookChannel("http://127.0.0.1:9/hook", SECRET, timeout=2)(PAYLOAD)


async def test_delivery_over_the_webhook_retries_then_sends(sessions: Any,
                                                            receiver: Receiver) -> None:
    async with transaction(sessions) as session:
        message_id = await write_message(session, Message(
            recipient="13800000001", kind="DISPATCH_NOTICE", body="测试", dedupe_key="w1",
            channel="webhook"))
    assert message_id is not None
    send = make_sender(make_settings(database_url="", broker_url="", webhook_url=receiver.url,
                                     webhook_secret=SECRET))
    now = datetime.now(UTC)
    receiver.status = 500
    async with transaction(sessions) as session:
        first = await deliver(session, message_id=message_id, now=now, send=send)
    receiver.status = 204
    async with transaction(sessions) as session:
        later = now.replace(year=now.year + 1)
        second = await deliver(session, message_id=message_id, now=later, send=send)
    assert (first, second) == (Delivery.RETRY, Delivery.SENT)
    assert [json.loads(body)["attempt"] for _, body in receiver.received] == [1, 2]


def test_the_log_channel_writes_one_json_line(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.INFO, logger="gridsteward.outbound"):
        log_channel(PAYLOAD)
    (record,) = [r for r in caplog.records if r.name == "gridsteward.outbound"]
    assert record.levelno == logging.INFO
    assert json.loads(record.getMessage()) == PAYLOAD


def test_a_message_for_an_unconfigured_channel_is_refused() -> None:
    send = make_sender(make_settings(database_url="", broker_url=""))
    with pytest.raises(LookupError):
        send({**PAYLOAD, "channel": "webhook"})
    with pytest.raises(LookupError):
        send({**PAYLOAD, "channel": "sms"})
