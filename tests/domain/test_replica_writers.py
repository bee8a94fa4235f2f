"""Who wrote lately (domain.infra.replica.RecentWriters): remembered for its seconds, the
oldest forgotten beyond its limit, nothing kept when stickiness is off."""

from __future__ import annotations

from domain.infra.replica import RecentWriters


def test_a_writer_is_recent_for_its_seconds_then_forgotten() -> None:
    writers = RecentWriters(seconds=5.0)
    writers.wrote("session:1", now=100.0)
    assert writers.recent("session:1", now=104.9)
    assert not writers.recent("session:2", now=104.9)
    assert not writers.recent("session:1", now=105.0)
    assert not writers.recent("session:1", now=101.0)  # forgotten once expired


def test_writing_again_extends_and_the_oldest_go_beyond_the_limit() -> None:
    writers = RecentWriters(seconds=5.0, limit=2)
    writers.wrote("a", now=0.0)
    writers.wrote("b", now=1.0)
    writers.wrote("a", now=2.0)  # now the newest
    writers.wrote("c", now=3.0)  # b, the oldest, is forgotten
    assert [writers.recent(k, now=4.0) for k in "abc"] == [True, False, True]


def test_no_stickiness_remembers_nobody() -> None:
    writers = RecentWriters(seconds=0.0)
    writers.wrote("a", now=0.0)
    assert not writers.recent("a", now=0.0)
