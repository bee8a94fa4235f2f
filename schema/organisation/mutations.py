"""Mutations of the organisation area, for staff within their territories (a bad input is
answered in the payload's `errors`, naming the field, and nothing changes)."""

from __future__ import annotations

import strawberry

from domain.errors import InvalidInput
from domain.infra.db import transaction
from domain.organisation.member_update import KEEP, MemberChange, update_member
from domain.organisation.organisations import NewOrganisation, create_organisation
from domain.people.audit import actor_of
from schema.common.context import Info
from schema.common.ids import decode_id
from schema.common.payloads import UserErrorType
from schema.common.permissions import STAFF
from schema.organisation.types import (
    MemberUpdateInput,
    Organisation,
    OrganisationInput,
    OrganisationPayload,
)
from schema.spatial.types import Member, MemberPayload


def _link(value: str | None, type_name: str, field: str) -> object:
    """KEEP when not given, None when given as null, else the decoded id."""
    if value is strawberry.UNSET:
        return KEEP
    return None if value is None else decode_id(value, type_name, field)


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


@strawberry.type
class OrganisationMutation:
    @strawberry.mutation(permission_classes=STAFF, description="A partner organisation "
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
                row = await create_organisation(session, scope=viewer.scope, new=new,
                                                actor=actor_of(viewer))
        except InvalidInput as exc:
            return OrganisationPayload(errors=UserErrorType.list_of(exc.errors))
        return OrganisationPayload(organisation=Organisation.of(row))

    @strawberry.mutation(permission_classes=STAFF, description="Changes only the fields given "
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
                row = await update_member(session, scope=viewer.scope,
                                          member_id=decode_id(id, "Member", "id"),
                                          change=change, actor=actor_of(viewer))
        except InvalidInput as exc:
            return MemberPayload(errors=UserErrorType.list_of(exc.errors))
        return MemberPayload(member=Member.of(row))
