"""Settings for the tests: the real Settings class, from the test environment and `.env`-free,
with the values a test gives (by field name or environment name)."""

from __future__ import annotations

from typing import Any

from domain.settings import Settings


def make_settings(**values: Any) -> Settings:
    """Settings as a process would read them, with `values` given explicitly on top."""
    return Settings(_env_file=None, **values)


def changed(settings: Settings, **values: Any) -> Settings:
    """A copy of `settings` with some fields (by field name) changed, unvalidated."""
    return settings.model_copy(update=values)
