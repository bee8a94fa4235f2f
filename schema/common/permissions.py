"""The permission layer: ONE table, `RULES`, says for every guarded field of the schema who
may call it and what of its answer the caller may see; `install_rules` puts each rule on its
field (a strawberry field extension) when the schema is built. No resolver has a rule of its
own: resolvers read, the rules decide.

A `Rule` has up to four parts:
- `who`: ANYONE, SIGNED_IN (UNAUTHENTICATED otherwise), STAFF or CITY (FORBIDDEN otherwise);
- `checked`: the Nodes the field answers are checked against their kind's rule in
  domain.visibility (batched: one statement per kind and level, none for callers who see
  every row): a node outside is null, a list leaves it out, a connection's edges too (its
  resolver filters in SQL with `visible_clause`, so pages and totalCount are right);
- `targets`: for a mutation, the arguments naming rows a caller of territories must
  administer (`Target("id", Kind.SERVICE_REQUEST)`); one outside answers FORBIDDEN naming
  the argument, and nothing changes. Members and grid workers keep their rights (the domain
  checks them);
- `personal`: personal data shown only to some: WHOLE (a request's private part: blank
  unless the caller may see the request), PHONE (a member's phone: masked as for anyone
  unless its owner, a grid worker of their grid or staff of their community; an unmasked
  one is a PHONE_REVEALED), RECIPIENT (a message's recipient: a PHONE_REVEALED when shown).

`why` says the rule in words; README and PERMISSIONS.md list them. A test walks the schema
and fails when a field that answers a Node, a connection or personal data has no rule here.
"""

from __future__ import annotations

import asyncio
import enum
from collections.abc import Awaitable, Callable, Iterable
from copy import copy
from dataclasses import dataclass
from typing import Any

from strawberry.dataloader import DataLoader
from strawberry.extensions.field_extension import AsyncExtensionResolver, FieldExtension
from strawberry.permission import BasePermission, PermissionExtension
from strawberry.types.base import StrawberryList, StrawberryObjectDefinition, StrawberryOptional
from strawberry.types.field import StrawberryField
from strawberry.utils.str_converters import to_camel_case

from domain.access import mask_phone
from domain.errors import InvalidInput
from domain.infra.db import autocommit
from domain.visibility import TABLES, Kind, check_sql, sees_all, visible_ids
from schema.common.audit import reveal
from schema.common.context import Info
from schema.common.errors import PublicError
from schema.common.ids import decode_id

# ---------------------------------------------------------------- who may call a field


class IsAuthenticated(BasePermission):
    """Any valid token: staff or a member."""

    message = "Sign in: this field needs an `Authorization: Bearer <token>` header."

    def has_permission(self, source: Any, info: Info, **kwargs: Any) -> bool:
        return info.context.viewer.authenticated

    def on_unauthorized(self) -> None:
        raise PublicError(self.message, code="UNAUTHENTICATED")


class IsAdmin(BasePermission):
    """City-wide staff only."""

    message = "Only city-wide administrators may use this field."

    def has_permission(self, source: Any, info: Info, **kwargs: Any) -> bool:
        return info.context.viewer.admin

    def on_unauthorized(self) -> None:
        raise PublicError(self.message, code="FORBIDDEN")


class IsStaff(BasePermission):
    """Staff accounts of any territory (and the city-wide administrator token)."""

    message = "Only staff accounts may use this field."

    def has_permission(self, source: Any, info: Info, **kwargs: Any) -> bool:
        return info.context.viewer.staff

    def on_unauthorized(self) -> None:
        raise PublicError(self.message, code="FORBIDDEN")


class Who(enum.Enum):
    """Who may call a field at all."""

    ANYONE = None
    SIGNED_IN = IsAuthenticated
    STAFF = IsStaff
    CITY = IsAdmin


class Personal(enum.Enum):
    """How a field of personal data is shown (see the module's docstring)."""

    WHOLE = "whole"
    PHONE = "phone"
    RECIPIENT = "recipient"


@dataclass(frozen=True)
class Owner:
    """Data that belongs to one row (`path` on the field's parent names its id, e.g.
    "row.member_id"): shown only to staff who may see that row of `kind` (COMMUNITY: who
    administer it), and with `own` to that member themself; anyone else gets the field's
    blank, or with `masked` the phone masked (138****5678). `revealed`: a whole phone is
    written as PHONE_REVEALED."""

    kind: Kind
    path: str
    own: bool = False
    masked: bool = False
    revealed: bool = False


