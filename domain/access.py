"""Who is asking, and what personal data they may see.

Phone numbers are personal data: administrators see them all; a grid worker sees those of the
people in the grids they serve; a member sees their own; everyone else sees 138****5678.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

_MEMBER_GRIDS = text("""
SELECT m.status, COALESCE(array_agg(gw.grid_id) FILTER (WHERE gw.grid_id IS NOT NULL), '{}')
FROM member m LEFT JOIN grid_worker gw ON gw.member_id = m.id
WHERE m.id = :id GROUP BY m.id""")


@dataclass(frozen=True)
class Viewer:
    """The caller of a request, as established from its bearer token."""

    admin: bool = False
    member_id: int | None = None
    grid_ids: frozenset[int] = field(default_factory=frozenset)  # grids they serve as grid worker

    @property
    def authenticated(self) -> bool:
        return self.admin or self.member_id is not None


ANONYMOUS = Viewer()


async def load_viewer(session: AsyncSession, *, admin: bool, member_id: int | None) -> Viewer:
    """The caller a verified token names: an administrator, or a member with the grids they
    serve as grid worker; a member who left (EXITED) or no longer exists is anonymous."""
    if admin:
        return Viewer(admin=True)
    if member_id is None:
        return ANONYMOUS
    row = (await session.execute(_MEMBER_GRIDS, {"id": member_id})).first()
    if row is None or row[0] == "EXITED":
        return ANONYMOUS
    return Viewer(member_id=member_id, grid_ids=frozenset(row[1]))


def mask_phone(phone: str | None) -> str | None:
    """138****5678: the first three and last four digits, the rest hidden."""
    if not phone:
        return phone
    if len(phone) <= 7:
        return "*" * len(phone)
    return f"{phone[:3]}{'*' * (len(phone) - 7)}{phone[-4:]}"


def can_see_phone(viewer: Viewer, *, owner_member_id: int | None,
                  grid_ids: Iterable[int | None]) -> bool:
    """Whether `viewer` may read a phone belonging to someone in `grid_ids`."""
    if viewer.admin:
        return True
    if owner_member_id is not None and owner_member_id == viewer.member_id:
        return True
    return any(grid_id in viewer.grid_ids for grid_id in grid_ids if grid_id is not None)


def visible_phone(viewer: Viewer, phone: str | None, *, owner_member_id: int | None = None,
                  grid_ids: Iterable[int | None] = ()) -> str | None:
    """The phone as `viewer` may see it: whole, or masked."""
    if can_see_phone(viewer, owner_member_id=owner_member_id, grid_ids=grid_ids):
        return phone
    return mask_phone(phone)
