"""What the worker processes need to know, handed down from the settings.

`workers` may not import `server` (imports flow server → workers), so the command line turns
its Settings into a WorkerConfig and passes it to the processes Dramatiq starts through one
environment variable, which survives fork, spawn and forkserver alike.
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass, field
from datetime import timedelta
from typing import Protocol

from domain.surveys.batch import SurveyTimes

#: The environment variable carrying the JSON of a WorkerConfig to worker processes.
CONFIG_ENV = "GRIDSTEWARD_WORKER_CONFIG"


class WorkerSettings(Protocol):
    """The part of server.settings.Settings the workers read."""

    @property
    def database_url(self) -> str: ...
    @property
    def broker_url(self) -> str: ...
    @property
    def accept_timeout_seconds(self) -> int: ...
    @property
    def dispatch_stale_seconds(self) -> float: ...
    @property
    def sweep_interval_seconds(self) -> float: ...
    @property
    def outbound_channel(self) -> str: ...
    @property
    def webhook_url(self) -> str: ...
    @property
    def webhook_secret(self) -> str: ...
    @property
    def secret_key(self) -> str: ...
    @property
    def survey_delay_seconds(self) -> int: ...
    @property
    def survey_reminder_seconds(self) -> int: ...
    @property
    def survey_expiry_seconds(self) -> int: ...
    @property
    def survey_batch_interval_seconds(self) -> float: ...
    @property
    def survey_link(self) -> str: ...
    @property
    def assessment_interval_seconds(self) -> float: ...


@dataclass(frozen=True)
class WorkerConfig:
    """Settings of the actors and the periodic jobs (sweep, survey batch, assessment
    refresh); `pool_size` is database connections per worker process (one per worker thread is
    enough: a thread runs one actor at a time)."""

    database_url: str
    broker_url: str
    accept_timeout_seconds: int = 1800
    dispatch_stale_seconds: float = 30.0
    sweep_interval_seconds: float = 5.0
    outbound_channel: str = "log"
    webhook_url: str = ""
    webhook_secret: str = ""
    survey_delay_seconds: int = 3600
    survey_reminder_seconds: int = 172800
    survey_expiry_seconds: int = 604800
    survey_batch_interval_seconds: float = 60.0
    survey_link: str = ""
    assessment_interval_seconds: float = 3600.0
    pool_size: int = 2
    secret_key: str = field(default="", repr=False)  # writes sign-in codes into messages

    @classmethod
    def from_settings(cls, settings: WorkerSettings, *, pool_size: int = 2) -> WorkerConfig:
        """The worker's view of the validated settings."""
        return cls(database_url=settings.database_url, broker_url=settings.broker_url,
                   accept_timeout_seconds=settings.accept_timeout_seconds,
                   dispatch_stale_seconds=settings.dispatch_stale_seconds,
                   sweep_interval_seconds=settings.sweep_interval_seconds,
                   outbound_channel=settings.outbound_channel,
                   webhook_url=settings.webhook_url, webhook_secret=settings.webhook_secret,
                   survey_delay_seconds=settings.survey_delay_seconds,
                   survey_reminder_seconds=settings.survey_reminder_seconds,
                   survey_expiry_seconds=settings.survey_expiry_seconds,
                   survey_batch_interval_seconds=settings.survey_batch_interval_seconds,
                   survey_link=settings.survey_link,
                   assessment_interval_seconds=settings.assessment_interval_seconds,
                   pool_size=pool_size, secret_key=settings.secret_key)

    @classmethod
    def from_env(cls) -> WorkerConfig:
        """The config `export` left for this process."""
        raw = os.environ.get(CONFIG_ENV)
        if not raw:
            raise RuntimeError(f"{CONFIG_ENV} is not set: start workers with `gridsteward "
                               "worker`, which passes the settings down")
        return cls(**json.loads(raw))

    def export(self) -> None:
        """Leave this config for the processes started from this one."""
        os.environ[CONFIG_ENV] = json.dumps(asdict(self))

    @property
    def accept_timeout(self) -> timedelta:
        """How long a member has to accept a request offered to them."""
        return timedelta(seconds=self.accept_timeout_seconds)

    @property
    def stale_after(self) -> timedelta:
        """How long a SUBMITTED request may wait before the sweep dispatches it again."""
        return timedelta(seconds=self.dispatch_stale_seconds)

    @property
    def survey_times(self) -> SurveyTimes:
        """When surveys are sent, reminded and expired, counted from completion and sending."""
        return SurveyTimes(delay=timedelta(seconds=self.survey_delay_seconds),
                           reminder=timedelta(seconds=self.survey_reminder_seconds),
                           expiry=timedelta(seconds=self.survey_expiry_seconds))
