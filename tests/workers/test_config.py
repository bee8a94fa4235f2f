"""Worker settings: the webhook is refused without a URL or, outside dev, a real secret; the
config reaches worker processes intact; the broker follows BROKER_URL's scheme."""

from __future__ import annotations

from typing import Any

import pytest
from dramatiq.brokers.rabbitmq import RabbitmqBroker
from dramatiq.brokers.redis import RedisBroker
from dramatiq.middleware import AsyncIO, Retries
from dramatiq_pg import PostgresBroker
from pydantic import ValidationError

from server.settings import Settings
from workers.broker import make_broker
from workers.cli import dramatiq_arguments, run_worker
from workers.config import CONFIG_ENV, WorkerConfig

SECRET_KEY = "k" * 40


def _settings(**env: str) -> Settings:
    values: dict[str, Any] = {"SECRET_KEY": SECRET_KEY, "GRIDSTEWARD_ENV": "production", **env}
    return Settings(**values)


def test_the_defaults_are_the_log_channel_and_a_five_second_sweep() -> None:
    settings = _settings()
    assert (settings.outbound_channel, settings.sweep_interval_seconds,
            settings.dispatch_stale_seconds) == ("log", 5, 30)


def test_the_survey_jobs_default_to_every_minute_and_every_hour() -> None:
    settings = _settings()
    assert (settings.survey_batch_interval_seconds, settings.survey_link,
            settings.assessment_interval_seconds) == (60, "", 3600)


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
    {"SURVEY_LINK": "example.org/survey?token="},
])
def test_bad_worker_settings_are_refused(env: dict[str, str]) -> None:
    with pytest.raises(ValidationError):
        _settings(**env)


def test_dev_may_use_the_webhook_without_a_secret() -> None:
    settings = _settings(GRIDSTEWARD_ENV="dev", OUTBOUND_CHANNEL="webhook",
                         WEBHOOK_URL="http://127.0.0.1:9000/hook")
    assert settings.webhook_secret == ""


def test_the_config_reaches_worker_processes_through_the_environment(
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(CONFIG_ENV, raising=False)
    settings = _settings(DATABASE_URL="postgresql://u@h/db", ACCEPT_TIMEOUT_SECONDS="60",
                         OUTBOUND_CHANNEL="webhook", WEBHOOK_URL="https://sms.example/hook",
                         WEBHOOK_SECRET="w" * 20, SWEEP_INTERVAL_SECONDS="0.5",
                         SURVEY_DELAY_SECONDS="60", SURVEY_REMINDER_SECONDS="120",
                         SURVEY_EXPIRY_SECONDS="180", SURVEY_BATCH_INTERVAL_SECONDS="7.5",
                         SURVEY_LINK="https://example.org/survey?token=",
                         ASSESSMENT_INTERVAL_SECONDS="600")
    config = WorkerConfig.from_settings(settings, pool_size=3)
    config.export()
    assert WorkerConfig.from_env() == config
    assert (config.accept_timeout.total_seconds(), config.pool_size) == (60, 3)
    times = config.survey_times
    assert [t.total_seconds() for t in (times.delay, times.reminder, times.expiry)] == [
        60, 120, 180]
    assert (config.survey_batch_interval_seconds, config.survey_link,
            config.assessment_interval_seconds) == (7.5, "https://example.org/survey?token=",
                                                    600)


def test_without_the_exported_config_a_process_says_how_to_start(
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(CONFIG_ENV, raising=False)
    with pytest.raises(RuntimeError, match="gridsteward worker"):
        WorkerConfig.from_env()


@pytest.mark.parametrize(("url", "kind"), [
    ("amqp://guest:guest@127.0.0.1:5672/", RabbitmqBroker),
    ("redis://127.0.0.1:6379/0", RedisBroker),
    ("postgresql+psycopg://root@127.0.0.1:5432/gridsteward", PostgresBroker),
    ("postgresql://root@127.0.0.1:5432/gridsteward", PostgresBroker),
])
def test_the_broker_follows_the_url_scheme_without_connecting(url: str, kind: Any) -> None:
    broker = make_broker(url)
    assert isinstance(broker, kind)
    assert any(isinstance(m, AsyncIO) for m in broker.middleware)
    assert any(isinstance(m, Retries) for m in broker.middleware)


def test_an_unknown_broker_scheme_is_refused() -> None:
    with pytest.raises(ValueError, match="amqp://"):
        make_broker("kafka://127.0.0.1:9092")


def test_the_worker_runs_the_periodic_jobs_beside_the_actors() -> None:
    args = dramatiq_arguments(processes=2, threads=3)
    assert args[0] == "workers.boot:setup"
    assert args[args.index("--fork-function") + 1] == "workers.scheduler:run"
    with pytest.raises(ValueError):
        run_worker(_settings(), processes=0, threads=1)
