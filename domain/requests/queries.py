"""Reading service requests: who may see which, filtered lists paged in SQL, the figures a
community committee looks at, timelines and the outbox.

Visibility is domain.visibility's SERVICE_REQUEST rule: city-wide staff see every request,
staff of territories those of their communities, a member those assigned to them and, as a
grid worker, every request of the grids they serve; nobody else sees any.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from geoalchemy2.functions import ST_Intersects
from sqlalchemy import Integer, and_, bindparam, cast, func, or_, select, text, true
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased
from sqlalchemy.sql import Select
from sqlmodel import col

from domain import visibility
from domain.access import Viewer
from domain.infra.db import one_of
from domain.infra.paging import Page, fetch_page
from domain.requests import rollups
from domain.requests.models import (
    OPEN_STATUSES,
    RUNNING_STATUSES,
    OutboundMessage,
    RequestEvent,
)
from domain.requests.models import ServiceRequest as Request
from domain.requests.policy import CATEGORY_NAMES
from domain.spatial import directory
from domain.spatial.directory import BBox, Scope
from domain.spatial.models import ServiceCategory
from domain.visibility import Kind, sees_request

OPEN = tuple(s.value for s in OPEN_STATUSES)
#: Open with the clock running (a request WAITING_RESIDENT is not overdue while it waits).
RUNNING = tuple(s.value for s in RUNNING_STATUSES)
DONE = ("COMPLETED", "CLOSED")


# ---------------------------------------------------------------- rules shared by every read

def is_overdue(row: Request, now: datetime) -> bool:
    """Past its time limit (规定时限): flagged by the sweep, still open after `due_at`, or
    completed after it. `overdue_clause` is the same rule in SQL."""
    if row.overdue:
        return True
    if row.status in RUNNING:
        return row.due_at < now
    return row.completed_at is not None and row.completed_at > row.due_at


def overdue_clause(now: datetime) -> Any:
    """`is_overdue` as a SQL condition on service_request, never NULL (so NOT works)."""
    return or_(col(Request.overdue),
               and_(col(Request.status).in_(RUNNING), col(Request.due_at) < now),
               and_(col(Request.completed_at).is_not(None),
                    col(Request.completed_at) > col(Request.due_at)))


def can_see(viewer: Viewer, row: Request) -> bool:
    """Whether `viewer` may read `row` in lists (and its contact in full): the
    SERVICE_REQUEST rule of domain.visibility."""
    return sees_request(viewer, community_id=row.community_id, assignee_id=row.assignee_id,
                        grid_id=row.grid_id)


def visible_clause(viewer: Viewer) -> Any:
    """`can_see` as a SQL condition on service_request (domain.visibility's rule)."""
    return visibility.visible_clause(viewer, Kind.SERVICE_REQUEST, Request)


#: `can_see` as raw SQL on `service_request r`, for the map layers and vector tiles; its
#: parameters come from `visible_params` (both domain.visibility's).
VISIBLE_SQL = visibility.visible_sql(Kind.SERVICE_REQUEST, "r")
#: Open statuses as a SQL list, and the category's Chinese name, on `service_request r`.
OPEN_SQL = ", ".join(f"'{s}'" for s in OPEN)
CATEGORY_NAME_SQL = "CASE r.category {} END".format(
    " ".join(f"WHEN '{code}' THEN '{name}'" for code, name in CATEGORY_NAMES.items()))


visible_params = visibility.visible_params


def scope_clause(scope: Scope) -> Any:
    """Requests assigned to a member, or located in a building group, grid or community."""
    if scope.member_id is not None:
        return col(Request.assignee_id) == scope.member_id
    if scope.building_group_id is not None:
        return col(Request.group_id) == scope.building_group_id
    if scope.grid_id is not None:
        return col(Request.grid_id) == scope.grid_id
    if scope.community_id is not None:
        return col(Request.community_id) == scope.community_id
    return true()


def _within(column: Any, since: datetime | None, until: datetime | None) -> Any:
    """since <= column < until; an open end is unbounded."""
    bounds = [true()]
    if since is not None:
        bounds.append(column >= since)
    if until is not None:
        bounds.append(column < until)
    return and_(*bounds)


# ---------------------------------------------------------------- lists and look-ups

@dataclass(frozen=True)
class RequestFilter:
    """What `serviceRequests` narrows by; empty `statuses` means every status."""

    scope: Scope = field(default_factory=Scope)
    statuses: Sequence[str] = ()
    category: str | None = None
    bbox: BBox | None = None
    overdue: bool | None = None


def _territory(viewer: Viewer) -> Any:
    """For staff of subdistricts or communities, their communities as literal values: the
    same rows as the visibility rule (which resolves them while the statement runs, too late
    for the planner), said so that the planner knows how few they are and pages one
    community through service_request_community_page_idx (community_id, id) in id order.
    Without it, a community's page scanned the primary key for its 1/400 of a 10x city's
    requests (223 ms); `true()` for everyone else."""
    if visibility.territorial_only(viewer):
        return col(Request.community_id).in_(sorted(viewer.communities))
    return true()


def _filtered(viewer: Viewer, filters: RequestFilter, now: datetime) -> Select[Any]:
    stmt = select(Request).where(visible_clause(viewer), _territory(viewer),
                                 scope_clause(filters.scope))
    if filters.statuses:
        stmt = stmt.where(col(Request.status).in_(list(filters.statuses)))
    if filters.category is not None:
        stmt = stmt.where(col(Request.category) == filters.category)
    if filters.bbox is not None:
        stmt = stmt.where(ST_Intersects(Request.location, filters.bbox.envelope()))
    if filters.overdue is not None:
        late = overdue_clause(now)
        stmt = stmt.where(late if filters.overdue else ~late)
    return stmt


async def list_requests(session: AsyncSession, *, viewer: Viewer, filters: RequestFilter,
                        now: datetime, first: int, after: int | None) -> Page[Request]:
    """The requests `viewer` may see that match `filters`, paged by id in SQL."""
    listed = _filtered(viewer, filters, now)
    communities = sorted(viewer.communities) if visibility.territorial_only(viewer) else []
    if len(communities) < 2:
        return await fetch_page(session, listed, Request.id, first=first, after=after)
    return await _page_of_communities(session, listed, communities, first=first, after=after)


async def _page_of_communities(session: AsyncSession, listed: Select[Any],
                               communities: list[int], *, first: int,
                               after: int | None) -> Page[Request]:
    """A page of `listed` for staff of several communities (a subdistrict's ten, say): each
    community's next first + 1 requests in id order from service_request_community_page_idx
    (a LATERAL per community), merged by id. PostgreSQL cannot read several communities'
    ranges of (community_id, id) as one ordered range, so a subdistrict's page otherwise
    scanned the primary key and dropped the other communities' requests (33-45 ms at 10x,
    growing with the city)."""
    community = func.unnest(cast(bindparam("communities", communities, type_=ARRAY(Integer)),
                                 ARRAY(Integer))).table_valued("id").render_derived(name="c")
    each = listed.where(col(Request.community_id) == community.c.id)
    if after is not None:
        each = each.where(col(Request.id) > after)
    ranges = each.order_by(col(Request.id)).limit(first + 1).lateral("r")
    row = aliased(Request, ranges)
    stmt = select(row).select_from(community.join(ranges, true())).order_by(ranges.c.id) \
        .limit(first + 1)
    rows = (await session.execute(stmt)).scalars().all()
    return Page(items=list(rows[:first]), has_next=len(rows) > first,
                has_previous=after is not None, listed=listed)


async def requests_by_ids(session: AsyncSession, ids: Sequence[int]) -> list[Request | None]:
    """Requests in the order of `ids` (None where unknown), read afresh from the database."""
    stmt = select(Request).where(one_of(col(Request.id), ids)).execution_options(
        populate_existing=True)
    found = {row.id: row for row in (await session.execute(stmt)).scalars()}
    return [found.get(i) for i in ids]


async def events_of(session: AsyncSession,
                    request_ids: Sequence[int]) -> list[list[RequestEvent]]:
    """For each request, its timeline in the order it was written (ids grow with each
    append, and every change locks the request, so id order is the causal order)."""
    return await directory.by_parent(session, RequestEvent, "request_id", request_ids)


async def list_messages(session: AsyncSession, *, request_id: int | None, kind: str | None,
                        first: int, after: int | None,
                        viewer: Viewer | None = None) -> list[OutboundMessage]:
    """Outbound messages `viewer` may see (OUTBOUND_MESSAGE; every one without a viewer:
    the command line), oldest first, optionally of one request or kind, after an id."""
    stmt = select(OutboundMessage)
    if viewer is not None:
        stmt = stmt.where(visibility.visible_clause(viewer, Kind.OUTBOUND_MESSAGE,
                                                    OutboundMessage))
    if request_id is not None:
        stmt = stmt.where(col(OutboundMessage.request_id) == request_id)
    if kind:
        stmt = stmt.where(col(OutboundMessage.kind) == kind)
    if after is not None:
        stmt = stmt.where(col(OutboundMessage.id) > after)
    rows = await session.execute(stmt.order_by(col(OutboundMessage.id)).limit(first))
    return list(rows.scalars())


# ---------------------------------------------------------------- figures

@dataclass(frozen=True)
class Stats:
    """The committee's figures ("100+ needs collected, 60+ dispatched, 80+ served")."""

    submitted: int
    dispatched: int
    completed: int
    overdue: int
    by_category: dict[str, int]
    #: Submitted in the window with a due time counted in calendar days: the working
    #: calendar did not know the year (domain.workdays).
    calendar_fallback: int = 0


#: A timeline event that hands its request to a member: dispatch, assignment by hand, and a
#: grid worker taking an escalated request. Written out, not bound, so that the planner can
#: match it to the partial index request_event_handed_at_idx (migration 0009) in a prepared
#: statement's generic plan too.
HANDED_SQL = ("request_event.kind IN ('DISPATCHED', 'ASSIGNED') OR "
              "(request_event.kind = 'ACCEPTED' AND request_event.from_status = 'SUBMITTED')")


def _dispatched(viewer: Viewer, scope: Scope, since: datetime | None,
                until: datetime | None) -> Any:
    """How many requests in scope were handed to a member in the window: a semi-join in its
    own subquery, which PostgreSQL plans as a join (index probes per request for a community,
    a hash of the window's events for a city, spilling to disk past work_mem). Inside the
    count's FILTER it was a SubPlan that, once the window's ids outgrew the hash memory,
    re-read them for every request (86 s for one community of the larger city)."""
    handed = select(col(RequestEvent.request_id)).where(
        text(f"({HANDED_SQL})"), _within(col(RequestEvent.at), since, until))
    return (select(func.count()).select_from(Request)
            .where(visible_clause(viewer), scope_clause(scope), col(Request.id).in_(handed))
            .correlate(None).scalar_subquery())


def _stats_statement(viewer: Viewer, scope: Scope, since: datetime | None,
                     until: datetime | None, now: datetime) -> Select[*tuple[Any, ...]]:
    submitted = _within(col(Request.submitted_at), since, until)
    done = and_(col(Request.status).in_(DONE), _within(col(Request.completed_at), since, until))
    counts = [
        func.count().filter(submitted).label("submitted"),
        _dispatched(viewer, scope, since, until).label("dispatched"),
        func.count().filter(done).label("completed"),
        func.count().filter(and_(submitted, overdue_clause(now))).label("overdue"),
        func.count().filter(and_(submitted, col(Request.due_fallback))).label("fallback"),
        *(func.count().filter(and_(submitted, col(Request.category) == c.value)).label(c.value)
          for c in ServiceCategory),
    ]
    return select(*counts).select_from(Request).where(visible_clause(viewer),
                                                      scope_clause(scope))


async def request_stats(session: AsyncSession, *, viewer: Viewer, scope: Scope,
                        since: datetime | None, until: datetime | None,
                        now: datetime) -> Stats:
    """Figures over the requests `viewer` may see in `scope`, in one statement:
    submitted (submitted in the window), dispatched (handed to a member in the window),
    completed (completed in the window and not reopened), overdue (submitted in the window
    and overdue at `now`), and submissions per category.

    Read from the roll-ups (domain.requests.rollups) for the city and for territories of
    communities; from the raw rows (`exact_request_stats`) for a member, a grid or a
    building group, and for callers who see requests by assignment or grid."""
    counts = await rollups.request_counts(session, viewer=viewer, scope=scope, since=since,
                                          until=until, now=now)
    if counts is None:
        return await exact_request_stats(session, viewer=viewer, scope=scope, since=since,
                                         until=until, now=now)
    return Stats(submitted=counts["submitted"], dispatched=counts["dispatched"],
                 completed=counts["completed"], overdue=counts["overdue"],
                 by_category={c.value: counts[c.value] for c in ServiceCategory},
                 calendar_fallback=counts["fallback"])


async def exact_request_stats(session: AsyncSession, *, viewer: Viewer, scope: Scope,
                              since: datetime | None, until: datetime | None,
                              now: datetime) -> Stats:
    """`request_stats` from the raw rows in one statement (the reference the roll-ups are
    tested against)."""
    row = (await session.execute(_stats_statement(viewer, scope, since, until, now))).one()
    values = row._mapping
    return Stats(submitted=values["submitted"], dispatched=values["dispatched"],
                 completed=values["completed"], overdue=values["overdue"],
                 by_category={c.value: values[c.value] for c in ServiceCategory},
                 calendar_fallback=values["fallback"])