@dataclass(frozen=True)
class Target:
    """A mutation argument naming a row (or, `many`, a list of them) of `kind`; `path` is
    the argument, dotted into an input ("input.buildingId")."""

    path: str
    kind: Kind
    many: bool = False


@dataclass(frozen=True)
class Rule:
    """What the layer enforces on one field (see the module's docstring)."""

    why: str
    who: Who = Who.ANYONE
    checked: bool = False
    targets: tuple[Target, ...] = ()
    #: A caller of territories must name at least one target (e.g. where a new member lives).
    anchored: bool = False
    personal: Personal | None = None
    owner: Owner | None = None


def rule(why: str, who: Who = Who.ANYONE, *, checked: bool = False,
         targets: Iterable[Target] = (), anchored: bool = False,
         personal: Personal | None = None, owner: Owner | None = None) -> Rule:
    """A Rule, for the table below."""
    return Rule(why, who, checked, tuple(targets), anchored, personal, owner)


#: The Node types and the kind of row each one is.
NODE_KINDS: dict[str, Kind] = {
    "Subdistrict": Kind.SUBDISTRICT, "Community": Kind.COMMUNITY, "Grid": Kind.GRID,
    "Building": Kind.BUILDING, "BuildingGroup": Kind.BUILDING_GROUP, "Member": Kind.MEMBER,
    "ServiceRequest": Kind.SERVICE_REQUEST, "StaffAccount": Kind.STAFF_ACCOUNT,
    "AuditEntry": Kind.AUDIT_ENTRY, "Organisation": Kind.ORGANISATION,
}
_TYPE_OF = {kind: name for name, kind in NODE_KINDS.items()}

_SIGNED_IN, _STAFF, _CITY = Who.SIGNED_IN, Who.STAFF, Who.CITY
_IN = "within the caller's territories for staff of territories"
_PART = "blank unless the caller may see the request (its private part)"
_REQ = Target("id", Kind.SERVICE_REQUEST)
_MEMBER = Target("id", Kind.MEMBER)

# ---------------------------------------------------------------- THE table

