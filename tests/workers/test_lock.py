"""Advisory locks for periodic jobs: one holder at a time across connections (as across
machines), released when the block ends, even when it raised."""

from __future__ import annotations

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from workers.lock import advisory_lock, lock_key


def test_a_key_is_stable_and_fits_a_bigint() -> None:
    assert lock_key("gridsteward:survey-batch") == lock_key("gridsteward:survey-batch")
    assert lock_key("a") != lock_key("b")
    assert -2**63 <= lock_key("a") < 2**63


async def test_one_holder_at_a_time(engine: AsyncEngine) -> None:
    async with (advisory_lock(engine, "tests:one") as first,
                advisory_lock(engine, "tests:one") as second,
                advisory_lock(engine, "tests:other") as other):
        assert (first, second, other) == (True, False, True)
    async with advisory_lock(engine, "tests:one") as again:
        assert again


async def test_the_lock_is_released_when_the_block_raises(engine: AsyncEngine) -> None:
    with pytest.raises(RuntimeError):
        async with advisory_lock(engine, "tests:raise") as taken:
            assert taken
            raise RuntimeError("the job failed")
    async with advisory_lock(engine, "tests:raise") as again:
        assert again
