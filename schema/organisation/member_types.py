"""What the organisation area adds to a Member: its status history, its candidate notice and
the objections to it (contract/organisation.graphql). These types name no spatial type, so
schema.spatial.types can show them on Member without an import cycle."""

from __future__ import annotations

from datetime import datetime

import strawberry

from domain.organisation import models
from domain.organisation.models import ObjectionStatus
from schema.common.audit import reveal
from schema.common.context import Info
from schema.common.enums import MemberStatus
from schema.common.ids import encode_id

strawberry.enum(ObjectionStatus, description="OPEN until staff DISMISS or UPHOLD it.")


@strawberry.type(description="One step of a member's admission cycle: who made it and why.")
class MemberStatusChange:
    at: datetime
    from_status: MemberStatus | None
    to_status: MemberStatus
    actor: str = strawberry.field(description='Who made it: "account:<id>", "member:<id>", '
                                  '"cli" or "system".')
    reason: str | None

    @classmethod
    def of(cls, row: models.MemberStatusChange) -> MemberStatusChange:
        return cls(at=row.at, from_status=MemberStatus(row.from_status) if row.from_status
                   else None, to_status=MemberStatus(row.to_status), actor=row.actor,
                   reason=row.reason)


@strawberry.type(description="An objection to a candidate on notice. Only staff see "
                 "objections; the public never does.")
class Objection:
    row: strawberry.Private[models.Objection]
    id: strawberry.ID = strawberry.field(description="Give it to dismissObjection or "
                                         "upholdObjection.")
    at: datetime
    reason: str
    status: ObjectionStatus
    resolved_at: datetime | None
    resolution: str | None = strawberry.field(description="Why staff dismissed or upheld it.")

    @classmethod
    def of(cls, row: models.Objection) -> Objection:
        return cls(row=row, id=strawberry.ID(encode_id("Objection", row.id or 0)), at=row.at,
                   reason=row.reason, status=ObjectionStatus(row.status),
                   resolved_at=row.resolved_at, resolution=row.resolution)

    @strawberry.field(description="The objector's phone, if they left one: for staff, to call "
                      "them back (each answer carrying it is audited as PHONE_REVEALED).")
    def contact_phone(self, info: Info) -> str | None:
        phone = self.row.contact_phone
        if phone:  # only staff get here (permissions.RULES)
            reveal(info, ("Objection", self.row.id or 0), whose="objector")
        return phone


@strawberry.type(description="The public notice (公示) of a candidate.")
class CandidateNotice:
    row: strawberry.Private[models.CandidateNotice]
    posted_at: datetime
    ends_at: datetime

    @classmethod
    def of(cls, row: models.CandidateNotice) -> CandidateNotice:
        return cls(row=row, posted_at=row.posted_at, ends_at=row.ends_at)

    @strawberry.field(description="Staff see every objection with its contact; others none.")
    async def objections(self, info: Info) -> list[Objection]:
        rows = await info.context.loaders.objections_of_notice.load(self.row.id or 0)
        return [Objection.of(r) for r in rows]
