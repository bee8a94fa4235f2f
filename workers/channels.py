"""Channels that carry outbound messages to people: `log` (the default) and `webhook`.

A channel is a callable taking the message payload (domain.requests.delivery.payload); it
returns when the message is accepted and raises otherwise, so delivery retries it later.
Each message row names its channel, so `make_sender` routes by that name.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
from typing import Any

import httpx

from domain.requests.delivery import Send
from domain.settings import Settings

log = logging.getLogger("gridsteward.outbound")

SIGNATURE_HEADER = "X-GridSteward-Signature"
WEBHOOK_TIMEOUT_SECONDS = 10.0


def log_channel(payload: dict[str, Any]) -> None:
    """Write the message to the log as one JSON line at INFO (development, and a record)."""
    log.info("%s", json.dumps(payload, ensure_ascii=False, sort_keys=True))


def sign(secret: str, body: bytes) -> str:
    """The signature header value: `sha256=` and the hex HMAC-SHA256 of the raw body."""
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


class WebhookChannel:
    """POST the message as JSON to one URL, signed with HMAC-SHA256 of the raw body so the
    receiver can check it came from us; any non-2xx answer or network error raises."""

    def __init__(self, url: str, secret: str, *,
                 timeout: float = WEBHOOK_TIMEOUT_SECONDS) -> None:
        self.url = url
        self.secret = secret
        self.timeout = timeout

    def __call__(self, payload: dict[str, Any]) -> None:
        body = json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode()
        headers = {"Content-Type": "application/json",
                   SIGNATURE_HEADER: sign(self.secret, body),
                   "X-GridSteward-Message-Id": str(payload["id"])}
        response = httpx.post(self.url, content=body, headers=headers, timeout=self.timeout)
        response.raise_for_status()


def make_sender(settings: Settings) -> Send:
    """The Send callable of this worker: it routes each message to the channel its row
    names, and refuses one it does not know (which then fails after its retries)."""
    channels: dict[str, Send] = {"log": log_channel}
    if settings.webhook_url:
        channels["webhook"] = WebhookChannel(settings.webhook_url, settings.webhook_secret)

    def send(payload: dict[str, Any]) -> None:
        channel = channels.get(payload["channel"])
        if channel is None:
            raise LookupError(f"channel {payload['channel']!r} is not configured here")
        channel(payload)
    return send