RULES: dict[str, Rule] = {
    # -- root queries
    "Query.node": rule(f"any Node the caller may see by its kind's rule ({_IN}); else null",
                       _SIGNED_IN, checked=True),
    "Query.coverage": rule("anyone: places and contacts (phones masked by Member.phone)"),
    "Query.subdistricts": rule(f"subdistricts, {_IN}", _SIGNED_IN, checked=True),
    "Query.grids": rule(f"grids, {_IN}", _SIGNED_IN, checked=True),
    "Query.buildings": rule(f"buildings, {_IN}", _SIGNED_IN, checked=True),
    "Query.members": rule(f"members, {_IN}", _SIGNED_IN, checked=True),
    "Query.mapFeatures": rule(f"each layer filtered by its kind's rule ({_IN}); open requests "
                              "as serviceRequests", _SIGNED_IN),
    "Query.serviceRequests": rule("requests the caller may see: staff those of their "
                                  "communities, grid workers their grids', members their own",
                                  _SIGNED_IN, checked=True),
    "Query.requestStats": rule("counts the requests serviceRequests shows", _SIGNED_IN),
    "Query.outboundMessages": rule(f"staff: messages of requests or members {_IN}", _STAFF),
    "Query.satisfaction": rule("surveys of requests the caller may count (staff their "
                               "communities', grid workers their grids', members their own "
                               "services)", _SIGNED_IN),
    "Query.assessments": rule(f"assessments of members {_IN}; grid workers their grids', "
                              "members their own", _SIGNED_IN),
    "Query.viewer": rule("the caller themself"),
    "Query.trackServiceRequest": rule("anyone holding the request's tracking code "
                                      "(rate-limited): no name or phone in the answer"),
    "Query.calendarOverrides": rule(f"staff: a community {_IN} (domain: FORBIDDEN outside)",
                                    _STAFF),
    "Query.staffAccounts": rule("staff: accounts whose every territory lies within theirs",
                                _STAFF, checked=True),
    "Query.auditLog": rule(f"staff: entries of communities {_IN}", _STAFF, checked=True),
    # -- subscriptions (the feed filters each event: domain.requests.feed.visible_to)
    "Subscription.serviceRequestEvents": rule("events of requests serviceRequests shows, and "
                                              "those naming the member", _SIGNED_IN),
    # -- mutations
    "Mutation.importFeatures": rule("city-wide staff only", _CITY),
    "Mutation.createMember": rule(
        "staff; staff of territories place the member within them", _STAFF,
        targets=[Target("input.buildingId", Kind.BUILDING),
                 Target("input.buildingGroupId", Kind.BUILDING_GROUP),
                 Target("input.gridIds", Kind.GRID, many=True)], anchored=True),
    "Mutation.submitServiceRequest": rule("anyone (rate-limited)"),
    "Mutation.assignServiceRequest": rule(
        "staff of the request's community, or a grid worker of its grid; the member too",
        _SIGNED_IN, targets=[_REQ, Target("memberId", Kind.MEMBER)]),
    "Mutation.acceptServiceRequest": rule("the member it is dispatched to", _SIGNED_IN,
                                          targets=[_REQ]),
    "Mutation.declineServiceRequest": rule("the member it is dispatched to", _SIGNED_IN,
                                           targets=[_REQ]),
    "Mutation.startServiceRequest": rule("its assignee", _SIGNED_IN, targets=[_REQ]),
    "Mutation.completeServiceRequest": rule("its assignee", _SIGNED_IN, targets=[_REQ]),
    "Mutation.cancelServiceRequest": rule("staff of the request's community, or a grid "
                                          "worker of its grid", _SIGNED_IN, targets=[_REQ]),
    "Mutation.submitSurveyResponse": rule("anyone holding the survey's token (rate-limited)"),
    "Mutation.replyToServiceRequest": rule("anyone holding the request's tracking code "
                                           "(rate-limited)"),
    "Mutation.stopServiceRequestNotices": rule("anyone holding the request's tracking code "
                                               "(rate-limited)"),
    "Mutation.waitForResident": rule("its assignee", _SIGNED_IN, targets=[_REQ]),
    "Mutation.resumeServiceRequest": rule("its assignee, staff of the request's community, "
                                          "or a grid worker of its grid", _SIGNED_IN,
                                          targets=[_REQ]),
    "Mutation.setCalendarOverride": rule("staff of the community", _STAFF,
                                         targets=[Target("communityId", Kind.COMMUNITY)]),
    "Mutation.removeCalendarOverride": rule("staff of the community", _STAFF,
                                            targets=[Target("communityId", Kind.COMMUNITY)]),
    "Mutation.signInWithPassword": rule("anyone (rate-limited)"),
    "Mutation.requestSignInCode": rule("anyone (rate-limited)"),
    "Mutation.signInWithCode": rule("anyone (rate-limited)"),
    "Mutation.refreshSession": rule("anyone holding a refresh token (rate-limited)"),
    "Mutation.signOut": rule("anyone holding a refresh token"),
    "Mutation.createStaffAccount": rule("staff; territories within their own (domain)", _STAFF),
    "Mutation.updateStaffAccount": rule("staff; an account within their territories "
                                        "(domain: NOT_FOUND outside)", _STAFF),
    # -- payloads
    "RequestPayload.request": rule("the request, whole or its public part (ServiceRequest)"),
    "TrackedRequest.photos": rule("the request's photos, to the holder of its tracking code"),
    "TrackedRequest.description": rule("the resident's own words, to the holder of the "
                                       "request's tracking code"),
    "TrackedStep.note": rule("only the notes meant for the resident (domain.requests."
                             "public_view.PUBLIC_NOTES), to the holder of the tracking code"),
    "CalendarOverride.note": rule("staff of the community (calendarOverrides, "
                                  "setCalendarOverride)"),
    "RequestPayload.possibleDuplicates": rule("whole or public part (ServiceRequest)"),
    "MemberPayload.member": rule("the member just created"),
    "StaffAccountPayload.account": rule("the account just created or changed"),
    "Viewer.account": rule("the caller's own account"),
    "Viewer.member": rule("the caller's own member record"),
    # -- links between Nodes
    "Subdistrict.communities": rule(f"{_IN}", checked=True),
    "Community.subdistrict": rule(f"{_IN}", checked=True),
    "Community.grids": rule("the grids of a community the caller sees"),
    "Grid.community": rule("the community of a grid the caller sees"),
    "Grid.gridWorkers": rule(f"members {_IN}", checked=True),
    "Grid.buildings": rule("the buildings of a grid the caller sees"),
    "Grid.buildingGroups": rule("the groups of a grid the caller sees"),
    "Building.grid": rule("the grid of a building the caller sees"),
    "Building.group": rule(f"{_IN}", checked=True),
    "Building.members": rule(f"members {_IN}", checked=True),
    "BuildingGroup.leader": rule(f"{_IN}", checked=True),
    "BuildingGroup.grid": rule("the grid of a group the caller sees"),
    "BuildingGroup.buildings": rule(f"{_IN}", checked=True),
    "BuildingGroup.members": rule(f"{_IN}", checked=True),
    "Member.building": rule(f"{_IN}", checked=True),
    "Member.group": rule(f"{_IN}", checked=True),
    "Member.grids": rule(f"{_IN}", checked=True),
    "Coverage.building": rule("anyone: the place asked about"),
    "Coverage.buildingGroup": rule("anyone: the place asked about"),
    "Coverage.grid": rule("anyone: the place asked about"),
    "Coverage.community": rule("anyone: the place asked about"),
    "Coverage.contacts": rule("anyone: who serves the place (phones by Member.phone)"),
    "RequestEvent.member": rule(f"{_IN}", checked=True),
    "RequestEvent.request": rule("whole or public part (ServiceRequest)"),
    "MemberAssessment.member": rule("the member assessed (assessments decides)"),
    "StaffAccount.territories": rule("the territories of an account the caller sees"),
    "Territory.subdistrict": rule("a territory the caller holds or gives"),
    "Territory.community": rule("a territory the caller holds or gives"),
    "AuditEntry.community": rule("the community of an entry the caller sees"),
    # -- personal data
    "Member.phone": rule("its owner, grid workers of the member's grids, staff of their "
                         "community; masked for anyone else", personal=Personal.PHONE),
    "ServiceRequest.description": rule(_PART, personal=Personal.WHOLE),
    "ServiceRequest.address": rule(_PART, personal=Personal.WHOLE),
    "ServiceRequest.location": rule(_PART, personal=Personal.WHOLE),
    "ServiceRequest.dispatchedAt": rule(_PART, personal=Personal.WHOLE),
    "ServiceRequest.acceptDeadline": rule(_PART, personal=Personal.WHOLE),
    "ServiceRequest.completedAt": rule(_PART, personal=Personal.WHOLE),
    "ServiceRequest.resolution": rule(_PART, personal=Personal.WHOLE),
    "ServiceRequest.building": rule(_PART, personal=Personal.WHOLE),
    "ServiceRequest.buildingGroup": rule(_PART, personal=Personal.WHOLE),
    "ServiceRequest.grid": rule(_PART, personal=Personal.WHOLE),
    "ServiceRequest.community": rule(_PART, personal=Personal.WHOLE),
    "ServiceRequest.assignee": rule(_PART, personal=Personal.WHOLE),
    "ServiceRequest.contactName": rule(_PART, personal=Personal.WHOLE),
    "ServiceRequest.contactPhone": rule(_PART + "; a PHONE_REVEALED but to its submitter",
                                        personal=Personal.WHOLE),
    "ServiceRequest.timeline": rule(_PART, personal=Personal.WHOLE),
    "ServiceRequest.survey": rule(_PART, personal=Personal.WHOLE),
    "ServiceRequest.photos": rule(_PART, personal=Personal.WHOLE),
    "RequestEvent.note": rule("in a timeline only the request's viewers get"),
    "Survey.comment": rule("in a survey only the request's viewers get"),
    "OutboundMessage.recipient": rule("in outboundMessages (staff, within territories); a "
                                      "PHONE_REVEALED", personal=Personal.RECIPIENT),
    "OutboundMessage.body": rule("in outboundMessages (staff, within territories)"),
    "AuditEntry.detail": rule("in auditLog and node (staff, within territories)"),
    "Building.address": rule("a building's street address: the map, not a person"),
    "Building.location": rule("a building's point: the map, not a person"),
    "OutboundMessage.surveyToken": rule("in outboundMessages (staff, within territories)"),
    "Coverage.matchedAddress": rule("anyone: the address asked about"),
    "Session.accessToken": rule("the caller's own new session"),
    "Session.refreshToken": rule("the caller's own new session"),
    "SignInCodePayload.sentTo": rule("masked always"),
    "RequestPayload.photoLocation": rule("the GPS of the caller's own photos, just sent"),
    # -- the organisation area (issue 11, contract/organisation.graphql)
    "Query.organisations": rule(f"staff: partner organisations {_IN}", _STAFF, checked=True),
    "Query.noticeBoard": rule("anyone: what the printed board by the stairwell shows"),
    "Query.groupSuggestions": rule(f"staff: buildings {_IN}", _STAFF, checked=True),
    "Query.membersForReview": rule(f"staff: assessments of members {_IN}", _STAFF),
    "Query.coverageAt": rule("staff: places then (coverage's answer)", _STAFF),
    "Mutation.createOrganisation": rule("staff of the organisation's community", _STAFF,
                                        targets=[Target("input.communityId", Kind.COMMUNITY)]),
    "Mutation.updateMember": rule(
        "staff of the member's community and of where they move (both for another "
        "community; domain too)", _STAFF,
        targets=[_MEMBER, Target("input.buildingId", Kind.BUILDING),
                 Target("input.buildingGroupId", Kind.BUILDING_GROUP),
                 Target("input.organisationId", Kind.ORGANISATION)]),
    "Mutation.postCandidate": rule("staff of the member's community", _STAFF,
                                   targets=[_MEMBER]),
    "Mutation.objectToCandidate": rule("anyone (rate-limited); the domain takes candidates on "
                                       "notice only"),
    "Mutation.dismissObjection": rule("staff of the candidate's community (domain)", _STAFF),
    "Mutation.upholdObjection": rule("staff of the candidate's community (domain)", _STAFF),
    "Mutation.admitMember": rule("staff of the member's community", _STAFF, targets=[_MEMBER]),
    "Mutation.suspendMember": rule("staff of the member's community", _STAFF,
                                   targets=[_MEMBER]),
    "Mutation.reinstateMember": rule("staff of the member's community", _STAFF,
                                     targets=[_MEMBER]),
    "Mutation.exitMember": rule("staff of the member's community", _STAFF, targets=[_MEMBER]),
    "Mutation.createBuildingGroup": rule("staff of the grid's community", _STAFF,
                                         targets=[Target("input.gridId", Kind.GRID)]),
    "Mutation.updateBuildingGroup": rule("staff of the group's community", _STAFF,
                                         targets=[Target("id", Kind.BUILDING_GROUP)]),
    "Mutation.setGridWorkers": rule("staff of the grid's community", _STAFF,
                                    targets=[Target("gridId", Kind.GRID),
                                             Target("memberIds", Kind.MEMBER, many=True)]),
    "Mutation.updateGridBoundary": rule("staff of the grid's community", _STAFF,
                                        targets=[Target("gridId", Kind.GRID)]),
    "OrganisationPayload.organisation": rule("the organisation just created"),
    "BuildingGroupPayload.buildingGroup": rule("the group just created or changed"),
    "GridPayload.grid": rule("the grid just changed"),
    "GridPayload.movedBuildings": rule("the buildings the change moved"),
    "ObjectionResolutionPayload.objection": rule("the objection just resolved"),
    "Organisation.community": rule("the community of an organisation the caller sees"),
    "Organisation.members": rule(f"members {_IN}", checked=True),
    "Organisation.contactPhone": rule(
        "whole for staff of the organisation's community (a PHONE_REVEALED), masked for "
        "anyone else", owner=Owner(Kind.COMMUNITY, "row.community_id", masked=True,
                                   revealed=True)),
    "Organisation.contactName": rule("of an organisation the caller sees (staff within "
                                     "territories): whom to call there"),
    "Objection.resolution": rule("staff only: objections are listed to staff alone"),
    "Member.organisation": rule(f"{_IN}", checked=True),
    "Member.history": rule("staff who may see the member, and the member themself; empty for "
                           "anyone else", owner=Owner(Kind.MEMBER, "row.id", own=True)),
    "Member.notice": rule("a candidate's public notice (公示 is public)"),
    "CandidateNotice.objections": rule("staff who may see the candidate; empty for anyone "
                                       "else", owner=Owner(Kind.MEMBER, "row.member_id")),
    "Objection.contactPhone": rule("staff who may see the candidate (objections reach no one "
                                   "else: CandidateNotice.objections, the staff mutations' "
                                   "payloads); a PHONE_REVEALED", _STAFF),
    "Grid.boundaryVersions": rule("the boundaries of a grid the caller sees"),
    "NoticeBoard.buildingGroup": rule("anyone: the group whose board it is"),
    "NoticeBoardEntry.phone": rule("whole only where the member agreed (publishPhone)"),
    "GroupSuggestion.building": rule(f"{_IN}", checked=True),
    "GroupSuggestion.currentGroup": rule(f"{_IN}", checked=True),
    "ReviewCase.member": rule(f"{_IN}", checked=True),
}

