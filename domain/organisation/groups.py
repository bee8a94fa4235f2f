"""Building groups (楼栋党小组) as staff form and change them.

A group serves adjacent buildings of one grid (each within ADJACENT_METRES of another of the
group, all connected), each building in one group at most; its leader is an ACTIVE member
living in one of them. Creating or changing a group sets the buildings' group and that of the
members living there who have none (or had this one). Two staff changing one group at once:
the first holds the group's row until it commits, the second is told CONFLICT at once (NOWAIT)
and changes nothing. Recorded as BUILDING_GROUP_CREATED / BUILDING_GROUP_UPDATED, before and
after.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncSession

from domain.access import Viewer
from domain.errors import InvalidInput, UserError
from domain.organisation import within
from domain.organisation.member_update import KEEP
from domain.people.audit import record
from domain.spatial.models import BuildingGroup, Grid, Member, MemberRole, MemberStatus

#: How far apart (metres, between footprints or points) two buildings of a group may be and
#: still count as adjacent: across a lane or a courtyard, not across a block.
ADJACENT_METRES = 150.0

#: Locked, so that two staff putting one building into two groups take turns: the second
#: then reads the first's group and is told IN_ANOTHER_GROUP.
_BUILDINGS = text("""
    SELECT b.id, b.code, b.grid_id, b.group_id FROM building b WHERE b.id = ANY(:ids)
    ORDER BY b.id FOR UPDATE""")
_DISTANCES = text("""
    SELECT a.id AS a, b.id AS b FROM building a JOIN building b ON a.id < b.id
    WHERE a.id = ANY(:ids) AND b.id = ANY(:ids)
      AND ST_DWithin(COALESCE(a.footprint, a.location)::geography,
                     COALESCE(b.footprint, b.location)::geography, :metres)""")
_LOCK = text("SELECT id FROM building_group WHERE id = :id FOR UPDATE NOWAIT")


@dataclass(frozen=True)
class NewGroup:
    """What createBuildingGroup accepts, ids decoded."""

    code: str
    name: str
    grid_id: int
    building_ids: list[int]
    leader_id: int | None = None


@dataclass(frozen=True)
class GroupChange:
    """What updateBuildingGroup changes; KEEP leaves a field alone (leader None: none)."""

    name: Any = KEEP
    building_ids: Any = KEEP
    leader_id: Any = KEEP


def _check_text(value: str, limit: int, field: str) -> list[UserError]:
    stripped = value.strip()
    if not stripped or len(stripped) > limit:
        return [UserError("INVALID_VALUE", f"1 to {limit} characters", field)]
    return []


async def _check_buildings(session: AsyncSession, ids: Sequence[int], grid_id: int,
                           group_id: int | None, field: str) -> list[UserError]:
    """Each building exists, once, in the grid, in no other group; all adjacent."""
    if not ids:
        return [UserError("REQUIRED", "a group serves at least one building", field)]
    rows = {r.id: r for r in await session.execute(_BUILDINGS, {"ids": list(ids)})}
    errors, seen = [], set()
    for i, pk in enumerate(ids):
        row, where = rows.get(pk), f"{field}[{i}]"
        if pk in seen:
            errors.append(UserError("DUPLICATE", "this building is listed twice", where))
        elif row is None:
            errors.append(UserError("NOT_FOUND", "no building has this id", where))
        elif row.grid_id != grid_id:
            errors.append(UserError("OTHER_GRID", f'building "{row.code}" lies in another '
                                    "grid: a group's buildings are of one grid", where))
        elif row.group_id not in (None, group_id):
            errors.append(UserError("IN_ANOTHER_GROUP", f'building "{row.code}" is served by '
                                    "another group already", where))
        seen.add(pk)
    if errors:
        return errors
    return await _check_adjacent(session, list(ids), rows, field)


async def _check_adjacent(session: AsyncSession, ids: list[int], rows: dict[int, Any],
                          field: str) -> list[UserError]:
    """All buildings connected by steps of at most ADJACENT_METRES, from the first."""
    near: dict[int, set[int]] = {pk: set() for pk in ids}
    for pair in await session.execute(_DISTANCES, {"ids": ids, "metres": ADJACENT_METRES}):
        near[pair.a].add(pair.b)
        near[pair.b].add(pair.a)
    reached, todo = {ids[0]}, [ids[0]]
    while todo:
        for other in near[todo.pop()] - reached:
            reached.add(other)
            todo.append(other)
    return [UserError("NOT_ADJACENT", f'building "{rows[pk].code}" is more than '
                      f"{ADJACENT_METRES:.0f} m from the group's other buildings",
                      f"{field}[{i}]") for i, pk in enumerate(ids) if pk not in reached]


async def _check_leader(session: AsyncSession, leader_id: int | None,
                        building_ids: Sequence[int], field: str) -> list[UserError]:
    if leader_id is None:
        return []
    leader = await session.get(Member, leader_id)
    if leader is None:
        return [UserError("NOT_FOUND", "no member has this id", field)]
    if leader.status != MemberStatus.ACTIVE.value:
        return [UserError("INVALID_STATUS", f"the leader must be ACTIVE, not {leader.status}",
                          field)]
    if leader.building_id not in building_ids:
        return [UserError("NOT_RESIDENT", "the leader must live in one of the group's "
                          "buildings", field)]
    return []


async def create_building_group(session: AsyncSession, *, viewer: Viewer, new: NewGroup,
                                actor: str, where: str = "input") -> BuildingGroup:
    """A new group of buildings within the caller's territories; InvalidInput naming every
    wrong field."""
    errors = _check_text(new.code, 64, f"{where}.code") + _check_text(new.name, 200,
                                                                      f"{where}.name")
    if not errors and (await session.execute(text(
            "SELECT 1 FROM building_group WHERE code = :c"), {"c": new.code.strip()})).first():
        errors.append(UserError("CODE_TAKEN", f"the code {new.code.strip()!r} is taken",
                                f"{where}.code"))
    grid = await session.get(Grid, new.grid_id)
    if grid is None:
        raise InvalidInput([*errors, UserError("NOT_FOUND", "no grid has this id",
                                               f"{where}.gridId")])
    within.require(viewer, grid.community_id, f"{where}.gridId")
    errors += await _check_buildings(session, new.building_ids, new.grid_id, None,
                                     f"{where}.buildingIds")
    errors += await _check_leader(session, new.leader_id, new.building_ids, f"{where}.leaderId")
    if errors:
        raise InvalidInput(errors)
    group = BuildingGroup(code=new.code.strip(), name=new.name.strip(), grid_id=new.grid_id)
    session.add(group)
    await session.flush()
    await _serve(session, group.id or 0, new.building_ids, [])
    await _lead(session, group, new.leader_id)
    await record(session, actor=actor, action="BUILDING_GROUP_CREATED",
                 subject=("BuildingGroup", group.id or 0), community_id=grid.community_id,
                 detail={"after": await _snapshot(session, group)})
    return group


async def update_building_group(session: AsyncSession, *, viewer: Viewer, group_id: int,
                                change: GroupChange, actor: str,
                                where: str = "input") -> BuildingGroup:
    """Change a group's name, buildings (replaced) or leader; CONFLICT naming `id` while
    another change to the group is under way."""
    await _lock(session, group_id)
    group = await session.get(BuildingGroup, group_id)
    if group is None:
        raise InvalidInput.one("NOT_FOUND", "no building group has this id", "id")
    community = await within.community_of(session, within.GROUP_COMMUNITY, group_id)
    within.require(viewer, community, "id")
    before = await _snapshot(session, group)
    errors = [] if change.name is KEEP else _check_text(change.name, 200, f"{where}.name")
    buildings = before["buildings"] if change.building_ids is KEEP else change.building_ids
    if change.building_ids is not KEEP:
        errors += await _check_buildings(session, buildings, group.grid_id or 0, group_id,
                                         f"{where}.buildingIds")
    leader = group.leader_id if change.leader_id is KEEP else change.leader_id
    leader_field = f"{where}.leaderId" if change.leader_id is not KEEP else \
        f"{where}.buildingIds"
    errors += await _check_leader(session, leader, buildings, leader_field)
    if errors:
        raise InvalidInput(errors)
    if change.name is not KEEP:
        group.name = change.name.strip()
    if change.building_ids is not KEEP:
        await _serve(session, group_id, buildings, before["buildings"])
    await _lead(session, group, leader)
    await record(session, actor=actor, action="BUILDING_GROUP_UPDATED",
                 subject=("BuildingGroup", group_id), community_id=community,
                 detail={"before": before, "after": await _snapshot(session, group)})
    return group


async def _lock(session: AsyncSession, group_id: int) -> None:
    try:
        await session.execute(_LOCK, {"id": group_id})
    except DBAPIError as exc:
        if getattr(exc.orig, "sqlstate", None) != "55P03":  # lock_not_available
            raise
        raise InvalidInput.one("CONFLICT", "another change to this group is under way; "
                               "reload it and try again", "id") from None


async def _serve(session: AsyncSession, group_id: int, building_ids: Sequence[int],
                 previous: Sequence[int]) -> None:
    """The group serves exactly `building_ids`; residents without a group (or of this one,
    living in a building it no longer serves) follow their building."""
    params = {"group": group_id, "ids": list(building_ids), "old": list(previous)}
    await session.execute(text("""
        UPDATE building SET group_id = NULL
        WHERE group_id = :group AND id <> ALL(:ids)"""), params)
    await session.execute(text("UPDATE building SET group_id = :group WHERE id = ANY(:ids)"),
                          params)
    await session.execute(text("""
        UPDATE member SET group_id = NULL
        WHERE group_id = :group AND building_id = ANY(:old) AND building_id <> ALL(:ids)"""),
        params)
    await session.execute(text("""
        UPDATE member SET group_id = :group
        WHERE group_id IS NULL AND building_id = ANY(:ids)"""), params)


async def _lead(session: AsyncSession, group: BuildingGroup, leader_id: int | None) -> None:
    """`leader_id` leads the group (and is of it, with the GROUP_LEADER role)."""
    group.leader_id = leader_id
    await session.flush()
    if leader_id is not None:
        await session.execute(text("""
            UPDATE member SET group_id = :group,
                roles = ARRAY(SELECT DISTINCT r FROM unnest(
                    array_append(roles, CAST(:role AS text))) r ORDER BY r)
            WHERE id = :id"""), {"group": group.id, "id": leader_id,
                                 "role": MemberRole.GROUP_LEADER.value})


async def _snapshot(session: AsyncSession, group: BuildingGroup) -> dict[str, Any]:
    ids = (await session.execute(text(
        "SELECT id FROM building WHERE group_id = :g ORDER BY id"), {"g": group.id})).scalars()
    return {"code": group.code, "name": group.name, "grid": group.grid_id,
            "leader": group.leader_id, "buildings": list(ids)}
