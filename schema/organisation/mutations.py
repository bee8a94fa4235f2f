"""Mutations of the organisation area, for staff within their territories (a bad input is
answered in the payload's `errors`, naming the field, and nothing changes)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any

import strawberry

from domain.errors import InvalidInput, UserError
from domain.infra.db import transaction
from domain.organisation import admission, boundaries, grid_workers, groups
from domain.organisation.groups import GroupChange, NewGroup
from domain.organisation.member_update import KEEP, MemberChange, update_member
from domain.organisation.organisations import NewOrganisation, create_organisation
from domain.people.audit import actor_of
from domain.spatial.models import Building as BuildingRow
from geo.crs import CoordSystem as Crs
from geo.crs import transform_geojson
from geo.errors import InvalidGeometry
from geo.geojson import parse_geometry
from schema.common.context import Info
from schema.common.enums import CoordSystem
from schema.common.ids import decode_id
from schema.common.payloads import UserErrorType
from schema.common.rate_limits import SUBMISSION, RateLimited
from schema.common.scalars import GeoJSON
from schema.organisation.member_types import Objection
from schema.organisation.types import (
    BuildingGroupInput,
    BuildingGroupPayload,
    BuildingGroupUpdateInput,
    GridPayload,
    MemberUpdateInput,
    ObjectionPayload,
    ObjectionResolutionPayload,
    Organisation,
    OrganisationInput,
    OrganisationPayload,
)
from schema.spatial.types import Building, BuildingGroup, Grid, Member, MemberPayload


def _link(value: str | None, type_name: str, field: str) -> object:
    """KEEP when not given, None when given as null, else the decoded id."""
    if value is strawberry.UNSET:
        return KEEP
    return None if value is None else decode_id(value, type_name, field)


def _now() -> datetime:
    return datetime.now(UTC)


def _dispatching(info: Info) -> admission.Dispatching:
    settings = info.context.settings
    return admission.Dispatching(accept_timeout=settings.accept_timeout,
                                 channel=settings.outbound_channel, limits=settings.limits)


async def _member_step(info: Info, id: str, step: Callable[..., Awaitable[Any]],
                       **given: Any) -> MemberPayload:
    """One step of the admission cycle (domain.organisation.admission) on member `id`, in
    one transaction; the notices of requests it re-dispatched go to the sender after the
    commit."""
    viewer = info.context.viewer
    try:
        member_id = decode_id(id, "Member", "id")
        async with transaction(info.context.sessions) as session:
            done = await step(session, viewer=viewer, member_id=member_id, now=_now(),
                              actor=actor_of(viewer), **given)
    except InvalidInput as exc:
        return MemberPayload(errors=UserErrorType.list_of(exc.errors))
    if not isinstance(done, admission.Changed):
        return MemberPayload(member=Member.of(done))
    background = info.context.background
    if background is not None:
        for message_id in done.message_ids:
            background.send(message_id)
    return MemberPayload(member=Member.of(done.member))


def _kept(value: object) -> object:
    """KEEP for a field not given or given as null (one that cannot be removed)."""
    return KEEP if value is None or value is strawberry.UNSET else value


def _member_change(data: MemberUpdateInput) -> MemberChange:
    return MemberChange(
        name=_kept(data.name), phone=KEEP if data.phone is strawberry.UNSET else data.phone,
        party_member=_kept(data.party_member), publish_phone=_kept(data.publish_phone),
        roles=KEEP if data.roles is None else [r.value for r in data.roles],
        skills=KEEP if data.skills is None else [s.value for s in data.skills],
        building_id=_link(data.building_id, "Building", "input.buildingId"),
        group_id=_link(data.building_group_id, "BuildingGroup", "input.buildingGroupId"),
        organisation_id=_link(data.organisation_id, "Organisation", "input.organisationId"))


def _ids(values: list[strawberry.ID], type_name: str, field: str) -> list[int]:
    return [decode_id(v, type_name, f"{field}[{i}]") for i, v in enumerate(values)]


def _new_group(data: BuildingGroupInput) -> NewGroup:
    return NewGroup(code=data.code, name=data.name,
                    grid_id=decode_id(data.grid_id, "Grid", "input.gridId"),
                    building_ids=_ids(data.building_ids, "Building", "input.buildingIds"),
                    leader_id=None if data.leader_id is None else decode_id(
                        data.leader_id, "Member", "input.leaderId"))


def _group_change(data: BuildingGroupUpdateInput) -> GroupChange:
    return GroupChange(
        name=_kept(data.name),
        building_ids=KEEP if data.building_ids is None else _ids(
            data.building_ids, "Building", "input.buildingIds"),
        leader_id=_link(data.leader_id, "Member", "input.leaderId"))


def _boundary_in(boundary: GeoJSON, crs: CoordSystem) -> bytes:
    """A caller's grid boundary, checked (a valid Polygon or MultiPolygon) and converted to
    WGS-84, as WKB; INVALID_GEOMETRY naming the place in `boundary` otherwise."""
    allowed = ("Polygon", "MultiPolygon")
    try:
        parse_geometry(boundary, allowed=allowed, where="boundary")
        wgs84 = transform_geojson(dict(boundary), crs, Crs.WGS84)
        return bytes(parse_geometry(wgs84, allowed=allowed, where="boundary").wkb)
    except InvalidGeometry as exc:
        raise InvalidInput([UserError(p.code, p.reason, p.where) for p in exc.problems]) from None


@strawberry.type
class OrganisationMutation:
    @strawberry.mutation(description="A partner organisation "
                         "(共建单位) of a community within your territories. Errors name the "
                         "field: REQUIRED, TOO_LONG, INVALID_PHONE, NOT_FOUND, FORBIDDEN.")
    async def create_organisation(self, info: Info,
                                  input: OrganisationInput) -> OrganisationPayload:
        viewer = info.context.viewer
        try:
            new = NewOrganisation(
                name=input.name, kind=input.kind, contact_name=input.contact_name,
                contact_phone=input.contact_phone,
                community_id=decode_id(input.community_id, "Community", "input.communityId"))
            async with transaction(info.context.sessions) as session:
                row = await create_organisation(session, viewer=viewer, new=new,
                                                actor=actor_of(viewer))
        except InvalidInput as exc:
            return OrganisationPayload(errors=UserErrorType.list_of(exc.errors))
        return OrganisationPayload(organisation=Organisation.of(row))

    @strawberry.mutation(description="Changes only the fields given "
                         "of a member within your territories, with createMember's checks. "
                         "Errors name the field: INVALID_VALUE, INVALID_PHONE, NOT_FOUND, "
                         "FORBIDDEN (outside your territories; a move to another community "
                         "takes a caller holding both).")
    async def update_member(self, info: Info, id: strawberry.ID,
                            input: MemberUpdateInput) -> MemberPayload:
        viewer = info.context.viewer
        try:
            change = _member_change(input)
            async with transaction(info.context.sessions) as session:
                row = await update_member(session, viewer=viewer,
                                          member_id=decode_id(id, "Member", "id"),
                                          change=change, actor=actor_of(viewer))
        except InvalidInput as exc:
            return MemberPayload(errors=UserErrorType.list_of(exc.errors))
        return MemberPayload(member=Member.of(row))

    @strawberry.mutation(description="Starts the public notice "
                         "(公示) of a CANDIDATE within your territories: noticeDays 1 to 30 "
                         "(INVALID_VALUE naming noticeDays). The candidate shows on the notice "
                         "board with the day it ends. INVALID_STATUS for a member who is not a "
                         "CANDIDATE; NOTICE_RUNNING while a notice runs.")
    async def post_candidate(self, info: Info, id: strawberry.ID,
                             notice_days: int = 7) -> MemberPayload:
        return await _member_step(info, id, admission.post_candidate, notice_days=notice_days)

    @strawberry.mutation(extensions=[RateLimited(SUBMISSION, "contactPhone")], description=(
        "An objection to a candidate on public notice, open to anyone (no sign-in): a reason "
        "and, if you like, a phone to be called back on, which only staff see. NOT_ON_NOTICE "
        "when no candidate of this id is on notice now. RATE_LIMITED per address and phone."))
    async def object_to_candidate(self, info: Info, id: strawberry.ID, reason: str,
                                  contact_phone: str | None = None) -> ObjectionPayload:
        try:
            async with transaction(info.context.sessions) as session:
                await admission.object_to_candidate(
                    session, member_id=decode_id(id, "Member", "id"), reason=reason,
                    contact_phone=contact_phone, now=_now())
        except InvalidInput as exc:
            return ObjectionPayload(errors=UserErrorType.list_of(exc.errors))
        return ObjectionPayload(received=True)

    @strawberry.mutation(description="Dismisses an OPEN objection "
                         "with a reason: it no longer stands in the way of admitMember.")
    async def dismiss_objection(self, info: Info, id: strawberry.ID,
                                reason: str) -> ObjectionResolutionPayload:
        return await _resolve(info, id, reason, uphold=False)

    @strawberry.mutation(description="Upholds an OPEN objection with "
                         "a reason: the candidate cannot be admitted on this notice.")
    async def uphold_objection(self, info: Info, id: strawberry.ID,
                               reason: str) -> ObjectionResolutionPayload:
        return await _resolve(info, id, reason, uphold=True)

    @strawberry.mutation(description="A CANDIDATE becomes ACTIVE "
                         "(joinedAt now) once the notice has ended with no objection open and "
                         "none upheld. Errors (field id): NOT_POSTED, NOTICE_RUNNING, "
                         "OBJECTION_OPEN, OBJECTION_UPHELD, INVALID_STATUS, FORBIDDEN.")
    async def admit_member(self, info: Info, id: strawberry.ID) -> MemberPayload:
        return await _member_step(info, id, admission.admit_member)

    @strawberry.mutation(description="ACTIVE → SUSPENDED, with a "
                         "reason: every open request of the member goes back to dispatch at "
                         "once (HANDED_BACK events; the next candidate is offered it).")
    async def suspend_member(self, info: Info, id: strawberry.ID,
                             reason: str) -> MemberPayload:
        return await _member_step(info, id, admission.suspend_member, reason=reason,
                                  dispatching=_dispatching(info))

    @strawberry.mutation(description="SUSPENDED → ACTIVE, with a "
                         "reason.")
    async def reinstate_member(self, info: Info, id: strawberry.ID,
                               reason: str) -> MemberPayload:
        return await _member_step(info, id, admission.reinstate_member, reason=reason)

    @strawberry.mutation(description="→ EXITED, with a reason: open "
                         "requests go back to dispatch, the member's sessions end at once and "
                         "they lead no group any more.")
    async def exit_member(self, info: Info, id: strawberry.ID, reason: str) -> MemberPayload:
        return await _member_step(info, id, admission.exit_member, reason=reason,
                                  dispatching=_dispatching(info))

    @strawberry.mutation(description="A building group of adjacent "
                         "buildings of one grid within your territories. Errors name the "
                         "field: CODE_TAKEN, INVALID_VALUE, NOT_FOUND, FORBIDDEN, OTHER_GRID, "
                         "IN_ANOTHER_GROUP, NOT_ADJACENT, DUPLICATE, NOT_RESIDENT, "
                         "INVALID_STATUS.")
    async def create_building_group(self, info: Info,
                                    input: BuildingGroupInput) -> BuildingGroupPayload:
        viewer = info.context.viewer
        try:
            new = _new_group(input)
            async with transaction(info.context.sessions) as session:
                row = await groups.create_building_group(session, viewer=viewer, new=new,
                                                         actor=actor_of(viewer))
        except InvalidInput as exc:
            return BuildingGroupPayload(errors=UserErrorType.list_of(exc.errors))
        return BuildingGroupPayload(building_group=BuildingGroup.of(row))

    @strawberry.mutation(description="Changes a group's name, "
                         "buildings (replaced; residents follow) or leader, with "
                         "createBuildingGroup's checks. CONFLICT (field id) while another "
                         "change to the group is under way: reload and try again.")
    async def update_building_group(self, info: Info, id: strawberry.ID,
                                    input: BuildingGroupUpdateInput) -> BuildingGroupPayload:
        viewer = info.context.viewer
        try:
            change = _group_change(input)
            async with transaction(info.context.sessions) as session:
                row = await groups.update_building_group(
                    session, viewer=viewer, group_id=decode_id(id, "BuildingGroup", "id"),
                    change=change, actor=actor_of(viewer))
        except InvalidInput as exc:
            return BuildingGroupPayload(errors=UserErrorType.list_of(exc.errors))
        return BuildingGroupPayload(building_group=BuildingGroup.of(row))

    @strawberry.mutation(description="The grid's workers (网格员) "
                         "are exactly these members of its community (they gain the "
                         "GRID_WORKER role). Errors: OTHER_COMMUNITY, NOT_FOUND, "
                         "INVALID_STATUS naming memberIds[i]; FORBIDDEN naming gridId.")
    async def set_grid_workers(self, info: Info, grid_id: strawberry.ID,
                               member_ids: list[strawberry.ID]) -> GridPayload:
        viewer = info.context.viewer
        try:
            grid = decode_id(grid_id, "Grid", "gridId")
            members = _ids(member_ids, "Member", "memberIds")
            async with transaction(info.context.sessions) as session:
                row = await grid_workers.set_grid_workers(
                    session, viewer=viewer, grid_id=grid, member_ids=members,
                    actor=actor_of(viewer))
        except InvalidInput as exc:
            return GridPayload(errors=UserErrorType.list_of(exc.errors))
        return GridPayload(grid=Grid.of(row))

    @strawberry.mutation(description="A new boundary for a grid "
                         "within your territories, in force from now (the old one becomes a "
                         "past version). Buildings are re-assigned spatially (movedBuildings); "
                         "requests keep their grid. Errors naming boundary: INVALID_GEOMETRY "
                         "(e.g. self-intersecting), OVERLAPPING_GRIDS, OUTSIDE_GRIDS.")
    async def update_grid_boundary(self, info: Info, grid_id: strawberry.ID, boundary: GeoJSON,
                                   crs: CoordSystem = Crs.WGS84) -> GridPayload:
        viewer = info.context.viewer
        try:
            grid = decode_id(grid_id, "Grid", "gridId")
            wkb = _boundary_in(boundary, crs)
            async with transaction(info.context.sessions) as session:
                changed = await boundaries.update_grid_boundary(
                    session, viewer=viewer, grid_id=grid, wkb=wkb, now=_now(),
                    actor=actor_of(viewer))
                moved = [await session.get(BuildingRow, m.building_id) for m in changed.moved]
        except InvalidInput as exc:
            return GridPayload(errors=UserErrorType.list_of(exc.errors))
        return GridPayload(grid=Grid.of(changed.grid),
                           moved_buildings=[Building.of(b) for b in moved if b is not None])


async def _resolve(info: Info, id: str, reason: str, *,
                   uphold: bool) -> ObjectionResolutionPayload:
    viewer = info.context.viewer
    try:
        async with transaction(info.context.sessions) as session:
            row = await admission.resolve_objection(
                session, viewer=viewer, objection_id=decode_id(id, "Objection", "id"),
                uphold=uphold, reason=reason, now=_now(), actor=actor_of(viewer))
    except InvalidInput as exc:
        return ObjectionResolutionPayload(errors=UserErrorType.list_of(exc.errors))
    return ObjectionResolutionPayload(objection=Objection.of(row))