# ---------------------------------------------------------------- checking rows


def _loader(info: Info, kind: Kind) -> DataLoader[int, bool]:
    """Per operation and check: whether the caller may see each row id, batched. Kinds
    whose check is the same for this caller share it (`check_sql`): for staff of
    territories, a page of members checked for the page is checked for their phones too."""
    checks = info.context.checks
    loader: DataLoader[int, bool] | None = checks.get(kind)
    if loader is None:
        viewer, sessions = info.context.viewer, info.context.sessions
        key = (TABLES[kind], check_sql(viewer, kind))
        if key not in checks:
            async def load(ids: list[int]) -> list[bool]:
                async with autocommit(sessions) as session:
                    seen = await visible_ids(session, viewer, kind, ids)
                return [pk in seen for pk in ids]
            checks[key] = DataLoader(load_fn=load)
        loader = checks[kind] = checks[key]
    return loader


async def may_see(info: Info, kind: Kind, pk: int) -> bool:
    """Whether the caller may see row `pk` of `kind` (batched with the operation's others)."""
    if sees_all(info.context.viewer, kind):
        return True
    return await _loader(info, kind).load(pk)


def _known(info: Info, kind: Kind, pk: int) -> bool | None:
    """`may_see`'s answer when it needs no wait (the caller sees every row of `kind`, or
    the row was checked already in this operation), else None."""
    if sees_all(info.context.viewer, kind):
        return True
    checked = _loader(info, kind).cache_map.get(pk)
    if checked is None or not checked.done() or checked.cancelled() or checked.exception():
        return None
    return bool(checked.result())


