"""Partner organisations (共建单位): created by staff of their community, listed within the
caller's territories."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from domain.access import Viewer, mask_phone
from domain.errors import InvalidInput, UserError
from domain.infra.paging import Page, fetch_page
from domain.organisation import within
from domain.organisation.models import Organisation, OrganisationKind
from domain.people.audit import record
from domain.spatial.models import Community
from domain.spatial.phone import normalize_phone
from domain.visibility import Kind, visible_clause


@dataclass(frozen=True)
class NewOrganisation:
    """What createOrganisation accepts, ids decoded."""

    name: str
    kind: OrganisationKind
    community_id: int
    contact_name: str | None = None
    contact_phone: str | None = None


def _text(value: str | None, limit: int, field: str, *, required: bool) -> list[UserError]:
    stripped = (value or "").strip()
    if required and not stripped:
        return [UserError("REQUIRED", f"{field.rsplit('.', 1)[-1]} must not be empty", field)]
    if len(stripped) > limit:
        return [UserError("TOO_LONG", f"at most {limit} characters", field)]
    return []


def _check(new: NewOrganisation, where: str) -> list[UserError]:
    errors = _text(new.name, 200, f"{where}.name", required=True)
    errors += _text(new.contact_name, 100, f"{where}.contactName", required=False)
    if new.contact_phone:
        try:
            normalize_phone(new.contact_phone)
        except ValueError as exc:
            errors.append(UserError("INVALID_PHONE", str(exc), f"{where}.contactPhone"))
    return errors


async def create_organisation(session: AsyncSession, *, viewer: Viewer,
                              new: NewOrganisation, actor: str,
                              where: str = "input") -> Organisation:
    """Store a partner organisation of a community the caller administers; InvalidInput
    naming the field otherwise (NOT_FOUND, FORBIDDEN, REQUIRED, TOO_LONG, INVALID_PHONE).
    Recorded as ORGANISATION_CREATED (the contact phone masked)."""
    errors = _check(new, where)
    if await session.get(Community, new.community_id) is None:
        errors.append(UserError("NOT_FOUND", "no community has this id", f"{where}.communityId"))
    if errors:
        raise InvalidInput(errors)
    within.require(viewer, new.community_id, f"{where}.communityId")
    row = Organisation(name=new.name.strip(), kind=new.kind.value,
                       community_id=new.community_id,
                       contact_name=(new.contact_name or "").strip() or None,
                       contact_phone=normalize_phone(new.contact_phone)
                       if new.contact_phone else None)
    session.add(row)
    await session.flush()
    await record(session, actor=actor, action="ORGANISATION_CREATED",
                 subject=("Organisation", row.id or 0), community_id=row.community_id,
                 detail={"after": snapshot(row)})
    return row


def snapshot(row: Organisation) -> dict[str, object]:
    """What the audit trail keeps of an organisation (the phone masked)."""
    return {"name": row.name, "kind": row.kind, "community": row.community_id,
            "contactName": row.contact_name, "contactPhone": mask_phone(row.contact_phone)}


async def list_organisations(session: AsyncSession, *, viewer: Viewer,
                             community_id: int | None, kind: OrganisationKind | None,
                             first: int, after: int | None) -> Page[Organisation]:
    """One page of the organisations the caller may see (domain.visibility), by id;
    optionally of one community or kind."""
    stmt = select(Organisation).where(visible_clause(viewer, Kind.ORGANISATION, Organisation))
    if community_id is not None:
        stmt = stmt.where(col(Organisation.community_id) == community_id)
    if kind is not None:
        stmt = stmt.where(col(Organisation.kind) == kind.value)
    return await fetch_page(session, stmt, col(Organisation.id), first=first, after=after)
