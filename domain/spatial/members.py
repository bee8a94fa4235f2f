"""Creating members (党员 / 红色管家 / 志愿者 / 网格员), with every input checked first."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime

from sqlalchemy import text, update
from sqlalchemy.ext.asyncio import AsyncSession

from domain.access import mask_phone
from domain.errors import InvalidInput, UserError
from domain.organisation.history import append_change
from domain.people.audit import SYSTEM, record
from domain.spatial.models import Building, BuildingGroup, Grid, GridWorker, Member, MemberRole
from domain.spatial.phone import normalize_phone


@dataclass
class NewMember:
    """What `createMember` accepts, with ids already decoded."""

    name: str
    phone: str | None = None
    party_member: bool = True
    roles: list[str] = field(default_factory=lambda: [MemberRole.STEWARD.value])
    skills: list[str] = field(default_factory=list)
    status: str = "ACTIVE"
    building_id: int | None = None
    group_id: int | None = None
    grid_ids: list[int] = field(default_factory=list)
    code: str | None = None
    organisation_id: int | None = None
    publish_phone: bool = False


async def create_member(session: AsyncSession, new: NewMember, *,
                        where: str = "input", actor: str = SYSTEM,
                        now: datetime | None = None) -> Member:
    """Store a member; raises InvalidInput naming every wrong field. Recorded as
    MEMBER_CREATED by `actor` (the phone masked).

    A member with a home building but no group joins that building's group. A GROUP_LEADER
    becomes the leader of a group that has none. Grid ids are for grid workers only.

    A member created ACTIVE joins at `now` (default: the clock); the first step of their
    history (domain.organisation.history) says they were created.
    """
    now = now or datetime.now(UTC)
    errors = _check_fields(new, where)
    building = (None if new.building_id is None
                else await session.get(Building, new.building_id))
    group = None if new.group_id is None else await session.get(BuildingGroup, new.group_id)
    errors += await _check_links(session, new, building, group, where)
    if errors:
        raise InvalidInput(errors)
    member = Member(
        code=new.code, name=new.name.strip(), party_member=new.party_member,
        phone=normalize_phone(new.phone) if new.phone else None,
        roles=sorted(set(new.roles)), skills=sorted(set(new.skills)), status=new.status,
        building_id=new.building_id, group_id=group.id if group else _group_of(building),
        organisation_id=new.organisation_id, publish_phone=new.publish_phone,
        joined_at=now if new.status == "ACTIVE" else None,
    )
    session.add(member)
    await session.flush()
    for grid_id in sorted(set(new.grid_ids)):
        session.add(GridWorker(member_id=member.id, grid_id=grid_id))  # type: ignore[arg-type]
    if MemberRole.GROUP_LEADER.value in new.roles and member.group_id is not None:
        await session.execute(update(BuildingGroup).where(
            BuildingGroup.id == member.group_id, BuildingGroup.leader_id.is_(None))  # type: ignore[arg-type, union-attr]
            .values(leader_id=member.id))
    await session.flush()
    await append_change(session, member_id=member.id or 0, from_status=None,
                        to_status=member.status, actor=actor, reason="created", now=now)
    await record(session, actor=actor, action="MEMBER_CREATED", subject=("Member", member.id or 0),
                 detail={"after": snapshot(member, new.grid_ids)})
    return member


_ORGANISATION = text("SELECT 1 FROM organisation WHERE id = :id")


def _group_of(building: Building | None) -> int | None:
    return building.group_id if building else None


def _check_fields(new: NewMember, where: str) -> list[UserError]:
    errors = []
    if not new.name.strip():
        errors.append(UserError("REQUIRED", "name must not be empty", f"{where}.name"))
    elif len(new.name.strip()) > 100:
        errors.append(UserError("TOO_LONG", "name must be at most 100 characters",
                                f"{where}.name"))
    if new.phone:
        try:
            normalize_phone(new.phone)
        except ValueError as exc:
            errors.append(UserError("INVALID_PHONE", str(exc), f"{where}.phone"))
    if new.grid_ids and MemberRole.GRID_WORKER.value not in new.roles:
        errors.append(UserError("INVALID_VALUE", "only a GRID_WORKER serves grids: add the role "
                                "or leave gridIds empty", f"{where}.gridIds"))
    return errors


async def _check_links(session: AsyncSession, new: NewMember, building: Building | None,
                       group: BuildingGroup | None, where: str) -> list[UserError]:
    errors = []
    if new.building_id is not None and building is None:
        errors.append(UserError("NOT_FOUND", "no building has this id", f"{where}.buildingId"))
    if new.group_id is not None and group is None:
        errors.append(UserError("NOT_FOUND", "no building group has this id",
                                f"{where}.buildingGroupId"))
    if building and group and building.group_id not in (None, group.id):
        errors.append(UserError("INVALID_VALUE", f'building "{building.code}" is served by '
                                f'another group, not "{group.code}"', f"{where}.buildingGroupId"))
    if new.organisation_id is not None and (await session.execute(
            _ORGANISATION, {"id": new.organisation_id})).first() is None:
        errors.append(UserError("NOT_FOUND", "no organisation has this id",
                                f"{where}.organisationId"))
    for index, grid_id in enumerate(new.grid_ids):
        if await session.get(Grid, grid_id) is None:
            errors.append(UserError("NOT_FOUND", "no grid has this id",
                                    f"{where}.gridIds[{index}]"))
    return errors


def snapshot(member: Member, grid_ids: list[int]) -> dict[str, object]:
    """What the audit trail keeps of a member: the phone masked, as for anyone."""
    return {"name": member.name, "phone": mask_phone(member.phone),
            "partyMember": member.party_member, "roles": list(member.roles),
            "skills": list(member.skills), "status": member.status,
            "building": member.building_id, "group": member.group_id,
            "grids": sorted(set(grid_ids)), "organisation": member.organisation_id,
            "publishPhone": member.publish_phone}
