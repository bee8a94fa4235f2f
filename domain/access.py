"""Who is asking, and what personal data they may see.

Phone numbers are personal data: administrators see them all; a grid worker sees those of the
people in the grids they serve; a member sees their own; everyone else sees 138****5678.

`admin` means city-wide staff (a CITY account, or the `gridsteward token --admin` token of
scripts and tests). A staff account of some subdistricts or communities carries them in
`territories`, and in `communities` every community within them (a subdistrict's resolved
when the caller is loaded), so that each check is "community in `communities`, or city-wide":
`administers`. Which rows each caller sees: domain.visibility, the one table of those rules.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

_SESSION = text("""
SELECT s.account_id, s.member_id FROM auth_session s
LEFT JOIN staff_account a ON a.id = s.account_id
LEFT JOIN member m ON m.id = s.member_id
WHERE s.id = :id AND s.revoked_at IS NULL
  AND (a.active OR (m.id IS NOT NULL AND m.status <> 'EXITED'))""")
_TERRITORIES = text("""
SELECT bool_or(t.level = 'CITY') AS city,
       COALESCE(array_agg(t.subdistrict_id) FILTER (WHERE t.subdistrict_id IS NOT NULL), '{}')
         AS subdistricts,
       COALESCE(array_agg(t.community_id) FILTER (WHERE t.community_id IS NOT NULL), '{}')
         AS communities,
       ARRAY(SELECT c.id FROM community c
             WHERE c.id = ANY(array_agg(t.community_id))
                OR c.subdistrict_id = ANY(array_agg(t.subdistrict_id))) AS within
FROM account_territory t WHERE t.account_id = :id""")
_MEMBER_GRIDS = text("""
SELECT m.status, COALESCE(array_agg(gw.grid_id) FILTER (WHERE gw.grid_id IS NOT NULL), '{}')
FROM member m LEFT JOIN grid_worker gw ON gw.member_id = m.id
WHERE m.id = :id GROUP BY m.id""")


@dataclass(frozen=True)
class Territories:
    """Where a staff account administers: the whole city, or these subdistricts and
    communities (a subdistrict includes its communities)."""

    city: bool = False
    subdistrict_ids: frozenset[int] = field(default_factory=frozenset)
    community_ids: frozenset[int] = field(default_factory=frozenset)

    @property
    def empty(self) -> bool:
        return not (self.city or self.subdistrict_ids or self.community_ids)


NOWHERE = Territories()
CITY = Territories(city=True)


@dataclass(frozen=True)
class Viewer:
    """The caller of a request, as established from its bearer token and, for a signed-in
    account or member, its session."""

    admin: bool = False  # city-wide staff
    member_id: int | None = None
    grid_ids: frozenset[int] = field(default_factory=frozenset)  # grids they serve as grid worker
    account_id: int | None = None
    session_id: int | None = None
    territories: Territories = NOWHERE
    #: Every community within `territories` (those of its subdistricts included).
    communities: frozenset[int] = field(default_factory=frozenset)

    @property
    def authenticated(self) -> bool:
        return self.staff or self.member_id is not None

    @property
    def staff(self) -> bool:
        """A staff account (of any territory) or the city-wide administrator token."""
        return self.admin or self.account_id is not None

    @property
    def scope(self) -> Territories:
        """Where the caller administers: CITY for `admin`, nowhere for a member."""
        return CITY if self.admin else self.territories

    @property
    def territorial(self) -> bool:
        """Staff whose rights end at their territories (not city-wide)."""
        return self.staff and not self.admin

    def administers(self, community_id: int | None) -> bool:
        """Whether the caller administers this community: city-wide staff every one (and
        what lies in none), staff of territories those within them, others none."""
        return self.admin or (community_id is not None and community_id in self.communities)


ANONYMOUS = Viewer()
#: The caller `gridsteward token --admin` speaks for: city-wide, no account.
CITY_ADMIN = Viewer(admin=True, territories=CITY)


async def load_viewer(session: AsyncSession, *, admin: bool, member_id: int | None,
                      account_id: int | None = None, session_id: int | None = None) -> Viewer:
    """The caller a verified token names. A token of a session counts only while the session
    is not revoked, its account is active and its member has not left (EXITED): otherwise the
    caller is anonymous at once, whatever the token's expiry says. A member comes with the
    grids they serve as grid worker, an account with its territories."""
    if admin:
        return CITY_ADMIN
    if session_id is not None:
        row = (await session.execute(_SESSION, {"id": session_id})).first()
        if row is None or (row.account_id, row.member_id) != (account_id, member_id):
            return ANONYMOUS
    if account_id is not None:
        if session_id is None:
            return ANONYMOUS  # account tokens are issued for sessions only
        return await _account_viewer(session, account_id, session_id)
    if member_id is None:
        return ANONYMOUS
    member = (await session.execute(_MEMBER_GRIDS, {"id": member_id})).first()
    if member is None or member[0] == "EXITED":
        return ANONYMOUS
    return Viewer(member_id=member_id, grid_ids=frozenset(member[1]), session_id=session_id)


async def _account_viewer(session: AsyncSession, account_id: int, session_id: int) -> Viewer:
    row = (await session.execute(_TERRITORIES, {"id": account_id})).one()
    territories = Territories(city=bool(row.city), subdistrict_ids=frozenset(row.subdistricts),
                              community_ids=frozenset(row.communities))
    return Viewer(admin=territories.city, account_id=account_id, session_id=session_id,
                  territories=territories, communities=frozenset(row.within))


def mask_phone(phone: str | None) -> str | None:
    """138****5678: the first three and last four digits, the rest hidden."""
    if not phone:
        return phone
    if len(phone) <= 7:
        return "*" * len(phone)
    return f"{phone[:3]}{'*' * (len(phone) - 7)}{phone[-4:]}"


def can_see_phone(viewer: Viewer, *, owner_member_id: int | None,
                  grid_ids: Iterable[int | None] = (),
                  community_ids: Iterable[int | None] = ()) -> bool:
    """Whether `viewer` may read a phone belonging to someone in `grid_ids` (the grids of
    their group, home and service) and `community_ids` (those grids' communities): its
    owner, the grid workers of those grids, staff administering one of those communities."""
    if viewer.admin:
        return True
    if owner_member_id is not None and owner_member_id == viewer.member_id:
        return True
    if any(viewer.administers(c) for c in community_ids if c is not None):
        return True
    return any(grid_id in viewer.grid_ids for grid_id in grid_ids if grid_id is not None)


def visible_phone(viewer: Viewer, phone: str | None, *, owner_member_id: int | None = None,
                  grid_ids: Iterable[int | None] = (),
                  community_ids: Iterable[int | None] = ()) -> str | None:
    """The phone as `viewer` may see it: whole, or masked."""
    if can_see_phone(viewer, owner_member_id=owner_member_id, grid_ids=grid_ids,
                     community_ids=community_ids):
        return phone
    return mask_phone(phone)
