"""Loading a GeoJSON FeatureCollection of subdistricts, communities, grids and buildings
(importFeatures).

All or nothing: every problem in the collection is collected and reported by feature, and
nothing is written unless there are none. Features update earlier imports by `code`. Which grid
a building lies in is found spatially, never taken from the input.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from typing import Any

from shapely.geometry.base import BaseGeometry
from sqlalchemy.ext.asyncio import AsyncSession

from domain.errors import InvalidInput, UserError
from domain.infra.storable import PG_INT_MAX, text_problem
from domain.organisation.boundaries import reassign_buildings, record_versions
from domain.people.audit import SYSTEM, record
from domain.spatial import import_sql as sql
from geo.address import address_key
from geo.geojson import Feature, parse_feature_collection

LAYERS = {
    "subdistrict": ("Polygon", "MultiPolygon"),
    "community": ("Polygon", "MultiPolygon"),
    "grid": ("Polygon", "MultiPolygon"),
    "building": ("Point", "Polygon"),
}
REQUIRED = {"subdistrict": ("code", "name"), "community": ("code", "name"),
            "grid": ("code", "name", "community"), "building": ("code", "address")}
#: The text properties that are stored, with the longest value each column holds (a
#: community's subdistrict is the code of one).
TEXT_PROPERTIES = {"code": 64, "name": 200, "address": 300, "community": 64, "subdistrict": 64,
                   "group": 64, "groupName": 200}


@dataclass
class ImportCounts:
    """How many features of each layer were created or updated."""

    subdistricts: int = 0
    communities: int = 0
    grids: int = 0
    buildings: int = 0
    building_groups: int = 0


@dataclass
class _Plan:
    by_layer: dict[str, list[Feature]] = field(default_factory=dict)
    errors: list[UserError] = field(default_factory=list)


def _path(where: str, feature: Feature, name: str) -> str:
    return f"{where}.features[{feature.index}].properties.{name}"


def _label(feature: Feature) -> str:
    layer, code = feature.properties.get("layer"), feature.properties.get("code")
    if isinstance(layer, str) and isinstance(code, str) and 0 < len(code) <= 64 and \
            text_problem(layer + code) is None and len(layer) <= 20:
        return f'{layer} "{code}"'
    return f"features[{feature.index}]"


def _check_properties(feature: Feature, where: str) -> list[UserError]:
    props = feature.properties
    layer = props.get("layer")
    if not isinstance(layer, str) or layer not in LAYERS:
        return [UserError("UNKNOWN_LAYER",
                          f"{_label(feature)}: layer must be one of {sorted(LAYERS)}, "
                          f"not {layer!r}", _path(where, feature, "layer"))]
    errors = _check_text(feature, where)
    errors += [UserError("REQUIRED", f"{_label(feature)}: {name} is required",
                         _path(where, feature, name))
               for name in REQUIRED[layer]
               if not isinstance(props.get(name), str) or not props[name].strip()]
    if feature.geometry.geom_type not in LAYERS[layer]:
        errors.append(UserError(
            "INVALID_GEOMETRY",
            f"{_label(feature)}: a {layer} must be a {' or '.join(LAYERS[layer])}, "
            f"not a {feature.geometry.geom_type}",
            f"{where}.features[{feature.index}].geometry.type"))
    households = props.get("households")
    if households is not None and (not isinstance(households, int) or isinstance(households, bool)
                                   or not 0 <= households <= PG_INT_MAX):
        errors.append(UserError("INVALID_VALUE", f"{_label(feature)}: households must be a "
                                f"whole number from 0 to {PG_INT_MAX}",
                                _path(where, feature, "households")))
    if layer == "building" and not errors:
        errors += _check_address(feature, where)
    return errors


def _check_text(feature: Feature, where: str) -> list[UserError]:
    """The stored text properties: text when given, no longer than their column, storable."""
    errors = []
    for name, limit in TEXT_PROPERTIES.items():
        value = feature.properties.get(name)
        if value is None:
            continue
        if not isinstance(value, str):
            problem: tuple[str, str] | None = ("INVALID_VALUE", "must be text")
        elif len(value) > limit:
            problem = ("TOO_LONG", f"must be at most {limit} characters")
        else:
            why = text_problem(value)
            problem = ("INVALID_TEXT", why) if why else None
        if problem:
            errors.append(UserError(problem[0], f"{_label(feature)}: {name} {problem[1]}",
                                    _path(where, feature, name)))
    return errors


def _check_address(feature: Feature, where: str) -> list[UserError]:
    try:
        address_key(feature.properties["address"])
    except ValueError as exc:
        return [UserError("INVALID_VALUE", f"{_label(feature)}: {exc}",
                          _path(where, feature, "address"))]
    return []


def _duplicates(features: list[Feature], where: str) -> list[UserError]:
    seen = Counter((f.properties.get("layer"), f.properties.get("code")) for f in features)
    return [UserError("DUPLICATE_CODE",
                      f"{_label(f)} appears {seen[(f.properties['layer'], f.properties['code'])]}"
                      " times in the collection", _path(where, f, "code"))
            for f in features
            if seen[(f.properties.get("layer"), f.properties.get("code"))] > 1]


def plan_import(collection: object, where: str = "collection") -> _Plan:
    """Parse and check a collection without touching the database."""
    features, problems = parse_feature_collection(collection, where=where)
    plan = _Plan(errors=[UserError(p.code, f"{p.feature}: {p.reason}" if p.feature else p.reason,
                                   p.where) for p in problems])
    for feature in features:
        errors = _check_properties(feature, where)
        plan.errors += errors
        if not errors:
            plan.by_layer.setdefault(feature.properties["layer"], []).append(feature)
    plan.errors += _duplicates([f for fs in plan.by_layer.values() for f in fs], where)
    return plan


async def import_features(session: AsyncSession, collection: object,
                          where: str = "collection", actor: str = SYSTEM,
                          now: datetime | None = None) -> ImportCounts:
    """Create or update everything in `collection`; raises InvalidInput naming every problem.
    Recorded as IMPORT by `actor`, with the counts, the grids whose boundary got a new version
    from `now` (default: the clock) and the buildings that moved to another grid.

    The caller owns the transaction and must roll back on InvalidInput (`transaction()` does).
    """
    plan = plan_import(collection, where)
    if plan.errors:
        raise InvalidInput(plan.errors)
    counts = ImportCounts()
    counts.subdistricts = len(await _upsert_subdistricts(
        session, plan.by_layer.get("subdistrict", [])))
    communities = await _upsert_communities(session, plan.by_layer.get("community", []), where)
    counts.communities = len(communities)
    grids = await _upsert_grids(session, plan.by_layer.get("grid", []), where)
    counts.grids = len(grids)
    await sql.check_grid_overlaps(session, grids)
    buildings = plan.by_layer.get("building", [])
    counts.buildings, counts.building_groups = await _upsert_buildings(session, buildings, where)
    moved = await reassign_buildings(session, list(grids.values()))
    await sql.check_buildings_in_grids(session, {f.properties["code"]: f for f in buildings},
                                       where)
    await sql.assign_groups_to_grids(session)
    versioned = await record_versions(session, list(grids.values()), now or datetime.now(UTC))
    await record(session, actor=actor, action="IMPORT", detail={
        "counts": asdict(counts), "communities": sorted(communities),
        "newBoundaryVersions": versioned,
        "moved": [{"building": m.code, "from": m.from_grid, "to": m.to_grid} for m in moved
                  if m.from_grid is not None]})
    return counts


async def _upsert_subdistricts(session: AsyncSession,
                               features: list[Feature]) -> dict[str, int]:
    return {f.properties["code"]: await sql.upsert_subdistrict(
        session, code=f.properties["code"], name=f.properties["name"], wkb=_wkb(f.geometry))
        for f in features}


async def _upsert_communities(session: AsyncSession, features: list[Feature],
                              where: str) -> dict[str, int]:
    """Communities by code; one naming a `subdistrict` is put in it (a community without one
    is in none, also when it was in one before)."""
    named = {f.index: f.properties["subdistrict"].strip() for f in features
             if isinstance(f.properties.get("subdistrict"), str)
             and f.properties["subdistrict"].strip()}
    known = await sql.subdistrict_ids(session, set(named.values()))
    missing = [UserError("NOT_FOUND", f'{_label(f)}: subdistrict "{named[f.index]}" is '
                         "neither in the collection nor stored", _path(where, f, "subdistrict"))
               for f in features if named.get(f.index, "") not in known and f.index in named]
    if missing:
        raise InvalidInput(missing)
    return {f.properties["code"]: await sql.upsert_community(
        session, code=f.properties["code"], name=f.properties["name"], wkb=_wkb(f.geometry),
        subdistrict_id=known.get(named.get(f.index, ""))) for f in features}


async def _upsert_grids(session: AsyncSession, features: list[Feature],
                        where: str) -> dict[str, int]:
    codes = {f.properties["community"] for f in features}
    known = await sql.community_ids(session, codes)
    missing = [UserError("NOT_FOUND", f'{_label(f)}: community "{f.properties["community"]}" is '
                         "neither in the collection nor stored", _path(where, f, "community"))
               for f in features if f.properties["community"] not in known]
    if missing:
        raise InvalidInput(missing)
    return {f.properties["code"]: await sql.upsert_grid(
        session, code=f.properties["code"], name=f.properties["name"],
        community_id=known[f.properties["community"]], wkb=_wkb(f.geometry))
        for f in features}


async def _upsert_buildings(session: AsyncSession, features: list[Feature],
                            where: str) -> tuple[int, int]:
    groups: dict[str, int] = {}
    for feature in features:
        props = feature.properties
        group_code = props.get("group")
        if isinstance(group_code, str) and group_code.strip() and group_code not in groups:
            groups[group_code] = await sql.upsert_group(
                session, code=group_code, name=_group_name(props))
        await sql.upsert_building(session, _building_values(feature, groups.get(group_code or "")))
    return len(features), len(groups)


def _group_name(props: dict[str, Any]) -> str | None:
    name = props.get("groupName")
    return name.strip() if isinstance(name, str) and name.strip() else None


def _building_values(feature: Feature, group_id: int | None) -> dict[str, Any]:
    props = feature.properties
    is_point = feature.geometry.geom_type == "Point"
    return {
        "code": props["code"], "name": props.get("name"), "address": props["address"].strip(),
        "address_key": address_key(props["address"]), "households": props.get("households"),
        "point_wkb": _wkb(feature.geometry) if is_point else None,
        "footprint_wkb": None if is_point else _wkb(feature.geometry), "group_id": group_id,
    }


def _wkb(geometry: BaseGeometry) -> bytes:
    return bytes(geometry.wkb)
