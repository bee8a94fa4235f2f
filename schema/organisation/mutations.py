"""Mutations of the organisation area, for staff within their territories (a bad input is
answered in the payload's `errors`, naming the field, and nothing changes)."""

from __future__ import annotations

import strawberry

from domain.errors import InvalidInput
from domain.infra.db import transaction
from domain.organisation.organisations import NewOrganisation, create_organisation
from domain.people.audit import actor_of
from schema.common.context import Info
from schema.common.ids import decode_id
from schema.common.payloads import UserErrorType
from schema.common.permissions import STAFF
from schema.organisation.types import Organisation, OrganisationInput, OrganisationPayload


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