def _attribute(source: Any, path: str) -> Any:
    for name in path.split("."):
        source = getattr(source, name)
    return source


async def _owner_allows(info: Info, owner: Owner, pk: int | None) -> bool:
    """Whether the caller may see data that belongs to row `pk` of `owner.kind`."""
    viewer = info.context.viewer
    if owner.own and pk is not None and owner.kind is Kind.MEMBER and viewer.member_id == pk:
        return True
    if not viewer.staff:
        return False
    if pk is None or owner.kind is Kind.COMMUNITY:
        return viewer.administers(pk)
    return await may_see(info, owner.kind, pk)


async def _node_visible(info: Info, node: Any) -> bool:
    whole = getattr(node, "whole", None)
    if whole is not None:  # a ServiceRequest decided its part when wrapped (Kind rule twin)
        return bool(whole)
    kind = NODE_KINDS.get(type(node).__name__)
    row = getattr(node, "row", None)
    if kind is None or row is None:
        return True
    return await may_see(info, kind, int(row.id or 0))


async def _nodes_visible(info: Info, nodes: list[Any]) -> list[bool]:
    """`_node_visible` of each of `nodes`, as one batch of loads per kind (and no task per
    node: a page of 50 made 50)."""
    kept = [True] * len(nodes)
    asked: dict[Kind, list[tuple[int, int]]] = {}
    viewer = info.context.viewer
    for index, node in enumerate(nodes):
        whole = getattr(node, "whole", None)
        if whole is not None:
            kept[index] = bool(whole)
            continue
        kind = NODE_KINDS.get(type(node).__name__)
        row = getattr(node, "row", None)
        if kind is not None and row is not None and not sees_all(viewer, kind):
            asked.setdefault(kind, []).append((index, int(row.id or 0)))
    loads = [_loader(info, kind).load_many([pk for _, pk in wanted])
             for kind, wanted in asked.items()]  # every kind's batch before the first await
    for wanted, answers in zip(asked.values(), await asyncio.gather(*loads), strict=True):
        for (index, _), answer in zip(wanted, answers, strict=True):
            kept[index] = answer
    return kept


