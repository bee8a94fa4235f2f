"""The notice board (公示栏) of a building group: what the printed board by the stairwell
shows, for anyone — the leader, the ACTIVE members with their roles and the services they
offer, and the candidates on public notice now with the day it ends. A phone is whole only
where the member agreed (`publish_phone`), masked otherwise; nothing else of a member is on
it (no history, no objections, no organisation).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from domain.access import mask_phone
from domain.spatial.models import BuildingGroup

_PEOPLE = text("""
    SELECT m.id, m.name, m.roles, m.skills, m.phone, m.publish_phone, m.status,
           n.ends_at AS notice_ends_at
    FROM member m
    LEFT JOIN LATERAL (
      SELECT ends_at FROM candidate_notice cn WHERE cn.member_id = m.id
        AND cn.posted_at <= :now AND cn.ends_at > :now ORDER BY cn.id DESC LIMIT 1) n ON true
    WHERE m.id IN (SELECT g.id FROM member g WHERE g.group_id = :group
                   UNION ALL
                   SELECT h.id FROM building b JOIN member h ON h.building_id = b.id
                   WHERE b.group_id = :group AND h.group_id IS NULL)
      AND (m.status = 'ACTIVE' OR (m.status = 'CANDIDATE' AND n.ends_at IS NOT NULL))
    ORDER BY m.id""")
#: The group's members are those of the group, and those without a group living in its
#: buildings: two index look-ups (member.group_id; building.group_id, then
#: member.building_id). As one OR across the join, they read every member of the city
#: (63 ms at 280,000 members, growing with the city).


@dataclass(frozen=True)
class BoardEntry:
    """One person on the board."""

    member_id: int
    name: str
    roles: list[str]
    services: list[str]
    phone: str | None
    notice_ends_at: datetime | None = None


@dataclass(frozen=True)
class Board:
    """A group's board: its leader (when ACTIVE), its members, its candidates on notice."""

    group: BuildingGroup
    leader: BoardEntry | None
    entries: list[BoardEntry]
    candidates: list[BoardEntry]


async def notice_board(session: AsyncSession, *, group_id: int, now: datetime) -> Board | None:
    """The board of a group; None when no group has this id."""
    group = await session.get(BuildingGroup, group_id)
    if group is None:
        return None
    rows = (await session.execute(_PEOPLE, {"group": group_id, "now": now})).all()
    people = [BoardEntry(r.id, r.name, list(r.roles), list(r.skills),
                         r.phone if r.publish_phone else mask_phone(r.phone),
                         r.notice_ends_at if r.status == "CANDIDATE" else None) for r in rows]
    active = [p for p, r in zip(people, rows, strict=True) if r.status == "ACTIVE"]
    return Board(group, next((p for p in active if p.member_id == group.leader_id), None),
                 active, [p for p in people if p.notice_ends_at is not None])
