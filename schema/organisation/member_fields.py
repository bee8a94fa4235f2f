"""The fields the organisation area adds to `Member` (`extend type Member` of
contract/organisation.graphql), as a base class of schema.spatial.types.Member.

Organisation is named lazily: its module imports the spatial types, which import this one.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Annotated, Any

import strawberry

from schema.common.context import Info
from schema.common.enums import MemberStatus
from schema.organisation.member_types import CandidateNotice, MemberStatusChange

if TYPE_CHECKING:
    from schema.organisation.types import Organisation

LazyOrganisation = Annotated["Organisation", strawberry.lazy("schema.organisation.types")]


@strawberry.type
class MemberOrganisationFields:
    row: strawberry.Private[Any]

    @strawberry.field(description="The partner organisation (共建单位) the member belongs to.")
    async def organisation(self, info: Info) -> LazyOrganisation | None:
        from schema.organisation.types import Organisation
        if self.row.organisation_id is None:
            return None
        found = await info.context.loaders.organisation.load(self.row.organisation_id)
        return None if found is None else Organisation.of(found)

    @strawberry.field(description="Agreed to show the phone whole on the notice board.")
    def publish_phone(self) -> bool:
        return bool(self.row.publish_phone)

    @strawberry.field(description="When the member became ACTIVE (admitMember).")
    def joined_at(self) -> datetime | None:
        return self.row.joined_at

    @strawberry.field(description="The public notice while a CANDIDATE is posted (null "
                      "otherwise).")
    async def notice(self, info: Info) -> CandidateNotice | None:
        if self.row.status != MemberStatus.CANDIDATE.value:
            return None
        notices = await info.context.loaders.notices_of_member.load(self.row.id or 0)
        return CandidateNotice.of(notices[-1]) if notices else None

    @strawberry.field(description="Every change of status, oldest first: who and why. For "
                      "staff and the member themselves; empty for anyone else.")
    async def history(self, info: Info) -> list[MemberStatusChange]:
        rows = await info.context.loaders.history_of_member.load(self.row.id or 0)
        return [MemberStatusChange.of(r) for r in rows]