async def _visible(info: Info, value: Any) -> Any:
    """`value` without what the caller may not see: a Node or None, a list, a Connection."""
    if value is None:
        return None
    if isinstance(value, list):
        kept = await _nodes_visible(info, value)
        return [item for item, keep in zip(value, kept, strict=True) if keep]
    edges = getattr(value, "edges", None)
    if edges is not None:  # one batch for the page
        kept = await _nodes_visible(info, [edge.node for edge in edges])
        value.edges = [edge for edge, keep in zip(edges, kept, strict=True) if keep]
        return value
    return value if await _node_visible(info, value) else None


def _arguments(kwargs: dict[str, Any], path: str) -> Any:
    value: Any = kwargs
    for part in path.split("."):
        value = value.get(to_snake(part)) if isinstance(value, dict) else getattr(
            value, to_snake(part), None)
        if value is None:
            return None
    return value


def to_snake(name: str) -> str:
    """buildingGroupId → building_group_id."""
    return "".join(f"_{c.lower()}" if c.isupper() else c for c in name)


async def _check_targets(info: Info, rule_: Rule, kwargs: dict[str, Any]) -> None:
    """FORBIDDEN naming the first target argument outside the caller's territories."""
    viewer = info.context.viewer
    if not viewer.territorial:
        return
    named = False
    for target in rule_.targets:
        value = _arguments(kwargs, target.path)
        if value is None:
            continue
        values = list(value) if target.many else [value]
        for index, one in enumerate(values):
            field = f"{target.path}[{index}]" if target.many else target.path
            try:
                pk = decode_id(str(one), _TYPE_OF.get(target.kind, target.kind.name), field)
            except InvalidInput:
                continue  # the resolver answers the malformed id
            named = True
            if not await may_see(info, target.kind, pk):
                raise PublicError(f"{field}: this lies outside your territories",
                                  code="FORBIDDEN", field=field)
    if rule_.anchored and not named:
        raise PublicError("name where it lies within your territories: "
                          + ", ".join(t.path for t in rule_.targets), code="FORBIDDEN",
                          field=rule_.targets[0].path)


