"""The one table of who may see which rows: every list, node look-up, map layer, tile,
figure, subscription event and mutation target filters through it.

Each `Kind` of row has ONE SQL condition (`visible_sql(kind, alias)`), on the row's table
under `alias`, whose parameters come from `visible_params(viewer)`. The same text serves the
raw-SQL readers (map layers, tiles, satisfaction, assessments) and, through
`visible_clause`, the SQLAlchemy ones (paged lists, figures); `visible_ids` checks rows
already loaded (node look-ups, nested links, mutation targets) with it in one statement.
A rule that finds a territory's rows from the territory down may also be written row by row
for those checks (`_ROW_BY_ROW`: the same rows, held to the list form by the tests).

The rules, by caller:
- city-wide staff (a CITY account, the `gridsteward token --admin` token): every row;
- staff of subdistricts or communities: the rows of the communities within their
  territories (a subdistrict stands for its communities, resolved when the caller is loaded:
  `Viewer.communities`); a row without a community (a building outside every grid, a
  request OUT_OF_AREA, a member with no place) is for city-wide staff only;
- members and grid workers keep their rights: the places and members of the whole map
  (phones masked: `domain.access`), the requests assigned to them or in the grids they serve;
- anonymous callers: nothing (the anonymous fields read no kind).
"""

from __future__ import annotations

import enum
from collections.abc import Iterable
from typing import Any

from sqlalchemy import text, true
from sqlalchemy.ext.asyncio import AsyncSession

from domain.access import Territories, Viewer


class Kind(enum.Enum):
    """What a row is, for the rule that filters it."""

    SUBDISTRICT = "subdistrict"
    COMMUNITY = "community"
    GRID = "grid"
    BUILDING = "building"
    BUILDING_GROUP = "building_group"
    MEMBER = "member"
    #: A member whose phone a caller may read whole: its owner, the grid workers of the
    #: grids of its group, home or service, staff of those grids' communities.
    MEMBER_PHONE = "member_phone"
    SERVICE_REQUEST = "service_request"
    #: A request whose figures a caller may count (satisfaction): as SERVICE_REQUEST, but a
    #: member counts every request they ever served (a timeline event names them).
    SERVED_REQUEST = "served_request"
    STAFF_ACCOUNT = "staff_account"
    AUDIT_ENTRY = "audit_entry"
    OUTBOUND_MESSAGE = "outbound_message"
    ASSESSMENT = "member_assessment"
    #: A partner organisation (共建单位, domain.organisation): staff of its community.
    ORGANISATION = "organisation"


#: The table each kind is stored in (what `visible_ids` reads).
TABLES: dict[Kind, str] = {kind: kind.value for kind in Kind}
TABLES[Kind.SERVED_REQUEST] = "service_request"
TABLES[Kind.MEMBER_PHONE] = "member"

_ALL = "CAST(:v_all AS boolean)"
_MAP = "NOT CAST(:v_staff AS boolean)"  # members and grid workers see the whole map
_SUBDISTRICTS = "CAST(:v_subdistricts AS integer[])"
#: The communities within the territories: those named, and those of the subdistricts named
#: (so the rule holds for a scope whose subdistricts were not resolved into communities).
_COMMUNITIES = (f"ARRAY(SELECT c.id FROM community c WHERE c.id = ANY(CAST(:v_communities "
                f"AS integer[])) OR c.subdistrict_id = ANY({_SUBDISTRICTS}))")
#: The same, public: the communities a caller administers, as an array (roll-ups key by them).
COMMUNITIES_SQL = _COMMUNITIES
_GRIDS = "CAST(:v_grids AS integer[])"
#: The grids within the territories. The communities are a semi-join here, not the array
#: above: the planner then knows how few they are (one community's 50 grids, not a guessed
#: fifth of the city) and reaches the buildings, groups and grid workers of those grids
#: through their grid_id indexes, where with the array it hashed every building and group of
#: the city for each member list (45 ms at 100,000 buildings, growing with the city).
_GRID_IN = (f"SELECT g.id FROM grid g WHERE g.community_id IN (SELECT c.id FROM community c "
            f"WHERE c.id = ANY(CAST(:v_communities AS integer[])) OR c.subdistrict_id = "
            f"ANY({_SUBDISTRICTS}))")

