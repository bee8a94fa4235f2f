"""Where staff may act in this area, through the permission layer (domain.visibility,
domain.access.Viewer.administers): every write of the organisation area asks `require`
before changing anything, with the community the row lies in.

Staff administer a community when they are city-wide or it lies within their territories
(`Viewer.communities`, resolved when the caller is loaded); a row of no community is for
city-wide staff only. Outside, the answer is FORBIDDEN naming the field that led there, and
nothing changes. (The schema's RULES check the mutation arguments first; these checks hold
for what the arguments do not name: a member's current community, a group's grid, ...)
"""

from __future__ import annotations

from sqlalchemy import TextClause, text
from sqlalchemy.ext.asyncio import AsyncSession

from domain.access import Viewer
from domain.errors import InvalidInput

#: The community of a member: through their group's grid, else their building's grid.
MEMBER_COMMUNITY = text("""
    SELECT g.community_id FROM member m
    LEFT JOIN building_group bg ON bg.id = m.group_id
    LEFT JOIN building b ON b.id = m.building_id
    JOIN grid g ON g.id = COALESCE(bg.grid_id, b.grid_id) WHERE m.id = :id""")
GROUP_COMMUNITY = text("""
    SELECT g.community_id FROM building_group bg JOIN grid g ON g.id = bg.grid_id
    WHERE bg.id = :id""")
BUILDING_COMMUNITY = text("""
    SELECT g.community_id FROM building b JOIN grid g ON g.id = b.grid_id WHERE b.id = :id""")


async def community_of(session: AsyncSession, sql: TextClause, pk: int) -> int | None:
    """The community one of the statements above finds for a row (None: none)."""
    found = (await session.execute(sql, {"id": pk})).scalar()
    return None if found is None else int(found)


def require(viewer: Viewer, community_id: int | None, field: str) -> None:
    """FORBIDDEN naming `field` unless the caller administers the community."""
    if not viewer.administers(community_id):
        raise InvalidInput.one("FORBIDDEN", "this lies outside your territories", field)
