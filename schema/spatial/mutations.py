"""Mutations of the spatial hierarchy: importing features and creating members.

A user's mistake never raises: it is answered in the payload's `errors`, and nothing changes.
"""

from __future__ import annotations

import strawberry

from domain.errors import InvalidInput
from domain.infra.db import transaction
from domain.people.audit import actor_of
from domain.spatial.importer import import_features
from domain.spatial.members import NewMember, create_member
from schema.common.context import Info
from schema.common.ids import decode_id, decode_optional
from schema.common.payloads import UserErrorType
from schema.common.scalars import GeoJSON
from schema.spatial.types import ImportPayload, Member, MemberInput, MemberPayload


def _new_member(data: MemberInput) -> NewMember:
    return NewMember(
        name=data.name, phone=data.phone, party_member=data.party_member,
        roles=[r.value for r in data.roles], skills=[s.value for s in data.skills],
        status=data.status.value,
        building_id=decode_optional(data.building_id, "Building", "input.buildingId"),
        group_id=decode_optional(data.building_group_id, "BuildingGroup",
                                 "input.buildingGroupId"),
        grid_ids=[decode_id(g, "Grid", f"input.gridIds[{i}]")
                  for i, g in enumerate(data.grid_ids)],
        organisation_id=decode_optional(data.organisation_id, "Organisation",
                                        "input.organisationId"),
        publish_phone=data.publish_phone,
    )


@strawberry.type
class SpatialMutation:
    @strawberry.mutation(description=(
        "Loads or updates (by code) a GeoJSON FeatureCollection whose features carry "
        "properties.layer: subdistrict (code, name; Polygon/MultiPolygon), community (code, "
        "name, subdistrict?; Polygon/MultiPolygon), grid (code, name, "
        "community; Polygon/MultiPolygon), building (code, address, name?, households?, group?, "
        "groupName?; Point or Polygon footprint). Grid and building membership is found "
        "spatially. All or nothing: any error, nothing changes. City-wide administrators only."))
    async def import_features(self, info: Info, collection: GeoJSON) -> ImportPayload:
        try:
            async with transaction(info.context.sessions) as session:
                counts = await import_features(session, collection,
                                               actor=actor_of(info.context.viewer))
        except InvalidInput as exc:
            return ImportPayload(errors=UserErrorType.list_of(exc.errors))
        return ImportPayload(subdistricts=counts.subdistricts, communities=counts.communities,
                             grids=counts.grids, buildings=counts.buildings,
                             building_groups=counts.building_groups)

    @strawberry.mutation(description="Adds a member. Staff only; staff of subdistricts or "
                         "communities place the member (buildingId, buildingGroupId or "
                         "gridIds) within their territories, else FORBIDDEN naming the field.")
    async def create_member(self, info: Info, input: MemberInput) -> MemberPayload:
        try:
            new = _new_member(input)
            async with transaction(info.context.sessions) as session:
                member = await create_member(session, new, actor=actor_of(info.context.viewer))
        except InvalidInput as exc:
            return MemberPayload(errors=UserErrorType.list_of(exc.errors))
        return MemberPayload(member=Member.of(member))
