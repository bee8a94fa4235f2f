"""The API process leaves its start-up objects out of garbage collection and collects less."""

from __future__ import annotations

import gc
from collections.abc import Iterator

import pytest

from server.gc_tuning import THRESHOLDS, tune_gc


@pytest.fixture
def restored_gc() -> Iterator[None]:
    thresholds = gc.get_threshold()
    yield
    gc.unfreeze()
    gc.set_threshold(*thresholds)


def test_tune_gc(restored_gc: None) -> None:
    tune_gc()
    assert gc.get_threshold() == THRESHOLDS
    assert gc.get_freeze_count() > 0
