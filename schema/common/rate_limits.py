"""Abuse limits of the anonymous mutations, declared on each field as `RateLimited(rule, arg)`.

A limited field takes one token from the bucket of the caller's address (client_address)
and, when `arg` names an argument holding a phone or login (`input.contactPhone`, `login`,
`phone`) and it is given, one from the bucket of that value, whatever the address: one
round trip to the store (domain.infra.rate_limit), before the resolver runs. An empty
bucket answers a GraphQL error, nothing done:

    {"message": "Too many attempts for this phone or login; try again in 40 s.",
     "extensions": {"code": "RATE_LIMITED", "retryAfter": 40, "field": "input.contactPhone"}}

(`field` only when the phone's or login's bucket refused). Fields without the extension
cost nothing; without a limiter in the context (RATE_LIMIT_STORE=off) nothing is limited.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Any

from strawberry.extensions import FieldExtension
from strawberry.extensions.field_extension import AsyncExtensionResolver
from strawberry.utils.str_converters import to_snake_case

from domain.infra.rate_limit import Limiter, Rate
from domain.settings import Settings
from schema.common.client_address import Network, networks, request_address
from schema.common.errors import PublicError


@dataclass(frozen=True)
class Rule:
    """Which settings limit a field: `address` per client address, `value` per phone or
    login; buckets of the same `group` are shared by every field of the rule's kind."""

    group: str
    address: str
    value: str


#: submitServiceRequest, submitSurveyResponse and the anonymous submissions to come.
SUBMISSION = Rule("submit", "rate_limit_submit_per_address", "rate_limit_submit_per_phone")
#: signInWithPassword, signInWithCode, refreshSession.
SIGN_IN = Rule("sign-in", "rate_limit_sign_in_per_address", "rate_limit_sign_in_per_login")
#: requestSignInCode: the sign-in buckets per address, its own per phone.
SIGN_IN_CODE = Rule("sign-in", "rate_limit_sign_in_per_address", "rate_limit_code_per_phone")
#: trackServiceRequest and the resident's changes by tracking code: per address, per number.
TRACKING = Rule("track", "rate_limit_track_per_address", "rate_limit_track_per_number")


#: How the refusal names a limited argument other than a phone or login.
_WHAT = {"number": "request number"}


class RateLimitedError(PublicError):
    """RATE_LIMITED: wait `retry_after` seconds; `field` names the argument whose value is
    limited (None when the caller's address is)."""

    def __init__(self, retry_after: int, field: str | None) -> None:
        what = f"for this {_WHAT.get(field, 'phone or login')}" if field \
            else "from this address"
        super().__init__(f"Too many attempts {what}; try again in {retry_after} s.",
                         code="RATE_LIMITED", field=field)
        assert self.extensions is not None
        self.extensions["retryAfter"] = retry_after


@dataclass(frozen=True)
class RateLimits:
    """What the limited fields need, made once per process: the limiter, the rates, the
    trusted proxies and the key that hides phones and logins in bucket names."""

    limiter: Limiter
    rates: dict[str, Rate | None]
    trusted: tuple[Network, ...]
    key: bytes

    @classmethod
    def of(cls, settings: Settings, limiter: Limiter) -> RateLimits:
        fields = {f for rule in (SUBMISSION, SIGN_IN, SIGN_IN_CODE, TRACKING)
                  for f in (rule.address, rule.value)}
        return cls(limiter=limiter, rates={f: settings.rate(f) for f in fields},
                   trusted=networks(settings.trusted_proxies),
                   key=hashlib.blake2b(settings.secret_key.encode()).digest())

    def digest(self, value: str) -> str:
        """A phone or login as it appears in a bucket's name: canonical, then keyed-hashed."""
        canonical = "".join(value.split()).casefold().replace("-", "")
        for country in ("+86", "0086"):
            canonical = canonical.removeprefix(country)
        return hashlib.blake2b(canonical.encode(), key=self.key, digest_size=12).hexdigest()


def _argument(kwargs: dict[str, Any], path: str) -> Any:
    """The value at `path` ("input.contactPhone") of the resolver's arguments, or None."""
    value: Any = kwargs
    for part in path.split("."):
        name = to_snake_case(part)
        value = value.get(name) if isinstance(value, dict) else getattr(value, name, None)
        if value is None:
            return None
    return value


class RateLimited(FieldExtension):
    """Limits the field by `rule`: per client address, and per the phone or login in the
    argument `argument` (a GraphQL path: `input.contactPhone`, `login`) when given."""

    def __init__(self, rule: Rule, argument: str | None = None) -> None:
        self.rule, self.argument = rule, argument

    def _takes(self, limits: RateLimits, address: str,
               kwargs: dict[str, Any]) -> list[tuple[str, Rate, str | None]]:
        takes: list[tuple[str, Rate, str | None]] = []
        rate = limits.rates[self.rule.address]
        if rate is not None:
            takes.append((f"{self.rule.group}:a:{address}", rate, None))
        value = _argument(kwargs, self.argument) if self.argument else None
        rate = limits.rates[self.rule.value]
        if isinstance(value, str) and value.strip() and rate is not None:
            group = self.rule.value.removeprefix("rate_limit_")
            takes.append((f"{group}:v:{limits.digest(value)}", rate, self.argument))
        return takes

    async def resolve_async(self, next_: AsyncExtensionResolver, source: Any, info: Any,
                            **kwargs: Any) -> Any:
        context = info.context
        limits: RateLimits | None = getattr(context, "rate_limits", None)
        if limits is not None:
            address = request_address(context.request, limits.trusted) \
                if context.request is not None else "unknown"
            takes = self._takes(limits, address, kwargs)
            refusal = await limits.limiter.take([(key, rate) for key, rate, _ in takes])
            if refusal is not None:
                raise RateLimitedError(refusal.retry_after, takes[refusal.index][2])
        return await next_(source, info, **kwargs)
