"""GraphQL types of the organisation area: partner organisations, building groups' and grids'
inputs, boundary versions, group suggestions and the notice board, with their payloads
(contract/organisation.graphql)."""

from __future__ import annotations

from datetime import datetime

import strawberry

from domain.organisation import models, notice_board, review, suggestions
from domain.organisation.models import OrganisationKind
from schema.common.context import Info
from schema.common.enums import MemberRole, ServiceCategory
from schema.common.ids import encode_id
from schema.common.node import Node
from schema.common.payloads import UserErrorType
from schema.organisation.member_types import Objection
from schema.spatial.types import Building, BuildingGroup, Community, Grid, Member

strawberry.enum(OrganisationKind, description="What a partner organisation (共建单位) is: "
                "物业公司, 业主委员会, 企业, 事业单位, 社会组织, 党支部, or other.")


@strawberry.type(description="A partner organisation (共建单位): a property company, an owners' "
                 "committee, an enterprise or institution that works with a community; its "
                 "people can be members.")
class Organisation(Node):
    row: strawberry.Private[models.Organisation]
    name: str
    kind: OrganisationKind
    contact_name: str | None

    @classmethod
    def of(cls, row: models.Organisation) -> Organisation:
        return cls(id=strawberry.ID(encode_id("Organisation", row.id or 0)), row=row,
                   name=row.name, kind=OrganisationKind(row.kind), contact_name=row.contact_name)

    @strawberry.field(description="The community it works with.")
    async def community(self, info: Info) -> Community:
        row = await info.context.loaders.community.load(self.row.community_id)
        assert row is not None  # a foreign key guarantees it
        return Community.of(row)

    @strawberry.field(description="The contact's phone, masked (138****5678) as member phones "
                      "are, whole for administrators.")
    async def contact_phone(self) -> str | None:
        return self.row.contact_phone  # masked or revealed by permissions.RULES

    @strawberry.field(description="The members who belong to it.")
    async def members(self, info: Info) -> list[Member]:
        rows = await info.context.loaders.members_of_organisation.load(self.row.id or 0)
        return [Member.of(m) for m in rows]


@strawberry.input(description="A new partner organisation of a community within your "
                  "territories. Phone: a mainland mobile or a landline with area code.")
class OrganisationInput:
    name: str
    kind: OrganisationKind
    community_id: strawberry.ID
    contact_name: str | None = None
    contact_phone: str | None = None


@strawberry.type
class OrganisationPayload:
    organisation: Organisation | None = None
    errors: list[UserErrorType] = strawberry.field(default_factory=list)


@strawberry.input(description="Changes only the fields given. buildingId, buildingGroupId, "
                  "organisationId and phone given as null are removed. phone: a mainland "
                  "mobile number. A move to another community takes a caller holding both.")
class MemberUpdateInput:
    name: str | None = None
    phone: str | None = strawberry.UNSET
    party_member: bool | None = None
    roles: list[MemberRole] | None = None
    skills: list[ServiceCategory] | None = None
    building_id: strawberry.ID | None = strawberry.UNSET
    building_group_id: strawberry.ID | None = strawberry.UNSET
    organisation_id: strawberry.ID | None = strawberry.UNSET
    publish_phone: bool | None = None


@strawberry.type(description="Whether an objection was received (nothing of it is shown back).")
class ObjectionPayload:
    received: bool = False
    errors: list[UserErrorType] = strawberry.field(default_factory=list)


@strawberry.type
class ObjectionResolutionPayload:
    objection: Objection | None = None
    errors: list[UserErrorType] = strawberry.field(default_factory=list)


@strawberry.type(description="A member rated POOR two periods running, for review "
                 "(优者上、庸者下、劣者汰).")