class Guarded(FieldExtension):
    """A field's rule at work: targets before the resolver, the answer after it."""

    def __init__(self, key: str, rule_: Rule, blank: Any = None) -> None:
        self.key, self.rule, self.blank = key, rule_, blank

    async def _owned(self, owner: Owner, next_: AsyncExtensionResolver, source: Any,
                     info: Info, kwargs: dict[str, Any]) -> Any:
        pk = _attribute(source, owner.path)
        allowed = await _owner_allows(info, owner, pk)
        if not allowed and not owner.masked:
            return copy(self.blank)
        value = await _awaited(next_(source, info, **kwargs))
        if not allowed:
            return mask_phone(value)
        if owner.revealed and value:
            reveal(info, (self.key.split(".")[0], int(_attribute(source, "row.id"))),
                   whose=self.key.split(".")[1],
                   community_id=pk if owner.kind is Kind.COMMUNITY else None)
        return value

    def _hidden(self, source: Any) -> bool:
        return self.rule.personal is Personal.WHOLE and not getattr(source, "whole", True)

    def resolve(self, next_: Callable[..., Any], source: Any, info: Info,
                **kwargs: Any) -> Any:
        if self._hidden(source):
            return copy(self.blank)
        value = next_(source, info, **kwargs)
        if self.rule.personal is Personal.PHONE:  # the phone, or an awaitable of it
            return _member_phone(info, source, value)
        if self.rule.personal is Personal.RECIPIENT:
            _reveal_recipient(info, source, value)
        return value

    async def resolve_async(self, next_: AsyncExtensionResolver, source: Any, info: Info,
                            **kwargs: Any) -> Any:
        if self.rule.targets:
            await _check_targets(info, self.rule, kwargs)
        if self._hidden(source):
            return copy(self.blank)
        if self.rule.owner is not None:
            return await self._owned(self.rule.owner, next_, source, info, kwargs)
        personal = self.rule.personal
        value = await _awaited(next_(source, info, **kwargs))
        if personal is Personal.PHONE:
            return await _awaited(_member_phone(info, source, value))
        if personal is Personal.RECIPIENT:
            _reveal_recipient(info, source, value)
        if self.rule.checked:
            return await _visible(info, value)
        return value

    @property
    def supports_sync(self) -> bool:
        return not (self.rule.checked or self.rule.targets)