#: The ids of the members of the territories (Kind.MEMBER's rule for their staff, and what
#: `domain.spatial.directory` pages them by): their communities' rows of member_community.
MEMBERS_WITHIN_SQL = (f"SELECT mc.member_id FROM member_community mc WHERE mc.community_id = "
                      f"ANY({_COMMUNITIES})")

#: Within territories, per kind, on `{a}` (the alias): what staff of some communities see.
_WITHIN: dict[Kind, str] = {
    Kind.SUBDISTRICT: f"({{a}}.id = ANY({_SUBDISTRICTS}) OR {{a}}.id IN (SELECT c.subdistrict_id "
                      f"FROM community c WHERE c.id = ANY({_COMMUNITIES})))",
    Kind.COMMUNITY: f"{{a}}.id = ANY({_COMMUNITIES})",
    Kind.GRID: f"{{a}}.community_id = ANY({_COMMUNITIES})",
    Kind.BUILDING: f"{{a}}.grid_id IN ({_GRID_IN})",
    Kind.BUILDING_GROUP: f"{{a}}.grid_id IN ({_GRID_IN})",
    # The members of the territory's grids (by their group, their home, their grid work),
    # kept per community by triggers (member_community, migration 0022): one index range of
    # (community_id, member_id), where the UNION of the grids' groups, buildings and grid
    # workers took 2,500 look-ups for one community and ~150 ms for a subdistrict at 10x.
    Kind.MEMBER: f"{{a}}.id IN ({MEMBERS_WITHIN_SQL})",
    Kind.SERVICE_REQUEST: f"{{a}}.community_id = ANY({_COMMUNITIES})",
    Kind.SERVED_REQUEST: f"{{a}}.community_id = ANY({_COMMUNITIES})",
    Kind.STAFF_ACCOUNT: (f"CAST(:v_staff AS boolean) AND NOT EXISTS (SELECT 1 FROM "
                         f"account_territory t WHERE t.account_id = {{a}}.id AND (t.level = "
                         f"'CITY' OR (t.level = 'SUBDISTRICT' AND NOT "
                         f"t.subdistrict_id = ANY({_SUBDISTRICTS})) OR (t.level = 'COMMUNITY' "
                         f"AND NOT t.community_id = ANY({_COMMUNITIES}))))"),
    Kind.AUDIT_ENTRY: f"{{a}}.community_id = ANY({_COMMUNITIES})",
    Kind.OUTBOUND_MESSAGE: (f"({{a}}.request_id IN (SELECT r.id FROM service_request r WHERE "
                            f"r.community_id = ANY({_COMMUNITIES})) OR {{a}}.member_id IN "
                            f"(SELECT m.id FROM member m WHERE {{member}}))"),
    Kind.ASSESSMENT: f"{{a}}.community_id = ANY({_COMMUNITIES})",
    Kind.ORGANISATION: f"{{a}}.community_id = ANY({_COMMUNITIES})",
}

#: Rules of `_WITHIN` written row by row, for checking rows already loaded (`visible_ids`):
#: the same rows, reached from each row up to its grids rather than from the territory down
#: to its rows. A list needs the territory-down form (one community's few members among a
#: city's, by index); a check of a page's 50 ids with it still read every member of the
#: territory (1,350 index look-ups for one community, ten times that for a subdistrict:
#: 6 ms a check), where this reads the 50 rows' communities (member_community by member_id).
#: tests/schema/test_territory_matrix.py holds each to its list form.
_ROW_BY_ROW: dict[Kind, str] = {
    Kind.MEMBER: (f"EXISTS (SELECT 1 FROM member_community mc WHERE mc.member_id = {{a}}.id "
                  f"AND mc.community_id = ANY({_COMMUNITIES}))"),
}