class ReviewCase:
    row: strawberry.Private[review.ReviewCase]
    period: str
    previous_period: str
    score: float | None
    previous_score: float | None

    @classmethod
    def of(cls, row: review.ReviewCase) -> ReviewCase:
        return cls(row=row, period=row.period, previous_period=row.previous_period,
                   score=row.score, previous_score=row.previous_score)

    @strawberry.field(description="The member.")
    async def member(self, info: Info) -> Member:
        found = await info.context.loaders.member.load(self.row.member_id)
        assert found is not None  # a foreign key guarantees it
        return Member.of(found)


@strawberry.type(description="One person on a notice board, as the printed board shows them.")
class NoticeBoardEntry:
    name: str
    roles: list[MemberRole]
    services: list[ServiceCategory]
    phone: str | None = strawberry.field(description="Whole only where the member agreed "
                                         "(publishPhone), else masked (138****5678).")
    notice_ends_at: datetime | None = strawberry.field(description="For a candidate on "
                                                       "notice: the day it ends.")

    @classmethod
    def of(cls, row: notice_board.BoardEntry) -> NoticeBoardEntry:
        return cls(name=row.name, roles=[MemberRole(r) for r in row.roles],
                   services=[ServiceCategory(s) for s in row.services], phone=row.phone,
                   notice_ends_at=row.notice_ends_at)


@strawberry.type(description="公示栏: what the board by the stairwell shows, for residents.")
class NoticeBoard:
    building_group: BuildingGroup
    leader: NoticeBoardEntry | None
    entries: list[NoticeBoardEntry] = strawberry.field(description="The group's ACTIVE "
                                                       "members.")
    candidates: list[NoticeBoardEntry] = strawberry.field(description="CANDIDATEs being "
                                                          "posted now, with the day their "
                                                          "notice ends.")

    @classmethod
    def of(cls, board: notice_board.Board) -> NoticeBoard:
        return cls(building_group=BuildingGroup.of(board.group),
                   leader=None if board.leader is None else NoticeBoardEntry.of(board.leader),
                   entries=[NoticeBoardEntry.of(e) for e in board.entries],
                   candidates=[NoticeBoardEntry.of(c) for c in board.candidates])


@strawberry.input(description="A new building group: adjacent buildings of one grid, each in "
                  "one group at most; a leader who is an ACTIVE member living in one of them.")
class BuildingGroupInput:
    code: str
    name: str
    grid_id: strawberry.ID
    building_ids: list[strawberry.ID]
    leader_id: strawberry.ID | None = None


@strawberry.input(description="Changes only the fields given; buildingIds replaces them all; "
                  "leaderId null: no leader.")
class BuildingGroupUpdateInput:
    name: str | None = None
    building_ids: list[strawberry.ID] | None = None
    leader_id: strawberry.ID | None = strawberry.UNSET


@strawberry.type
class BuildingGroupPayload:
    building_group: BuildingGroup | None = None
    errors: list[UserErrorType] = strawberry.field(default_factory=list)


@strawberry.type
class GridPayload:
    grid: Grid | None = None
    errors: list[UserErrorType] = strawberry.field(default_factory=list)
    moved_buildings: list[Building] = strawberry.field(
        default_factory=list, description="updateGridBoundary: the buildings that moved to "
        "another grid with the new boundary.")


@strawberry.type(description="A building with this many ACTIVE party members or more may form "
                 "a group of its own (the documents' rule of five).")
class GroupSuggestion:
    row: strawberry.Private[suggestions.Suggestion]
    party_members: int

    @classmethod
    def of(cls, row: suggestions.Suggestion) -> GroupSuggestion:
        return cls(row=row, party_members=row.party_members)

    @strawberry.field(description="The building.")
    async def building(self, info: Info) -> Building:
        found = await info.context.loaders.building.load(self.row.building_id)
        assert found is not None  # found in the same query
        return Building.of(found)

    @strawberry.field(description="The group it shares with other buildings now, if any.")
    async def current_group(self, info: Info) -> BuildingGroup | None:
        if self.row.group_id is None:
            return None
        found = await info.context.loaders.group.load(self.row.group_id)
        return None if found is None else BuildingGroup.of(found)
