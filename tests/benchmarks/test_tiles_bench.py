"""The tiles benchmark's tile arithmetic: the tiles covering a box, an even sample of them."""

from __future__ import annotations

from benchmarks.tiles import spread, tile_range


def test_the_tiles_covering_a_box_are_every_x_and_y_between_its_corners() -> None:
    assert tile_range((112.55, 26.85, 112.65, 26.922), 12) == [
        (x, y) for x in (3328, 3329) for y in (1729, 1730)]
    assert tile_range((0.1, 0.1, 0.2, 0.2), 0) == [(0, 0)]


def test_a_sample_is_spread_evenly_and_never_larger_than_asked() -> None:
    items = [(i, 0) for i in range(10)]
    assert spread(items, 20) == items
    assert spread(items, 5) == [(0, 0), (2, 0), (4, 0), (6, 0), (8, 0)]