#: What members and grid workers see besides, per kind ("today's rights").
_OWN: dict[Kind, str] = {
    kind: _MAP for kind in (Kind.SUBDISTRICT, Kind.COMMUNITY, Kind.GRID, Kind.BUILDING,
                            Kind.BUILDING_GROUP, Kind.MEMBER)}
_WITHIN[Kind.MEMBER_PHONE] = _WITHIN[Kind.MEMBER]
_ROW_BY_ROW[Kind.MEMBER_PHONE] = _ROW_BY_ROW[Kind.MEMBER]
_OWN |= {
    Kind.MEMBER_PHONE: (f"{{a}}.id = :v_member OR {{a}}.group_id IN (SELECT bg.id FROM "
                        f"building_group bg WHERE bg.grid_id = ANY({_GRIDS})) OR {{a}}.building_id "
                        f"IN (SELECT b.id FROM building b WHERE b.grid_id = ANY({_GRIDS})) OR "
                        f"{{a}}.id IN (SELECT gw.member_id FROM grid_worker gw WHERE gw.grid_id = "
                        f"ANY({_GRIDS}))"),
    Kind.SERVICE_REQUEST: f"{{a}}.assignee_id = :v_member OR {{a}}.grid_id = ANY({_GRIDS})",
    Kind.SERVED_REQUEST: (f"{{a}}.grid_id = ANY({_GRIDS}) OR EXISTS (SELECT 1 FROM request_event "
                          "v WHERE v.request_id = {a}.id AND v.member_id = :v_member)"),
    Kind.ASSESSMENT: (f"{{a}}.member_id = :v_member OR {{a}}.member_id IN (SELECT m.id FROM "
                      f"member m LEFT JOIN building_group bg ON bg.id = m.group_id WHERE "
                      f"bg.grid_id = ANY({_GRIDS}) OR m.id IN (SELECT gw.member_id FROM "
                      f"grid_worker gw WHERE gw.grid_id = ANY({_GRIDS})))"),
}

#: Kinds every member and grid worker sees whole (the map, its places and people).
MAP_KINDS = frozenset(kind for kind, rule in _OWN.items() if rule == _MAP)


def _within(kind: Kind, alias: str, by_row: bool) -> str:
    rules = _ROW_BY_ROW if by_row and kind in _ROW_BY_ROW else _WITHIN
    return rules[kind].format(a=alias, member=_WITHIN[Kind.MEMBER].format(a="m"))


def visible_sql(kind: Kind, alias: str, *, by_row: bool = False) -> str:
    """The rule of `kind` as a SQL condition on its table under `alias`; bind
    `visible_params(viewer)`. Never NULL (so NOT works). `by_row`: written for checking a few
    rows already known (`visible_ids`), not for finding them among a table's."""
    parts = [_ALL, f"COALESCE({_within(kind, alias, by_row)}, false)"]
    if kind in _OWN:
        parts.append(f"COALESCE({_OWN[kind].format(a=alias)}, false)")
    return "(" + " OR ".join(parts) + ")"


def visible_params(viewer: Viewer | None) -> dict[str, Any]:
    """The parameters of every `visible_sql`: nothing visible without a viewer."""
    if viewer is None:
        return {"v_all": False, "v_staff": False, "v_member": None, "v_grids": [],
                "v_communities": [], "v_subdistricts": []}
    scope = viewer.scope
    return {"v_all": scope.city, "v_staff": viewer.staff, "v_member": viewer.member_id,
            "v_grids": sorted(viewer.grid_ids),
            "v_communities": sorted(scope.community_ids | viewer.communities),
            "v_subdistricts": sorted(scope.subdistrict_ids)}


def members_within(viewer: Viewer) -> tuple[str, dict[str, Any]]:
    """The ids of the members of `viewer`'s territories (what Kind.MEMBER's rule lets staff
    of territories see; a member of two of them twice), as SQL and its parameters: one index
    range of member_community a community, no read of member."""
    return MEMBERS_WITHIN_SQL, _params_in(MEMBERS_WITHIN_SQL, viewer)


def staff_of(scope: Territories) -> Viewer:
    """A staff caller administering `scope` (for domain functions given territories only:
    the command line is CITY)."""
    return Viewer(admin=scope.city, territories=scope, account_id=0 if not scope.city else None)


