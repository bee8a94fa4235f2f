"""The one Settings class: defaults come from the rules they belong to, bad values are refused
(the webhook without a URL or, outside dev, a real secret), and the derived times read right."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from pydantic import ValidationError

from domain.requests.dispatch import ACCEPT_TIMEOUT
from domain.requests.policy import DEFAULT_DUE_LIMITS
from domain.requests.sweep import STALE_AFTER
from domain.settings import Settings
from domain.surveys.batch import DEFAULT_SURVEY_TIMES
from domain.workdays import Limit, Unit

SECRET_KEY = "k" * 40


def _settings(**env: str) -> Settings:
    values: dict[str, Any] = {"SECRET_KEY": SECRET_KEY, "GRIDSTEWARD_ENV": "production", **env}
    return Settings(_env_file=None, **values)


def test_the_defaults_are_the_rules_own() -> None:
    settings = _settings()
    assert (settings.due_hours, settings.due_limits) == ({}, {})
    assert settings.limits == DEFAULT_DUE_LIMITS
    assert (settings.accept_timeout, settings.stale_after, settings.survey_times) == (
        ACCEPT_TIMEOUT, STALE_AFTER, DEFAULT_SURVEY_TIMES)


def test_the_defaults_are_the_log_channel_and_a_five_second_sweep() -> None:
    settings = _settings()
    assert (settings.outbound_channel, settings.sweep_interval_seconds,
            settings.dispatch_stale_seconds) == ("log", 5, 30)


def test_the_survey_jobs_default_to_every_minute_and_every_hour() -> None:
    settings = _settings()
    assert (settings.survey_batch_interval_seconds, settings.survey_link,
            settings.assessment_interval_seconds) == (60, "", 3600)


def test_due_hours_override_some_categories_and_keep_the_others(
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DUE_HOURS", '{"EMERGENCY": 2}')
    assert _settings().limits == {**DEFAULT_DUE_LIMITS, "EMERGENCY": Limit(2, Unit.HOURS)}
    monkeypatch.setenv("DUE_HOURS", '{"MAINTENANCE": 6}')
    monkeypatch.setenv("DUE_LIMITS", '{"MAINTENANCE": "1 working day",'
                                     ' "CULTURE": "2 working days"}')
    assert _settings().limits == {**DEFAULT_DUE_LIMITS, "MAINTENANCE": Limit(6, Unit.HOURS),
                                  "CULTURE": Limit(2, Unit.WORKING_DAYS)}
    monkeypatch.setenv("DUE_LIMITS", '{"CULTURE": "2 fortnights"}')
    with pytest.raises(ValidationError, match="not a time limit"):
        _settings()
    monkeypatch.delenv("DUE_LIMITS")
    monkeypatch.setenv("DUE_HOURS", '{"PARKING": 2}')
    with pytest.raises(ValidationError, match="unknown categories"):
        _settings()


@pytest.mark.parametrize("env", [
    {"OUTBOUND_CHANNEL": "webhook", "WEBHOOK_SECRET": "x" * 32},
    {"OUTBOUND_CHANNEL": "webhook", "WEBHOOK_URL": "ftp://x", "WEBHOOK_SECRET": "x" * 32},
    {"OUTBOUND_CHANNEL": "webhook", "WEBHOOK_URL": "https://sms.example/hook"},
    {"OUTBOUND_CHANNEL": "webhook", "WEBHOOK_URL": "https://sms.example/hook",
     "WEBHOOK_SECRET": "changeme"},
    {"OUTBOUND_CHANNEL": "sms"},
    {"SWEEP_INTERVAL_SECONDS": "0"},
    {"SURVEY_BATCH_INTERVAL_SECONDS": "0"},
    {"ASSESSMENT_INTERVAL_SECONDS": "-1"},
    {"TABLE_STATISTICS_INTERVAL_SECONDS": "0"},
    {"SURVEY_LINK": "example.org/survey?token="},
])
def test_bad_worker_settings_are_refused(env: dict[str, str]) -> None:
    with pytest.raises(ValidationError):
        _settings(**env)


def test_dev_may_use_the_webhook_without_a_secret() -> None:
    settings = _settings(GRIDSTEWARD_ENV="dev", OUTBOUND_CHANNEL="webhook",
                         WEBHOOK_URL="http://127.0.0.1:9000/hook")
    assert settings.webhook_secret == ""


def test_every_process_reads_the_same_values_from_the_environment(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """What a worker process started by Dramatiq reads: the environment it inherited."""
    for name, value in {"SECRET_KEY": SECRET_KEY, "GRIDSTEWARD_ENV": "production",
                        "DATABASE_URL": "postgresql://u@h/db", "ACCEPT_TIMEOUT_SECONDS": "60",
                        "SURVEY_DELAY_SECONDS": "60", "SURVEY_REMINDER_SECONDS": "120",
                        "SURVEY_EXPIRY_SECONDS": "180", "DISPATCH_STALE_SECONDS": "7.5"}.items():
        monkeypatch.setenv(name, value)
    settings = Settings(_env_file=None)
    assert settings.database_url == "postgresql+psycopg://u@h/db"
    assert (settings.accept_timeout, settings.stale_after) == (timedelta(seconds=60),
                                                               timedelta(seconds=7.5))
    times = settings.survey_times
    assert [t.total_seconds() for t in (times.delay, times.reminder, times.expiry)] == [
        60, 120, 180]



def test_the_replica_is_off_by_default_and_must_be_postgresql() -> None:
    settings = _settings()
    assert (settings.database_replica_url, settings.replica_sticky_seconds) == ("", 5.0)
    assert _settings(DATABASE_REPLICA_URL="postgres://r@replica:5432/gs").database_replica_url \
        == "postgresql+psycopg://r@replica:5432/gs"
    with pytest.raises(ValidationError, match="DATABASE_REPLICA_URL must be a postgresql://"):
        _settings(DATABASE_REPLICA_URL="mysql://r@replica/gs")
    with pytest.raises(ValidationError):
        _settings(REPLICA_STICKY_SECONDS="-1")
