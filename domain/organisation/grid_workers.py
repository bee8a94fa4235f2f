"""setGridWorkers: who serves a grid (网格员), replaced as a whole by staff of its community.

Each must be a member of that grid's community (found through their group or building) who
has not exited; they gain the GRID_WORKER role. Recorded as GRID_WORKERS_SET, before and after.
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from domain.access import Viewer
from domain.errors import InvalidInput, UserError
from domain.organisation import within
from domain.people.audit import record
from domain.spatial.models import Grid, MemberRole

_MEMBERS = text("""
    SELECT m.id, m.status, g.community_id FROM member m
    LEFT JOIN building_group bg ON bg.id = m.group_id
    LEFT JOIN building b ON b.id = m.building_id
    LEFT JOIN grid g ON g.id = COALESCE(bg.grid_id, b.grid_id)
    WHERE m.id = ANY(:ids)""")
_CURRENT = text("SELECT member_id FROM grid_worker WHERE grid_id = :grid ORDER BY member_id")


async def set_grid_workers(session: AsyncSession, *, viewer: Viewer, grid_id: int,
                           member_ids: Sequence[int], actor: str) -> Grid:
    """The grid's workers are exactly `member_ids`; InvalidInput naming `memberIds[i]`."""
    grid = await session.get(Grid, grid_id, with_for_update=True)
    if grid is None:
        raise InvalidInput.one("NOT_FOUND", "no grid has this id", "gridId")
    within.require(viewer, grid.community_id, "gridId")
    rows = {r.id: r for r in await session.execute(_MEMBERS, {"ids": list(member_ids)})}
    errors = []
    for i, pk in enumerate(member_ids):
        row, where = rows.get(pk), f"memberIds[{i}]"
        if row is None:
            errors.append(UserError("NOT_FOUND", "no member has this id", where))
        elif row.community_id != grid.community_id:
            errors.append(UserError("OTHER_COMMUNITY", "a grid worker must be a member of the "
                                    "grid's community", where))
        elif row.status == "EXITED":
            errors.append(UserError("INVALID_STATUS", "this member has exited", where))
    if errors:
        raise InvalidInput(errors)
    before = list((await session.execute(_CURRENT, {"grid": grid_id})).scalars())
    ids = sorted(set(member_ids))
    await session.execute(text("DELETE FROM grid_worker WHERE grid_id = :grid"), {"grid": grid_id})
    await session.execute(text("""
        INSERT INTO grid_worker (member_id, grid_id) SELECT unnest(CAST(:ids AS integer[])), :grid
        """), {"ids": ids, "grid": grid_id})
    await session.execute(text("""
        UPDATE member SET roles = ARRAY(SELECT DISTINCT r FROM unnest(
            array_append(roles, CAST(:role AS text))) r ORDER BY r)
        WHERE id = ANY(:ids) AND NOT (CAST(:role AS text) = ANY(roles))"""),
        {"ids": ids, "role": MemberRole.GRID_WORKER.value})
    await record(session, actor=actor, action="GRID_WORKERS_SET", subject=("Grid", grid_id),
                 community_id=grid.community_id,
                 detail={"before": {"workers": before}, "after": {"workers": ids}})
    return grid
