"""Abuse limits: token buckets, kept in a shared store (Redis or PostgreSQL), that fail open.

A `Rate` such as "10/1m" is a bucket of 10 tokens that refills at 10 per minute: a burst of
10, then one every 6 seconds. `Limiter.take` takes one token from each bucket it is given,
all or none, in one round trip to the store; when one is empty it answers which, and the
seconds until it holds a token again. When the store cannot be reached the limiter lets
everything through and logs one line, then leaves the store alone for a few seconds: a
limiter that is down must never keep residents out.

The defaults of the rules (RATE_LIMIT_* settings) are stated here; the GraphQL fields they
apply to are declared in schema.common.rate_limits.
"""

from __future__ import annotations

import logging
import math
import re
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Protocol

log = logging.getLogger("gridsteward.rate_limit")

#: Where buckets are kept unless RATE_LIMIT_STORE says otherwise: the database every process
#: has already (a Redis URL takes them off it; "off" disables the limits).
DEFAULT_STORE = "postgres"
DEFAULT_PREFIX = "gridsteward:rl:"
#: Anonymous submissions (submitServiceRequest, submitSurveyResponse, ...) per client address.
DEFAULT_SUBMIT_PER_ADDRESS = "10/1m"
#: submitServiceRequest per contact phone, whatever the address.
DEFAULT_SUBMIT_PER_PHONE = "5/1h"
#: Sign-in attempts (password, code, refresh, code requests) per client address.
DEFAULT_SIGN_IN_PER_ADDRESS = "10/1m"
#: Sign-in attempts per login or phone, whatever the address.
DEFAULT_SIGN_IN_PER_LOGIN = "5/15m"
#: requestSignInCode per phone: each one sends a text message.
DEFAULT_CODE_PER_PHONE = "3/15m"
#: The resident's tracking fields (trackServiceRequest, replies, stopping notices) per client
#: address: a page that polls now and then passes, a guesser of codes does not.
DEFAULT_TRACK_PER_ADDRESS = "30/1m"
#: The same fields per request number, whatever the address (codes guessed for one request).
DEFAULT_TRACK_PER_NUMBER = "20/15m"
#: Seconds the limiter leaves an unreachable store alone (letting everything through).
OUTAGE_PAUSE = 5.0

_RATE = re.compile(r"^\s*(\d+)\s*/\s*(\d*(?:\.\d+)?)\s*(s|m|min|h|hour)?\s*$")
_UNIT_SECONDS = {None: 1, "s": 1, "m": 60, "min": 60, "h": 3600, "hour": 3600}


@dataclass(frozen=True)
class Rate:
    """`count` tokens per `seconds`: the bucket's size and how fast it refills."""

    count: int
    seconds: float

    @property
    def per_second(self) -> float:
        return self.count / self.seconds


def parse_rate(text: str) -> Rate | None:
    """"10/1m" (or "10/60", "5/1h", "3/15m", "10/min") as a Rate; None for "off"; ValueError
    for anything else."""
    if text.strip().lower() == "off":
        return None
    match = _RATE.match(text.lower())
    if match is None or not (match.group(2) or match.group(3)):
        raise ValueError(f"{text!r} is not a rate such as 10/1m, 5/1h, 3/15m or off")
    count, number, unit = match.groups()
    seconds = float(number or 1) * _UNIT_SECONDS[unit]
    if int(count) < 1 or seconds <= 0:
        raise ValueError(f"{text!r}: a rate needs at least 1 per a positive time")
    return Rate(int(count), seconds)


@dataclass(frozen=True)
class Refusal:
    """The bucket (its index in the takes) that was empty, and whole seconds to wait."""

    index: int
    retry_after: int


class Store(Protocol):
    """Takes one token from each bucket atomically, all or none: (0, 0.0) when taken, else
    (1-based index of the emptiest refused bucket, seconds until it refills one token)."""

    async def take(self, keys: Sequence[str], rates: Sequence[Rate],
                   now: float) -> tuple[int, float]: ...

    async def close(self) -> None: ...


class Limiter:
    """Token buckets in `store` under `prefix`; `clock` gives seconds (time.time, or a fake
    one in tests). Every API process shares the store, so their clocks must agree (NTP)."""

    def __init__(self, store: Store, *, prefix: str = DEFAULT_PREFIX,
                 clock: Callable[[], float] = time.time, pause: float = OUTAGE_PAUSE) -> None:
        self.store, self.prefix, self.clock, self.pause = store, prefix, clock, pause
        self._skip_until = -math.inf

    async def take(self, takes: Sequence[tuple[str, Rate]]) -> Refusal | None:
        """One token from each (key, rate) bucket, all or none; the refusal when one is empty;
        None when taken, or when the store is unreachable (fail open, one warning a pause)."""
        if not takes:
            return None
        now = self.clock()
        if now < self._skip_until:
            return None
        keys = [self.prefix + key for key, _ in takes]
        try:
            index, wait = await self.store.take(keys, [rate for _, rate in takes], now)
        except Exception as exc:  # any failure of the store: never a 500, never a lock-out
            self._skip_until = now + self.pause
            text = " ".join(str(exc).split())[:200]
            log.warning("rate limits off for %g s: the store failed: %s: %s", self.pause,
                        type(exc).__name__, text)
            return None
        if index == 0:
            return None
        # A hair off a whole second (floating point) is not a second more to wait.
        return Refusal(index=index - 1, retry_after=max(1, math.ceil(wait - 1e-6)))

    async def close(self) -> None:
        await self.store.close()