def sees_all(viewer: Viewer | None, kind: Kind) -> bool:
    """Whether `viewer` sees every row of `kind` (no filter, no check needed): city-wide
    staff; anyone but staff of territories for the map's kinds (the fields open to
    anonymous callers, such as coverage, show places only)."""
    if viewer is None:
        return kind in MAP_KINDS
    return viewer.admin or (kind in MAP_KINDS and not viewer.staff)


def condition(viewer: Viewer | None, kind: Kind, alias: str, *, by_row: bool = False) -> str:
    """`visible_sql`, or TRUE when the viewer sees every row (a plan without the OR), or for
    staff of territories their rule alone (`where_sql`). For a WHERE clause: it may be NULL
    where the row is not visible. `by_row`: as `visible_sql`'s."""
    if sees_all(viewer, kind):
        return "TRUE"
    if territorial_only(viewer):
        return where_sql(kind, alias, by_row=by_row)
    return visible_sql(kind, alias, by_row=by_row)


def where_sql(kind: Kind, alias: str, *, by_row: bool = False) -> str:
    """What staff of territories see of `kind`, alone: the other parts of `visible_sql` are
    false for them, and without the OR and COALESCE around it the planner can take an IN
    rule as a semi-join (a community's members counted through their groups, homes and
    grids: 26 ms for 700 of 280,000 members with the OR, which tested every member)."""
    return "(" + _within(kind, alias, by_row) + ")"


def territorial_only(viewer: Viewer | None) -> bool:
    """Staff of territories, and nothing else: neither a member nor a grid worker (their
    rows are exactly those of their communities)."""
    return viewer is not None and viewer.territorial and viewer.member_id is None \
        and not viewer.grid_ids


def _params_in(sql: str, viewer: Viewer | None) -> dict[str, Any]:
    """The `visible_params` that `sql` names."""
    return {key: value for key, value in visible_params(viewer).items() if f":{key}" in sql}


def visible_clause(viewer: Viewer | None, kind: Kind, table: Any) -> Any:
    """The rule as a SQLAlchemy condition on `table` (a model, or its name), for
    `select(...).where(...)`; `true()` when the viewer sees every row. Its parameters are
    named `v_*`: a statement may use it more than once, for the same viewer."""
    if sees_all(viewer, kind):
        return true()
    name = table if isinstance(table, str) else table.__tablename__
    sql = condition(viewer, kind, name)
    return text(sql).bindparams(**_params_in(sql, viewer))


def check_sql(viewer: Viewer | None, kind: Kind) -> str:
    """The condition `visible_ids` checks rows of `kind` with, on alias `a`. Kinds whose
    check is the same text for `viewer` (a member and their phone, for staff of territories)
    are the same check: one statement answers both."""
    return condition(viewer, kind, "a", by_row=True)


async def visible_ids(session: AsyncSession, viewer: Viewer | None, kind: Kind,
                      ids: Iterable[int]) -> set[int]:
    """Which of `ids` (rows of `kind`) `viewer` may see: one statement (none when the viewer
    sees every row), the rule taken row by row."""
    wanted = sorted(set(ids))
    if not wanted or sees_all(viewer, kind):
        return set(wanted)
    sql = check_sql(viewer, kind)
    rows = await session.execute(text(
        f"SELECT a.id FROM {TABLES[kind]} a WHERE a.id = ANY(CAST(:ids AS bigint[])) "
        f"AND {sql}"), {"ids": wanted, **_params_in(sql, viewer)})
    return {int(pk) for pk in rows.scalars()}


def sees_request(viewer: Viewer, *, community_id: int | None, assignee_id: int | None,
                 grid_id: int | None) -> bool:
    """The SERVICE_REQUEST rule for a row already loaded (the same rule as its SQL): city-wide
    staff, staff administering its community, its assignee, the grid workers of its grid."""
    if viewer.administers(community_id):
        return True
    if viewer.member_id is not None and assignee_id == viewer.member_id:
        return True
    return grid_id is not None and grid_id in viewer.grid_ids
