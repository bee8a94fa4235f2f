"""Dispatch policy: who gets a request, and the texts people receive (Chinese, for phones)."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

CATEGORY_NAMES = {"MAINTENANCE": "维修维护", "ASSISTANCE": "爱心帮扶", "CONSULTATION": "信息咨询",
                  "CULTURE": "文化娱乐", "EMERGENCY": "应急处理", "MEDIATION": "矛盾调处"}

#: ACTIVE members of the request's group who have the skill and have not declined or let it
#: time out: least open load first, then nearest home building, then longest since their last
#: assignment (never assigned first), then id so the order is total.
_CANDIDATE = text("""
SELECT m.id, m.phone FROM member m
LEFT JOIN building home ON home.id = m.building_id
WHERE m.group_id = :group_id AND m.status = 'ACTIVE' AND m.skills @> ARRAY[:category]::text[]
  AND NOT EXISTS (SELECT 1 FROM request_event e WHERE e.request_id = :request_id
                  AND e.member_id = m.id AND e.kind IN ('DECLINED', 'ACCEPT_TIMEOUT'))
ORDER BY
  (SELECT count(*) FROM service_request open WHERE open.assignee_id = m.id
   AND open.status IN ('DISPATCHED', 'ACCEPTED', 'IN_PROGRESS')),
  ST_Distance(home.location::geography, CAST(:location AS geometry)::geography) NULLS LAST,
  (SELECT max(e.at) FROM request_event e WHERE e.member_id = m.id
   AND e.kind IN ('DISPATCHED', 'ASSIGNED')) ASC NULLS FIRST,
  m.id
LIMIT 1""")


async def pick_candidate(session: AsyncSession, *, request_id: int, group_id: int,
                         category: str, location: object) -> tuple[int, str | None] | None:
    """The member to dispatch to, with their phone; None when the group is exhausted."""
    row = (await session.execute(_CANDIDATE, {
        "request_id": request_id, "group_id": group_id, "category": category,
        "location": location})).first()
    return None if row is None else (int(row.id), row.phone)


def due_at(category: str, submitted: datetime, due_hours: dict[str, int]) -> datetime:
    """The time limit (规定时限) of a category, from the settings' table of hours."""
    return submitted + timedelta(hours=due_hours[category])


def dispatch_notice(number: str, category: str, address: str | None, minutes: int) -> str:
    """What a member reads when a request is dispatched to them."""
    where = f"，地点：{address}" if address else ""
    return (f"【红色管家】您有一条新的{CATEGORY_NAMES[category]}服务单 {number}{where}。"
            f"请在{minutes}分钟内接单或说明原因。")


def escalation_notice(number: str, category: str, level: int, reason: str) -> str:
    """What grid workers (level 1) or community administrators (level 2) read."""
    who = "网格" if level == 1 else "社区"
    return (f"【红色管家】服务单 {number}（{CATEGORY_NAMES[category]}）已上报至{who}：{reason}。"
            "请尽快处理。")
