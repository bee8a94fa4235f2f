"""Garbage-collector settings for a long-running API process.

CPython collects its youngest generation every 700 net allocations of container objects and
walks older generations every 10 of those; a GraphQL request allocates thousands, and the
process holds ~140,000 long-lived objects (the schema, the mappers, the metadata) that every
full collection walks again. Measured on the coverage benchmark: ~0.6 ms of server CPU per
request, ~14 %.

Young collections cost what they find: a GraphQL request leaves ~150 objects in reference
cycles (graphql-core's collected fields, SQLAlchemy instance states, Starlette's request),
which only the collector frees. At 50,000 allocations a young pass met ~49,000 of them and took
15-46 ms, stalling the request that triggered it (p99 at 100 requests/s up to 40 ms); at
5,000 a pass takes a few ms, and the collector's total work hardly changes. Three alternating
runs of each (30 Nov 2026): point 819 vs 811 requests/s, address 823 vs 773, p99 at 100
requests/s 7-9 ms vs 9-40 ms.
"""

from __future__ import annotations

import gc

#: Allocations between young collections, and collections between middle and old ones.
THRESHOLDS = (5_000, 20, 100)


def tune_gc() -> None:
    """Leave everything built so far out of future collections (gc.freeze) and collect less
    often. Call once a process has built its app, after any fork."""
    gc.freeze()
    gc.set_threshold(*THRESHOLDS)
