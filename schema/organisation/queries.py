"""Read-only root fields of the organisation area."""

from __future__ import annotations

from datetime import UTC, datetime

import strawberry

from domain.organisation.boundaries import cover_point_at
from domain.organisation.models import OrganisationKind
from domain.organisation.notice_board import notice_board
from domain.organisation.organisations import list_organisations
from domain.organisation.review import members_for_review
from domain.organisation.suggestions import MIN_PARTY_MEMBERS, group_suggestions
from schema.common.connections import Connection, page_size, to_connection
from schema.common.context import Info
from schema.common.ids import decode_cursor, decode_id, decode_optional
from schema.common.inputs import PointInput
from schema.organisation.types import GroupSuggestion, NoticeBoard, Organisation, ReviewCase
from schema.spatial.types import Coverage


@strawberry.type
class OrganisationQuery:
    @strawberry.field(description="The notice board (公示栏) of a building group, open to "
                      "anonymous callers: its leader, its members with their roles and the "
                      "services they offer, and the candidates on public notice with the day "
                      "it ends; a phone whole only where the member agreed (publishPhone). "
                      "Null when no group has this id.")
    async def notice_board(self, info: Info, building_group_id: strawberry.ID
                           ) -> NoticeBoard | None:
        group_id = decode_id(building_group_id, "BuildingGroup", "buildingGroupId")
        async with info.context.sessions() as session:
            board = await notice_board(session, group_id=group_id, now=datetime.now(UTC))
        return None if board is None else NoticeBoard.of(board)

    @strawberry.field(description="Partner organisations (共建单位) "
                      "within your territories, by id; optionally of one community or kind.")
    async def organisations(self, info: Info, community_id: strawberry.ID | None = None,
                            kind: OrganisationKind | None = None, first: int | None = 50,
                            after: str | None = None) -> Connection[Organisation]:
        async with info.context.sessions() as session:
            page = await list_organisations(
                session, viewer=info.context.viewer,
                community_id=decode_optional(community_id, "Community", "communityId"),
                kind=kind, first=page_size(first), after=decode_cursor(after))
        return to_connection(page, Organisation.of)

    @strawberry.field(description="Members within your territories "
                      "rated POOR in `period` (2026-11 or 2026-Q4) and in the period before, "
                      "lowest score first: for review (优者上、庸者下、劣者汰). Reads the stored "
                      "assessments of both periods. INVALID_PERIOD for a malformed period.")
    async def members_for_review(self, info: Info, period: str,
                                 community_id: strawberry.ID | None = None) -> list[ReviewCase]:
        async with info.context.sessions() as session:
            rows = await members_for_review(
                session, viewer=info.context.viewer, period=period,
                community_id=decode_optional(community_id, "Community", "communityId"))
        return [ReviewCase.of(r) for r in rows]

    @strawberry.field(description="Buildings within your "
                      "territories with minPartyMembers (the documents' rule of five) or more "
                      "ACTIVE party members living there and no group of their own (none, or "
                      "one shared with other buildings), most party members first.")
    async def group_suggestions(self, info: Info, community_id: strawberry.ID | None = None,
                                min_party_members: int | None = MIN_PARTY_MEMBERS
                                ) -> list[GroupSuggestion]:
        async with info.context.sessions() as session:
            rows = await group_suggestions(
                session, viewer=info.context.viewer,
                min_party_members=MIN_PARTY_MEMBERS if min_party_members is None
                else min_party_members,
                community_id=decode_optional(community_id, "Community", "communityId"))
        return [GroupSuggestion.of(r) for r in rows]

    @strawberry.field(description="Who covered a point at a moment: "
                      "the grid (and community) from the boundary versions in force then; the "
                      "building and its group as they are now. Null when nothing covered it.")
    async def coverage_at(self, info: Info, point: PointInput, at: datetime) -> Coverage | None:
        lon, lat = point.to_wgs84("point")
        async with info.context.sessions() as session:
            found = await cover_point_at(
                session, lon=lon, lat=lat, at=at,
                nearest_metres=info.context.settings.nearest_building_metres)
        return None if found is None else Coverage.of(found, info.context.loaders)
