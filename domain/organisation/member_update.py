"""updateMember: change only the fields given, with createMember's checks, within the caller's
territories.

A link (building, group, organisation) or the phone given as null is removed; any other field
given as null is left as it is. The member must lie within the caller's territories, and so
must the building and group they move to; moving to another community takes a caller holding
both (an administrator of both, or of a territory above them). Recorded as MEMBER_UPDATED,
before and after.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from domain.access import Viewer
from domain.errors import InvalidInput, UserError
from domain.organisation import within
from domain.organisation.models import Organisation
from domain.people.audit import record
from domain.spatial.members import snapshot
from domain.spatial.models import Building, BuildingGroup, Member, MemberRole
from domain.spatial.phone import normalize_mobile


class _Keep:
    """A field not given: the value stays as it is."""

    def __repr__(self) -> str:
        return "KEEP"


KEEP: Any = _Keep()


@dataclass
class MemberChange:
    """What updateMember changes; KEEP (the default) leaves a field alone."""

    name: Any = KEEP
    phone: Any = KEEP
    party_member: Any = KEEP
    roles: Any = KEEP
    skills: Any = KEEP
    building_id: Any = KEEP
    group_id: Any = KEEP
    organisation_id: Any = KEEP
    publish_phone: Any = KEEP

    def is_given(self, name: str) -> bool:
        return getattr(self, name) is not KEEP


def _check_values(change: MemberChange, where: str) -> list[UserError]:
    errors = []
    if change.is_given("name") and change.name is not None:
        name = change.name.strip()
        if not name or len(name) > 100:
            errors.append(UserError("INVALID_VALUE", "a name has 1 to 100 characters",
                                    f"{where}.name"))
    if change.is_given("phone") and change.phone and normalize_mobile(change.phone) is None:
        errors.append(UserError("INVALID_PHONE", "phone must be a mainland mobile number "
                                "(11 digits starting with 1, e.g. 13812345678)",
                                f"{where}.phone"))
    return errors


async def _links(session: AsyncSession, member: Member, change: MemberChange,
                 where: str) -> tuple[Building | None, BuildingGroup | None, list[UserError]]:
    """The building and group the member will have, and what is wrong with them."""
    errors: list[UserError] = []
    building_id = member.building_id if not change.is_given("building_id") else change.building_id
    group_id = member.group_id if not change.is_given("group_id") else change.group_id
    building = None if building_id is None else await session.get(Building, building_id)
    group = None if group_id is None else await session.get(BuildingGroup, group_id)
    if building_id is not None and building is None:
        errors.append(UserError("NOT_FOUND", "no building has this id", f"{where}.buildingId"))
    if group_id is not None and group is None:
        errors.append(UserError("NOT_FOUND", "no building group has this id",
                                f"{where}.buildingGroupId"))
    if building and group and group.grid_id is not None and building.grid_id != group.grid_id:
        errors.append(UserError("INVALID_VALUE", f'building "{building.code}" lies outside the '
                                f'grid of group "{group.code}"', f"{where}.buildingGroupId"))
    elif building and group and building.group_id not in (None, group.id):
        errors.append(UserError("INVALID_VALUE", f'building "{building.code}" is served by '
                                f'another group, not "{group.code}"', f"{where}.buildingGroupId"))
    if change.is_given("organisation_id") and change.organisation_id is not None and \
            await session.get(Organisation, change.organisation_id) is None:
        errors.append(UserError("NOT_FOUND", "no organisation has this id",
                                f"{where}.organisationId"))
    return building, group, errors


async def _check_territories(session: AsyncSession, viewer: Viewer, member: Member,
                             building: Building | None, group: BuildingGroup | None,
                             change: MemberChange, where: str) -> None:
    within.require(viewer, await within.community_of(
        session, within.MEMBER_COMMUNITY, member.id or 0), "id")
    if change.is_given("building_id") and building is not None:
        within.require(viewer, await within.community_of(
            session, within.BUILDING_COMMUNITY, building.id or 0), f"{where}.buildingId")
    if change.is_given("group_id") and group is not None:
        within.require(viewer, await within.community_of(
            session, within.GROUP_COMMUNITY, group.id or 0), f"{where}.buildingGroupId")
    if change.is_given("organisation_id") and change.organisation_id is not None:
        organisation = await session.get(Organisation, change.organisation_id)
        within.require(viewer, organisation.community_id if organisation else None,
                       f"{where}.organisationId")


async def update_member(session: AsyncSession, *, viewer: Viewer, member_id: int,
                        change: MemberChange, actor: str, where: str = "input") -> Member:
    """Apply `change` to a member within the caller's territories; InvalidInput naming every
    wrong field (nothing changed). The row is locked for the change."""
    member = await session.get(Member, member_id, with_for_update=True)
    if member is None:
        raise InvalidInput.one("NOT_FOUND", "no member has this id", "id")
    errors = _check_values(change, where)
    building, group, link_errors = await _links(session, member, change, where)
    if errors + link_errors:
        raise InvalidInput(errors + link_errors)
    await _check_territories(session, viewer, member, building, group, change, where)
    before = snapshot(member, [])
    _apply(member, change, building)
    if _drops_grid_work(change):
        await session.execute(_CLEAR_GRIDS, {"id": member_id})
    await session.flush()
    await record(session, actor=actor, action="MEMBER_UPDATED", subject=("Member", member_id),
                 detail={"before": before, "after": snapshot(member, []),
                         "fields": [f.name for f in fields(change) if change.is_given(f.name)]})
    return member


def _apply(member: Member, change: MemberChange, building: Building | None) -> None:
    if change.is_given("name") and change.name is not None:
        member.name = change.name.strip()
    if change.is_given("phone"):
        member.phone = normalize_mobile(change.phone) if change.phone else None
    for name in ("party_member", "publish_phone"):
        if change.is_given(name) and getattr(change, name) is not None:
            setattr(member, name, bool(getattr(change, name)))
    if change.is_given("roles") and change.roles is not None:
        member.roles = sorted({str(r) for r in change.roles})
    if change.is_given("skills") and change.skills is not None:
        member.skills = sorted({str(s) for s in change.skills})
    if change.is_given("building_id"):
        member.building_id = change.building_id
        if not change.is_given("group_id"):  # a move joins the new building's group
            member.group_id = building.group_id if building else None
    if change.is_given("group_id"):
        member.group_id = change.group_id
    if change.is_given("organisation_id"):
        member.organisation_id = change.organisation_id


_CLEAR_GRIDS = text("DELETE FROM grid_worker WHERE member_id = :id")


def _drops_grid_work(change: MemberChange) -> bool:
    """Whether the change takes the GRID_WORKER role away (their grids are then cleared)."""
    return change.is_given("roles") and change.roles is not None and \
        MemberRole.GRID_WORKER.value not in {str(r) for r in change.roles}
