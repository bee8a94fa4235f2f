"""Where staff may act in this area: the one function every write of the organisation area
asks before changing anything, so that the permission layer of issue 10 (territory) can take
its place in one step.

A place is named by its community; a caller's `scope` (domain.access.Territories) holds it
when it is the city, the community or the community's subdistrict. Outside, the answer is
FORBIDDEN naming the field that led there, and nothing changes.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import or_, select, text
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from domain.access import Territories
from domain.errors import InvalidInput
from domain.people.models import TerritoryLevel
from domain.people.territories import Territory, within
from domain.spatial.models import Community

_SUBDISTRICT = text("SELECT subdistrict_id FROM community WHERE id = :id")

#: The community of a member: through their group's grid, else their building's grid.
MEMBER_COMMUNITY = text("""
    SELECT g.community_id FROM member m
    LEFT JOIN building_group bg ON bg.id = m.group_id
    LEFT JOIN building b ON b.id = m.building_id
    JOIN grid g ON g.id = COALESCE(bg.grid_id, b.grid_id) WHERE m.id = :id""")
GROUP_COMMUNITY = text("""
    SELECT g.community_id FROM building_group bg JOIN grid g ON g.id = bg.grid_id
    WHERE bg.id = :id""")
GRID_COMMUNITY = text("SELECT community_id FROM grid WHERE id = :id")
BUILDING_COMMUNITY = text("""
    SELECT g.community_id FROM building b JOIN grid g ON g.id = b.grid_id WHERE b.id = :id""")


async def holds(session: AsyncSession, scope: Territories, community_id: int | None) -> bool:
    """Whether `scope` holds the community (a place of no community: city-wide staff only)."""
    if scope.city:
        return True
    if community_id is None:
        return False
    subdistrict = (await session.execute(_SUBDISTRICT, {"id": community_id})).scalar()
    return within(Territory(TerritoryLevel.COMMUNITY, community_id=community_id), scope,
                  {community_id: subdistrict})


async def community_of(session: AsyncSession, sql: object, pk: int) -> int | None:
    """The community one of the statements above finds for a row (None: none)."""
    return (await session.execute(sql, {"id": pk})).scalar()  # type: ignore[call-overload]


async def require(session: AsyncSession, scope: Territories, community_id: int | None,
                  field: str) -> None:
    """FORBIDDEN naming `field` unless `scope` holds the community."""
    if not await holds(session, scope, community_id):
        raise InvalidInput.one("FORBIDDEN", "this lies outside your territories", field)


def communities_held(scope: Territories) -> Any:
    """The ids of the communities `scope` holds, as a subquery for `column.in_(...)`; None
    for the city (no filter)."""
    if scope.city:
        return None
    return select(Community.id).where(or_(  # type: ignore[call-overload]
        col(Community.id).in_(sorted(scope.community_ids)),
        col(Community.subdistrict_id).in_(sorted(scope.subdistrict_ids))))
