"""The communities' calendar: China Standard Time (Asia/Shanghai, UTC+8, no daylight saving).

Timestamps are stored and exchanged in UTC; calendar things people name — an assessment
month or quarter, the completion date in a survey text — are counted in this zone, so the
November assessment holds what residents and stewards saw happen in November.
"""

from __future__ import annotations

from zoneinfo import ZoneInfo

#: The zone's name, for SQL (`AT TIME ZONE`).
ZONE_NAME = "Asia/Shanghai"

#: The zone, for Python.
ZONE = ZoneInfo(ZONE_NAME)
