"""What a test does when a service or tool it needs is missing here: in CI (`CI` set) that is
a failure, since CI installs everything the project's scripts install; on a developer's
machine a skip that says what is missing."""

from __future__ import annotations

import os
from typing import NoReturn

import pytest


def unavailable(reason: str) -> NoReturn:
    """Fail in CI, skip elsewhere, saying `reason`."""
    if os.environ.get("CI"):
        pytest.fail(reason)
    pytest.skip(reason)
