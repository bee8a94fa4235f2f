"""Read-only root fields of people: who is asking, and the staff accounts within reach."""

from __future__ import annotations

from datetime import datetime

import strawberry

from domain.access import Viewer as ViewerRow
from domain.people import accounts, audit_log
from domain.people.models import TerritoryLevel
from domain.people.territories import CITY_TERRITORY, of_level
from domain.people.territories import Territory as TerritoryRow
from schema.common.connections import Connection, page_size, to_connection
from schema.common.context import Info
from schema.common.ids import decode_any, decode_cursor
from schema.people.types import AuditEntry, StaffAccount, Territory, Viewer
from schema.spatial.types import Member


def _scope_territories(viewer: ViewerRow) -> list[TerritoryRow]:
    scope = viewer.scope
    if scope.city:
        return [CITY_TERRITORY]
    return ([of_level(TerritoryLevel.SUBDISTRICT, pk) for pk in sorted(scope.subdistrict_ids)]
            + [of_level(TerritoryLevel.COMMUNITY, pk) for pk in sorted(scope.community_ids)])


@strawberry.type
class PeopleQuery:
    @strawberry.field(description="Who is asking: their staff account or member record and "
                      "where they administer; null for an anonymous caller (or a token whose "
                      "session has ended).")
    async def viewer(self, info: Info) -> Viewer | None:
        viewer = info.context.viewer
        if not viewer.authenticated:
            return None
        loaders = info.context.loaders
        account = None if viewer.account_id is None else await loaders.account.load(
            viewer.account_id)
        member = None if viewer.member_id is None else await loaders.member.load(
            viewer.member_id)
        return Viewer(account=None if account is None else StaffAccount.of(account),
                      member=None if member is None else Member.of(member),
                      territories=[Territory.of(t) for t in _scope_territories(viewer)])

    @strawberry.field(description="The staff accounts within the "
                      "caller's territories (every territory of theirs within the caller's).")
    async def staff_accounts(self, info: Info, first: int | None = 50,
                             after: str | None = None) -> Connection[StaffAccount]:
        async with info.context.sessions() as session:
            page = await accounts.accounts_page(session, scope=info.context.viewer.scope,
                                                first=page_size(first),
                                                after=decode_cursor(after))
        return to_connection(page, StaffAccount.of)

    @strawberry.field(description="The audit trail within the "
                      "caller's territories, newest first: city-wide callers see every entry, "
                      "others those of communities within their territories. Staff only "
                      "(FORBIDDEN otherwise). Filters: the Node concerned, the actor "
                      '("account:12"), the action (SIGN_IN, PHONE_REVEALED, ...), since '
                      "(inclusive) and until (exclusive).")
    async def audit_log(self, info: Info, subject_id: strawberry.ID | None = None,
                        actor: str | None = None, action: str | None = None,
                        since: datetime | None = None, until: datetime | None = None,
                        first: int | None = 50,
                        after: str | None = None) -> Connection[AuditEntry]:
        given = audit_log.AuditFilter(
            subject=None if subject_id is None else decode_any(subject_id, "subjectId"),
            actor=actor, action=action, since=since, until=until)
        async with info.context.sessions() as session:
            page = await audit_log.audit_page(session, scope=info.context.viewer.scope,
                                              given=given, first=page_size(first),
                                              after=decode_cursor(after))
        return to_connection(page, AuditEntry.of)
