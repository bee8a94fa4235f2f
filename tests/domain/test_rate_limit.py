"""The rules of the rate limits: rates as written in the settings, their defaults, the store
named, and the trusted proxies (comma-separated in the environment)."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from domain.infra import rate_limit as rl
from domain.infra.rate_limit import Rate, parse_rate
from tests.settings import make_settings


@pytest.mark.parametrize(("text", "rate"), [
    ("10/1m", Rate(10, 60)), ("10/min", Rate(10, 60)), ("10/60", Rate(10, 60)),
    ("5/1h", Rate(5, 3600)), ("3/15m", Rate(3, 900)), (" 2 / 30s ", Rate(2, 30)),
    ("1/0.5s", Rate(1, 0.5)), ("off", None), ("OFF", None),
])
def test_rates_are_read_as_written(text: str, rate: Rate | None) -> None:
    assert parse_rate(text) == rate


@pytest.mark.parametrize("text", ["", "10", "10/", "0/1m", "10/0s", "ten/1m", "10/1d", "-1/1m"])
def test_other_rates_are_refused(text: str) -> None:
    with pytest.raises(ValueError, match="rate"):
        parse_rate(text)


def test_the_defaults_are_the_rules_own() -> None:
    settings = make_settings()
    assert settings.rate_limit_store == rl.DEFAULT_STORE == "postgres"
    assert settings.rate("rate_limit_submit_per_address") == Rate(10, 60)
    assert settings.rate("rate_limit_submit_per_phone") == Rate(5, 3600)
    assert settings.rate("rate_limit_sign_in_per_address") == Rate(10, 60)
    assert settings.rate("rate_limit_sign_in_per_login") == Rate(5, 900)
    assert settings.rate("rate_limit_code_per_phone") == Rate(3, 900)
    assert settings.trusted_proxies == []


@pytest.mark.parametrize("values", [{"RATE_LIMIT_STORE": "memcached://x"},
                                    {"RATE_LIMIT_SIGN_IN_PER_LOGIN": "5 per hour"},
                                    {"TRUSTED_PROXIES": "10.0.0.0/8, proxy.local"}])
def test_bad_values_are_refused(values: dict[str, str]) -> None:
    with pytest.raises(ValidationError):
        make_settings(**values)


def test_trusted_proxies_come_comma_separated(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TRUSTED_PROXIES", "10.0.0.0/8, 192.168.1.7,fd00::/8")
    monkeypatch.setenv("RATE_LIMIT_STORE", "redis://127.0.0.1:6379/3")
    settings = make_settings()
    assert settings.trusted_proxies == ["10.0.0.0/8", "192.168.1.7", "fd00::/8"]
    assert settings.rate_limit_store == "redis://127.0.0.1:6379/3"
