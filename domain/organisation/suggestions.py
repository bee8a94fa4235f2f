"""Group suggestions: buildings with enough ACTIVE party members to form a group of their own
(the documents' rule of five) that have none — no group at all, or one shared with other
buildings."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from domain.access import Territories
from domain.errors import InvalidInput

#: Party members living in a building from which it may form a group of its own.
MIN_PARTY_MEMBERS = 5

_SUGGEST = text("""
    WITH counted AS (
      SELECT m.building_id, count(*) AS party_members FROM member m
      WHERE m.status = 'ACTIVE' AND m.party_member AND m.building_id IS NOT NULL
      GROUP BY m.building_id HAVING count(*) >= :least)
    SELECT b.id AS building_id, counted.party_members, b.group_id
    FROM counted JOIN building b ON b.id = counted.building_id
    JOIN grid g ON g.id = b.grid_id JOIN community c ON c.id = g.community_id
    WHERE (b.group_id IS NULL OR EXISTS (
             SELECT 1 FROM building o WHERE o.group_id = b.group_id AND o.id <> b.id))
      AND (CAST(:community AS integer) IS NULL OR c.id = :community)
      AND (:city OR c.id = ANY(:communities) OR c.subdistrict_id = ANY(:subdistricts))
    ORDER BY counted.party_members DESC, b.id""")


@dataclass(frozen=True)
class Suggestion:
    """A building that may form a group of its own, and the group it shares now (if any)."""

    building_id: int
    party_members: int
    group_id: int | None


async def group_suggestions(session: AsyncSession, *, scope: Territories,
                            community_id: int | None = None,
                            min_party_members: int = MIN_PARTY_MEMBERS) -> list[Suggestion]:
    """Buildings within `scope` with at least `min_party_members` ACTIVE party members and no
    group of their own, most party members first."""
    if min_party_members < 1:
        raise InvalidInput.one("INVALID_VALUE", "minPartyMembers must be at least 1",
                               "minPartyMembers")
    rows = await session.execute(_SUGGEST, {
        "least": min_party_members, "community": community_id, "city": scope.city,
        "communities": sorted(scope.community_ids), "subdistricts": sorted(scope.subdistrict_ids)})
    return [Suggestion(int(r.building_id), int(r.party_members), r.group_id) for r in rows]
