"""Group suggestions: buildings with enough ACTIVE party members to form a group of their own
(the documents' rule of five) that have none — no group at all, or one shared with other
buildings."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from domain.access import Viewer
from domain.errors import InvalidInput
from domain.visibility import Kind, condition, visible_params

#: Party members living in a building from which it may form a group of its own.
MIN_PARTY_MEMBERS = 5
#: With a community: only its buildings' members are counted (through the buildings' grid_id
#: index), not every member of the city (130 ms at 280,000 members, growing with the city).
_WITHIN_COMMUNITY = """AND m.building_id IN (SELECT cb.id FROM building cb WHERE cb.grid_id IN
      (SELECT cg.id FROM grid cg WHERE cg.community_id = :community))"""

_SUGGEST = """
    WITH counted AS (
      SELECT m.building_id, count(*) AS party_members FROM member m
      WHERE m.status = 'ACTIVE' AND m.party_member AND m.building_id IS NOT NULL {within}
      GROUP BY m.building_id HAVING count(*) >= :least)
    SELECT b.id AS building_id, counted.party_members, b.group_id
    FROM counted JOIN building b ON b.id = counted.building_id
    JOIN grid g ON g.id = b.grid_id
    WHERE (b.group_id IS NULL OR EXISTS (
             SELECT 1 FROM building o WHERE o.group_id = b.group_id AND o.id <> b.id))
      AND (CAST(:community AS integer) IS NULL OR g.community_id = :community)
      AND {visible}
    ORDER BY counted.party_members DESC, b.id"""


@dataclass(frozen=True)
class Suggestion:
    """A building that may form a group of its own, and the group it shares now (if any)."""

    building_id: int
    party_members: int
    group_id: int | None


async def group_suggestions(session: AsyncSession, *, viewer: Viewer,
                            community_id: int | None = None,
                            min_party_members: int = MIN_PARTY_MEMBERS) -> list[Suggestion]:
    """Buildings the caller may see with at least `min_party_members` ACTIVE party members
    and no group of their own, most party members first."""
    if min_party_members < 1:
        raise InvalidInput.one("INVALID_VALUE", "minPartyMembers must be at least 1",
                               "minPartyMembers")
    sql = text(_SUGGEST.format(visible=condition(viewer, Kind.BUILDING, "b"),
                               within=_WITHIN_COMMUNITY if community_id is not None else ""))
    rows = await session.execute(sql, {"least": min_party_members, "community": community_id,
                                       **visible_params(viewer)})
    return [Suggestion(int(r.building_id), int(r.party_members), r.group_id) for r in rows]