async def _awaited(value: Any) -> Any:
    return await value if isinstance(value, Awaitable) else value


def _member_phone(info: Info, member: Any,
                  phone: str | None) -> str | Awaitable[str | None] | None:
    """Member.phone: whole for its owner (no reveal), for those the MEMBER_PHONE rule lets
    read it (a PHONE_REVEALED), masked for anyone else. Decided at once when the answer is
    known (the caller sees every phone, or the page's members were checked already: for staff
    of territories that check is the phones' too), else an awaitable of it."""
    viewer, pk = info.context.viewer, int(member.row.id or 0)
    if not phone or viewer.member_id == pk:
        return phone
    if not (viewer.staff or viewer.grid_ids):
        return mask_phone(phone)
    known = _known(info, Kind.MEMBER_PHONE, pk)
    if known is None:
        return _phone_once_checked(info, pk, phone)
    return _phone_shown(info, pk, phone, known)


async def _phone_once_checked(info: Info, pk: int, phone: str) -> str | None:
    return _phone_shown(info, pk, phone, await may_see(info, Kind.MEMBER_PHONE, pk))


def _phone_shown(info: Info, pk: int, phone: str, allowed: bool) -> str | None:
    if not allowed:
        return mask_phone(phone)
    reveal(info, ("Member", pk), whose="member")
    return phone


def _reveal_recipient(info: Info, message: Any, recipient: Any) -> None:
    """An outbound message's phone recipient shown is a PHONE_REVEALED of its member."""
    row = getattr(message, "row", None)
    if row is None or not isinstance(recipient, str) or not recipient[:1].isdigit():
        return
    subject = (("Member", row.member_id) if row.member_id is not None
               else ("ServiceRequest", row.request_id or 0))
    reveal(info, subject, whose="recipient")


# ---------------------------------------------------------------- installing the table

_INSTALLED = "_gridsteward_rule"


def field_key(definition: StrawberryObjectDefinition, field: StrawberryField) -> str:
    """"Type.field" as the schema names them."""
    return f"{definition.name}.{field.graphql_name or to_camel_case(field.python_name)}"


def install_rules(definitions: Iterable[StrawberryObjectDefinition]) -> set[str]:
    """Put each rule of RULES on its field (once); the keys installed."""
    installed = set()
    for definition in definitions:
        for field in definition.fields:
            key = field_key(definition, field)
            found = RULES.get(key)
            if found is None:
                continue
            installed.add(key)
            if getattr(field, _INSTALLED, None) is found:
                continue
            setattr(field, _INSTALLED, found)
            guard: list[FieldExtension] = []
            if (found.checked or found.targets or found.personal is not None
                    or found.owner is not None):
                guard.append(Guarded(key, found, _blank(field)))
            if found.who.value is not None:
                guard.append(PermissionExtension([found.who.value()], use_directives=False))
            field.extensions = [e for e in field.extensions
                                if not isinstance(e, Guarded | PermissionExtension)] + guard
    return installed


def _blank(field: StrawberryField) -> Any:
    """What a hidden private field answers: "" for a String!, [] for a list, else null."""
    kind = field.type
    if isinstance(kind, StrawberryOptional):
        return None
    if isinstance(kind, StrawberryList):
        return []
    return "" if kind is str else None


def rule_of(type_name: str, field_name: str) -> Rule | None:
    """The rule of a field, if the table has one."""
    return RULES.get(f"{type_name}.{field_name}")


#: Old-style permission lists, for fields written before the table: a field with them still
#: needs its row in RULES (whose rule then replaces them).
AUTHENTICATED: list[type[BasePermission]] = [IsAuthenticated]
STAFF: list[type[BasePermission]] = [IsStaff]
ADMIN: list[type[BasePermission]] = [IsAdmin]
