"""Reads on a streaming replica, and the callers whose reads must not go there yet.

A read that tolerates a little lag (coverage, lists, map features, tiles, statistics) may be
answered by a replica (DATABASE_REPLICA_URL), which replays the primary's changes a moment
later (milliseconds when idle, seconds under a burst). A caller who has just written must
read their own write, so for REPLICA_STICKY_SECONDS after a write that caller's reads stay
on the primary: `RecentWriters` remembers who wrote when, by whatever key the server names a
caller with (its session, account or member, else its address).
"""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Hashable

#: How long after a write a caller's reads stay on the primary, in seconds
#: (REPLICA_STICKY_SECONDS): far beyond a healthy replica's lag.
DEFAULT_STICKY_SECONDS = 5.0
#: Callers remembered at most: beyond it the oldest are forgotten (their reads may then go to
#: the replica a little early), so that a flood of writers cannot grow memory without limit.
MAX_REMEMBERED = 100_000

#: What a replica tells of itself: whether it is one, and how far behind its last replayed
#: transaction is (NULL on a primary, or before the first replay).
LAG_SQL = ("SELECT pg_is_in_recovery(), "
           "EXTRACT(EPOCH FROM now() - pg_last_xact_replay_timestamp())::float8")


class RecentWriters:
    """Callers who wrote within the last `seconds`, per process, oldest forgotten first."""

    def __init__(self, seconds: float = DEFAULT_STICKY_SECONDS,
                 limit: int = MAX_REMEMBERED) -> None:
        self.seconds = seconds
        self.limit = limit
        self._until: OrderedDict[Hashable, float] = OrderedDict()

    def wrote(self, caller: Hashable, now: float | None = None) -> None:
        """`caller` wrote just now: their reads stay on the primary for `seconds`."""
        if self.seconds <= 0:
            return
        self._until.pop(caller, None)
        self._until[caller] = (time.monotonic() if now is None else now) + self.seconds
        while len(self._until) > self.limit:
            self._until.popitem(last=False)

    def recent(self, caller: Hashable, now: float | None = None) -> bool:
        """Whether `caller` wrote within the last `seconds`."""
        until = self._until.get(caller)
        if until is None:
            return False
        if (time.monotonic() if now is None else now) < until:
            return True
        del self._until[caller]
        return False
