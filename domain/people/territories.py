"""Territories: where a staff account administers (the whole city, a subdistrict, a
community), and when one lies within another.

A territory is within another when it is the same, or a community of that subdistrict, or
anything when the other is the city. A caller may give an account only territories within
their own.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from domain.access import Territories
from domain.errors import InvalidInput, UserError
from domain.people.models import TerritoryLevel


@dataclass(frozen=True)
class Territory:
    """One territory: CITY, or the subdistrict or community of that id."""

    level: TerritoryLevel
    subdistrict_id: int | None = None
    community_id: int | None = None


CITY_TERRITORY = Territory(TerritoryLevel.CITY)


def of_level(level: TerritoryLevel, pk: int | None) -> Territory:
    """The territory of a level and the id of its subdistrict or community."""
    if level == TerritoryLevel.SUBDISTRICT:
        return Territory(level, subdistrict_id=pk)
    if level == TerritoryLevel.COMMUNITY:
        return Territory(level, community_id=pk)
    return CITY_TERRITORY


def check_shapes(given: Sequence[tuple[TerritoryLevel, int | None]], field: str) -> None:
    """CITY takes no id, the others need one; at least one territory; InvalidInput naming
    `field[i].id` otherwise."""
    if not given:
        raise InvalidInput.one("REQUIRED", "give at least one territory", field)
    errors = [UserError("INVALID_VALUE", "CITY takes no id" if level == TerritoryLevel.CITY
                        else f"a {level.value} territory needs the id of one", f"{field}[{i}].id")
              for i, (level, pk) in enumerate(given)
              if (level == TerritoryLevel.CITY) != (pk is None)]
    if errors:
        raise InvalidInput(errors)


_SUBDISTRICT_OF = text("SELECT id, subdistrict_id FROM community WHERE id = ANY(:ids)")
_SUBDISTRICTS = text("SELECT id FROM subdistrict WHERE id = ANY(:ids)")


async def _community_subdistricts(session: AsyncSession,
                                  ids: Sequence[int]) -> dict[int, int | None]:
    rows = await session.execute(_SUBDISTRICT_OF, {"ids": list(ids)})
    return {row.id: row.subdistrict_id for row in rows}


async def check_territories(session: AsyncSession, territories: Sequence[Territory], *,
                            scope: Territories, field: str) -> None:
    """At least one territory (REQUIRED naming `field`), each existing (NOT_FOUND naming
    `field[i].id`) and lying within `scope` (FORBIDDEN naming `field[i]`)."""
    if not territories:
        raise InvalidInput.one("REQUIRED", "give at least one territory", field)
    communities = await _community_subdistricts(
        session, [t.community_id for t in territories if t.community_id is not None])
    subdistricts = set((await session.execute(_SUBDISTRICTS, {"ids": [
        t.subdistrict_id for t in territories if t.subdistrict_id is not None]})).scalars())
    missing = [UserError("NOT_FOUND", f"no {t.level.value.lower()} has this id",
                         f"{field}[{i}].id") for i, t in enumerate(territories)
               if (t.community_id is not None and t.community_id not in communities)
               or (t.subdistrict_id is not None and t.subdistrict_id not in subdistricts)]
    if missing:
        raise InvalidInput(missing)
    outside = [UserError("FORBIDDEN", f"this {t.level.value.lower()} territory lies outside "
                         "your own", f"{field}[{i}]") for i, t in enumerate(territories)
               if not within(t, scope, communities)]
    if outside:
        raise InvalidInput(outside)


def within(territory: Territory, scope: Territories,
           community_subdistricts: dict[int, int | None]) -> bool:
    """Whether `territory` lies within `scope` (`community_subdistricts`: the subdistrict of
    each community concerned)."""
    if scope.city:
        return True
    if territory.level == TerritoryLevel.SUBDISTRICT:
        return territory.subdistrict_id in scope.subdistrict_ids
    if territory.level == TerritoryLevel.COMMUNITY and territory.community_id is not None:
        return (territory.community_id in scope.community_ids
                or community_subdistricts.get(territory.community_id) in scope.subdistrict_ids)
    return False


async def all_within(session: AsyncSession, territories: Sequence[Territory],
                     scope: Territories) -> bool:
    """Whether every one of `territories` lies within `scope`."""
    communities = await _community_subdistricts(
        session, [t.community_id for t in territories if t.community_id is not None])
    return all(within(t, scope, communities) for t in territories)


_BY_CODE = {"subdistrict": text("SELECT id FROM subdistrict WHERE code = :code"),
            "community": text("SELECT id FROM community WHERE code = :code")}


async def parse_territories(session: AsyncSession, specs: Sequence[str],
                            field: str = "--territory") -> list[Territory]:
    """Territories from the command line: `city`, `subdistrict:CODE` or `community:CODE`;
    InvalidInput naming `field` for a malformed one or a code that is not stored."""
    found: list[Territory] = []
    for spec in specs:
        kind, _, code = spec.strip().partition(":")
        kind = kind.lower()
        if kind == "city" and not code:
            found.append(CITY_TERRITORY)
            continue
        if kind not in _BY_CODE or not code:
            raise InvalidInput.one("INVALID_VALUE", f"{spec!r}: a territory is `city`, "
                                   "`subdistrict:CODE` or `community:CODE`", field)
        pk = (await session.execute(_BY_CODE[kind], {"code": code})).scalar_one_or_none()
        if pk is None:
            raise InvalidInput.one("NOT_FOUND", f"no {kind} has the code {code!r}", field)
        found.append(of_level(TerritoryLevel(kind.upper()), int(pk)))
    if not found:
        raise InvalidInput.one("REQUIRED", "give at least one territory", field)
    return found
