"""The demo community (西湖新村社区): 27 buildings in 4 grids, building groups with leaders and
their members, modelled on the source documents; with its partner organisations (a property
company, an owners' committee), two candidates on public notice, suspended members with their
history and a grid with two boundary versions (domain.organisation.demo). Loading it twice
changes nothing."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime
from importlib import resources
from typing import Any

from sqlalchemy import delete, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from domain.organisation.demo import load_organisation_demo
from domain.spatial.importer import ImportCounts, import_features
from domain.spatial.models import Building, BuildingGroup, Grid, GridWorker, Member, MemberRole
from domain.spatial.phone import normalize_phone

#: The code of the demo community.
COMMUNITY = "XHXC"


@dataclass(frozen=True)
class DemoCounts:
    """What the demo holds after loading."""

    features: ImportCounts
    members: int
    organisations: int = 0


def _data(name: str) -> Any:
    return json.loads(resources.files("domain").joinpath("demo_data", name).read_text("utf-8"))


async def load_demo(session: AsyncSession, now: datetime | None = None) -> DemoCounts:
    """Import the demo features and upsert its members by code, then the organisation area's
    part (idempotent; the notices run relative to `now`, default the clock)."""
    counts = await import_features(session, _data("community.geojson"), where="demo")
    people = _data("members.json")["members"]
    buildings = await _codes(session, Building)
    groups = await _codes(session, BuildingGroup)
    grids = await _codes(session, Grid)
    for person in people:
        await _upsert_member(session, person, buildings, groups, grids)
    await _set_leaders(session)
    organisations = await load_organisation_demo(session, community_code=COMMUNITY,
                                                 now=now or datetime.now(UTC))
    return DemoCounts(features=counts, members=len(people), organisations=organisations)


async def _codes(session: AsyncSession, model: Any) -> dict[str, int]:
    rows = await session.execute(select(model.code, model.id))
    return {code: pk for code, pk in rows.all()}


async def _upsert_member(session: AsyncSession, person: dict[str, Any],
                         buildings: dict[str, int], groups: dict[str, int],
                         grids: dict[str, int]) -> None:
    values = {
        "name": person["name"], "party_member": person.get("partyMember", True),
        "phone": normalize_phone(person["phone"]) if person.get("phone") else None,
        "roles": sorted(person.get("roles", [])), "skills": sorted(person.get("skills", [])),
        "status": person.get("status", "ACTIVE"),
        "building_id": buildings.get(person.get("building") or ""),
        "group_id": groups.get(person.get("group") or ""),
    }
    member = (await session.execute(select(Member).where(Member.code == person["code"]))
              ).scalar_one_or_none()
    if member is None:
        member = Member(code=person["code"], **values)
        session.add(member)
    else:
        for key, value in values.items():
            setattr(member, key, value)
    await session.flush()
    await session.execute(delete(GridWorker).where(GridWorker.member_id == member.id))  # type: ignore[arg-type]
    for code in person.get("grids", []):
        session.add(GridWorker(member_id=member.id, grid_id=grids[code]))  # type: ignore[arg-type]
    await session.flush()


async def _set_leaders(session: AsyncSession) -> None:
    """Each group's leader is its member with the GROUP_LEADER role."""
    leaders = await session.execute(
        select(col(Member.group_id), col(Member.id)).where(
            col(Member.roles).contains([MemberRole.GROUP_LEADER.value]),
            col(Member.group_id).is_not(None)))
    for group_id, member_id in leaders.all():
        await session.execute(update(BuildingGroup).where(col(BuildingGroup.id) == group_id)
                              .values(leader_id=member_id))
