"""The organisation area of the demo community (domain/demo_data/organisation.json): a
property company and an owners' committee with their members, two candidates on notice, the
suspensions in the members' history, and a grid with two boundary versions.

Loading it again changes nothing: organisations are found by community and name, a notice is
posted only when none runs, history is written once per member, and the boundary history of
the demo's grids is rewritten to what the file says (the demo community is in force since
`since`).
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from importlib import resources
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from domain.organisation.history import append_change
from domain.spatial.phone import normalize_phone

ACTOR = "demo"


def demo_data() -> Any:
    """The file's content."""
    path = resources.files("domain").joinpath("demo_data", "organisation.json")
    return json.loads(path.read_text("utf-8"))


async def _ids(session: AsyncSession, table: str) -> dict[str, int]:
    rows = await session.execute(text(f"SELECT code, id FROM {table} WHERE code IS NOT NULL"))
    return {r.code: r.id for r in rows}


async def load_organisation_demo(session: AsyncSession, *, community_code: str,
                                 now: datetime) -> int:
    """Load the file's content into the demo community; how many organisations it has."""
    data = demo_data()
    members = await _ids(session, "member")
    community = (await session.execute(text("SELECT id FROM community WHERE code = :c"),
                                       {"c": community_code})).scalar_one()
    for organisation in data["organisations"]:
        await _organisation(session, organisation, community, members)
    await _history(session, data)
    for notice in data["notices"]:
        await _notice(session, members[notice["member"]], notice, now)
    await _boundaries(session, data, await _ids(session, "grid"))
    return len(data["organisations"])


async def _organisation(session: AsyncSession, given: dict[str, Any], community: int,
                        members: dict[str, int]) -> None:
    values = {"name": given["name"], "kind": given["kind"], "community": community,
              "contact_name": given.get("contactName"),
              "contact_phone": normalize_phone(given["contactPhone"])
              if given.get("contactPhone") else None}
    pk = (await session.execute(text(
        "SELECT id FROM organisation WHERE community_id = :community AND name = :name"),
        values)).scalar()
    if pk is None:
        pk = (await session.execute(text("""
            INSERT INTO organisation (name, kind, community_id, contact_name, contact_phone)
            VALUES (:name, :kind, :community, :contact_name, :contact_phone) RETURNING id"""),
            values)).scalar_one()
    else:
        await session.execute(text("""
            UPDATE organisation SET kind = :kind, contact_name = :contact_name,
                contact_phone = :contact_phone WHERE id = :id"""), {**values, "id": pk})
    await session.execute(text("UPDATE member SET organisation_id = :org WHERE id = ANY(:ids)"),
                          {"org": pk, "ids": [members[c] for c in given["members"]]})


async def _history(session: AsyncSession, data: Any) -> None:
    """Each demo member without history gets their first step (and a suspension its own);
    ACTIVE members joined when the demo community began."""
    since = datetime.fromisoformat(data["since"])
    await session.execute(text("""
        UPDATE member SET joined_at = :since
        WHERE status IN ('ACTIVE', 'SUSPENDED') AND joined_at IS NULL AND code IS NOT NULL"""),
        {"since": since})
    suspended = {s["member"]: s for s in data["suspensions"]}
    rows = await session.execute(text("""
        SELECT m.id, m.code, m.status FROM member m WHERE m.code IS NOT NULL
          AND NOT EXISTS (SELECT 1 FROM member_status_change h WHERE h.member_id = m.id)
        ORDER BY m.id"""))
    for row in rows.all():
        first = "ACTIVE" if row.code in suspended else row.status
        await append_change(session, member_id=row.id, from_status=None, to_status=first,
                            actor=ACTOR, reason="demo", now=since)
        if row.code in suspended:
            step = suspended[row.code]
            await append_change(session, member_id=row.id, from_status="ACTIVE",
                                to_status="SUSPENDED", actor=ACTOR, reason=step["reason"],
                                now=datetime.fromisoformat(step["at"]))


async def _notice(session: AsyncSession, member_id: int, given: dict[str, Any],
                  now: datetime) -> None:
    running = (await session.execute(text("""
        SELECT 1 FROM candidate_notice WHERE member_id = :m AND ends_at > :now"""),
        {"m": member_id, "now": now})).first()
    if running is not None:
        return
    posted = now - timedelta(days=given["postedDaysAgo"])
    await session.execute(text("""
        INSERT INTO candidate_notice (member_id, posted_at, ends_at, actor)
        VALUES (:m, :posted, :ends, :actor)"""), {
        "m": member_id, "posted": posted, "actor": ACTOR,
        "ends": posted + timedelta(days=given["noticeDays"])})


async def _boundaries(session: AsyncSession, data: Any, grids: dict[str, int]) -> None:
    """Every demo grid in force since `since`; those of `boundaryHistory` with their past
    boundary until the day it changed."""
    since = datetime.fromisoformat(data["since"])
    ids = [pk for code, pk in grids.items() if code.startswith("XHXC-")]
    await session.execute(text("DELETE FROM grid_boundary_version WHERE grid_id = ANY(:ids)"),
                          {"ids": ids})
    changed = {h["grid"]: h for h in data["boundaryHistory"]}
    for code in sorted(c for c in grids if c.startswith("XHXC-")):
        past = changed.get(code)
        start = datetime.fromisoformat(past["until"]) if past else since
        if past:
            await session.execute(text("""
                INSERT INTO grid_boundary_version (grid_id, valid_from, valid_to, boundary)
                VALUES (:g, :since, :until,
                        ST_Multi(ST_SetSRID(ST_GeomFromGeoJSON(:geojson), 4326)))"""), {
                "g": grids[code], "since": since, "until": start,
                "geojson": json.dumps(past["boundary"])})
        await session.execute(text("""
            INSERT INTO grid_boundary_version (grid_id, valid_from, boundary)
            SELECT id, :start, boundary FROM grid WHERE id = :g"""),
            {"g": grids[code], "start": start})
