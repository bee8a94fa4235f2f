"""Checks the demo community (domain/demo_data) against the rules it is meant to show.

Usage: check_demo_data.py [DATA_DIR]

Geometry: one subdistrict holding one community, four grids that tile the community exactly
(shared edges with identical vertices, no overlap), 27 buildings each strictly inside one grid
(3 m from its edges) with rectangular footprints that do not touch. Groups: every building has
one, a group's buildings lie in one grid near each other, and a single-building group has five
or more party members (楼栋党小组 rule). Members: unique codes and phones, one ACTIVE
party-member leader per group living in it, homes in their group, at least three ACTIVE members
per group, every service category covered by an ACTIVE member in every grid. Organisation
(organisation.json): partner organisations, notices, suspensions and past grid boundaries, as
check_organisation says. Prints a summary;
exits 1 on any violation.
Needs only the standard library and shapely.
"""

from __future__ import annotations

import json
import math
import re
import sys
from collections import Counter
from itertools import combinations
from pathlib import Path
from typing import Any

import shapely
from shapely.geometry import Point, Polygon, shape
from shapely.geometry.base import BaseGeometry

ROOT = Path(__file__).resolve().parent.parent
LAYERS = {"subdistrict": {"Polygon", "MultiPolygon"}, "community": {"Polygon", "MultiPolygon"},
          "grid": {"Polygon", "MultiPolygon"}, "building": {"Point", "Polygon"}}
LON_RANGE, LAT_RANGE = (112.60, 112.62), (26.90, 26.91)  # 衡阳市石鼓区
COUNTS = {"subdistrict": 1, "community": 1, "grid": 4, "building": 27}
GROUPS_RANGE, MEMBERS_RANGE, HOUSEHOLDS_RANGE = (12, 15), (60, 75), (12, 120)
STATUS_RANGE = {"CANDIDATE": (3, 5), "SUSPENDED": (1, 2), "EXITED": (1, 1)}
ROLES = {"GRID_WORKER", "GROUP_LEADER", "STEWARD", "VOLUNTEER"}
SKILLS = ("MAINTENANCE", "ASSISTANCE", "CONSULTATION", "CULTURE", "EMERGENCY", "MEDIATION")
STATUSES = {"CANDIDATE", "ACTIVE", "SUSPENDED", "EXITED"}
MEMBER_KEYS = {"code", "name", "phone", "partyMember", "roles", "skills", "status", "building",
               "group", "grids", "note"}
MARGIN_M = 3.0        # a building's distance from every grid edge
NEAR_M = 60.0         # buildings of one group are linked by gaps no wider than this
LENGTH_M, WIDTH_M = (15.0, 40.0), (10.0, 20.0)
TOLERANCE_M2 = 0.01   # areas below this are rounding noise
SINGLE_GROUP_PARTY = 5
PHONE = re.compile(r"1[3-9]\d{9}")
NAME = re.compile(r"[\u4e00-\u9fff]{2,4}")

problems: list[str] = []


def fail(message: str) -> None:
    problems.append(message)


# --- geometry helpers --------------------------------------------------------------------------


class Plane:
    """Local metres (x east, y north) around a WGS-84 origin: exact enough over a kilometre."""

    def __init__(self, lon: float, lat: float) -> None:
        phi = math.radians(lat)
        self.origin = (lon, lat)
        self.per_lat = 111132.92 - 559.82 * math.cos(2 * phi) + 1.175 * math.cos(4 * phi)
        self.per_lon = 111412.84 * math.cos(phi) - 93.5 * math.cos(3 * phi)

    def __call__(self, geom: BaseGeometry) -> BaseGeometry:
        def to_metres(coords: Any) -> Any:
            out = coords.copy()
            out[:, 0] = (coords[:, 0] - self.origin[0]) * self.per_lon
            out[:, 1] = (coords[:, 1] - self.origin[1]) * self.per_lat
            return out
        return shapely.transform(geom, to_metres)


def positions(coords: Any) -> list[list[Any]]:
    """Every position in a GeoJSON coordinates array."""
    if isinstance(coords, list) and coords and not isinstance(coords[0], list):
        return [coords]
    return [p for part in coords for p in positions(part)] if isinstance(coords, list) else []


def vertices(geom: dict[str, Any]) -> set[tuple[float, float]]:
    return {(p[0], p[1]) for p in positions(geom["coordinates"])}


def check_geometry(label: str, layer: str, geom: Any) -> BaseGeometry | None:
    """The shapely geometry of a feature, or None after reporting why it is unusable."""
    if not isinstance(geom, dict) or geom.get("type") not in LAYERS[layer]:
        kind = geom.get("type") if isinstance(geom, dict) else geom
        fail(f"{label}: geometry must be one of {sorted(LAYERS[layer])}, not {kind!r}")
        return None
    for pos in positions(geom.get("coordinates")):
        if (len(pos) != 2 or not all(isinstance(v, (int, float)) and not isinstance(v, bool)
                                     for v in pos)):
            fail(f"{label}: position {pos} is not [lon, lat]")
            return None
        lon, lat = pos
        if not (LON_RANGE[0] <= lon <= LON_RANGE[1] and LAT_RANGE[0] <= lat <= LAT_RANGE[1]):
            fail(f"{label}: position {pos} is outside 衡阳市石鼓区 (lon {LON_RANGE}, "
                 f"lat {LAT_RANGE}); is it [lon, lat]?")
        if round(lon, 7) != lon or round(lat, 7) != lat:
            fail(f"{label}: position {pos} has more than 7 decimals")
    try:
        shp = shape(geom)
    except (ValueError, TypeError, AttributeError, IndexError) as exc:
        fail(f"{label}: unreadable geometry ({exc})")
        return None
    for poly in getattr(shp, "geoms", [shp]):
        if isinstance(poly, Polygon):
            if poly.interiors:
                fail(f"{label}: polygon has holes")
            if not poly.exterior.is_ccw:
                fail(f"{label}: exterior ring is not counter-clockwise (RFC 7946)")
            for ring in geom["coordinates"] if geom["type"] == "Polygon" else []:
                if ring[0] != ring[-1]:
                    fail(f"{label}: ring is not closed")
    if not shp.is_valid:
        fail(f"{label}: invalid geometry ({shapely.is_valid_reason(shp)})")
        return None
    return shp


# --- the feature collection --------------------------------------------------------------------


def load(path: Path) -> Any:
    try:
        return json.loads(path.read_text("utf-8"))
    except (OSError, ValueError) as exc:
        fail(f"{path}: cannot read ({exc})")
        return None


def check_features(data: Any) -> dict[str, list[dict[str, Any]]]:
    """Per layer, features with their parsed geometry (under "shape"), after the basic checks."""
    layers: dict[str, list[dict[str, Any]]] = {layer: [] for layer in LAYERS}
    if not isinstance(data, dict) or data.get("type") != "FeatureCollection" \
            or not isinstance(data.get("features"), list):
        fail("community.geojson: not a FeatureCollection with a features list")
        return layers
    for index, feat in enumerate(data["features"]):
        props = feat.get("properties") if isinstance(feat, dict) else None
        label = f"features[{index}]"
        if not isinstance(props, dict) or props.get("layer") not in LAYERS:
            fail(f"{label}: properties.layer must be one of {sorted(LAYERS)}")
            continue
        layer = props["layer"]
        label = f'{layer} "{props.get("code")}"'
        if feat.get("type") != "Feature":
            fail(f"{label}: type must be Feature")
        required = {"subdistrict": ("code", "name"),
                    "community": ("code", "name", "subdistrict"),
                    "grid": ("code", "name", "community"),
                    "building": ("code", "address", "group", "groupName")}[layer]
        missing = [k for k in required if not isinstance(props.get(k), str) or not props[k]]
        if missing:
            fail(f"{label}: missing {', '.join(missing)}")
            continue
        geom = check_geometry(label, layer, feat.get("geometry"))
        if geom is not None:
            layers[layer].append({**props, "label": label, "shape": geom,
                                  "geometry": feat["geometry"]})
    for layer, count in COUNTS.items():
        if len(layers[layer]) != count:
            fail(f"{count} {layer} features expected, {len(layers[layer])} usable")
        for code, seen in Counter(f["code"] for f in layers[layer]).items():
            if seen > 1:
                fail(f'{layer} code "{code}" appears {seen} times')
    return layers


def check_subdistrict(subdistrict: dict[str, Any], community: dict[str, Any]) -> None:
    """The community names the subdistrict and lies inside its boundary."""
    if community.get("subdistrict") != subdistrict["code"]:
        fail(f'{community["label"]}: subdistrict "{community.get("subdistrict")}" is not '
             f'"{subdistrict["code"]}"')
    if not subdistrict["shape"].contains(community["shape"]):
        fail(f'{community["label"]} does not lie inside {subdistrict["label"]}')


def check_tiling(community: dict[str, Any], grids: list[dict[str, Any]], plane: Plane) -> None:
    boundary = plane(community["shape"])
    metric = {g["code"]: plane(g["shape"]) for g in grids}
    for (code_a, a), (code_b, b) in combinations(metric.items(), 2):
        area = a.intersection(b).area
        if a.overlaps(b) or area > TOLERANCE_M2:
            fail(f"grids {code_a} and {code_b} overlap ({area:.2f} m²)")
    union = shapely.union_all(list(metric.values()))
    gap = union.symmetric_difference(boundary).area
    if gap > TOLERANCE_M2:
        fail(f"the grids do not tile the community: union differs by {gap:.2f} m²")
    corners = vertices(community["geometry"])
    for grid in grids:
        if grid["community"] != community["code"]:
            fail(f'{grid["label"]}: community "{grid["community"]}" is not '
                 f'"{community["code"]}"')
        for lon, lat in vertices(grid["geometry"]):
            vertex = plane(Point(lon, lat))
            if boundary.exterior.distance(vertex) < 0.05 and (lon, lat) not in corners:
                fail(f"{grid['label']}: vertex {[lon, lat]} lies on the community boundary "
                     "but is not one of its vertices")
            for other in grids:
                if other is not grid and metric[other["code"]].boundary.distance(vertex) < 0.05 \
                        and (lon, lat) not in vertices(other["geometry"]):
                    fail(f"{grid['label']}: vertex {[lon, lat]} lies on the edge of "
                         f"{other['code']} but is not one of its vertices")


def check_buildings(buildings: list[dict[str, Any]], grids: list[dict[str, Any]],
                    plane: Plane) -> dict[str, str]:
    """Checks every building; returns the grid code of each building that lies in one."""
    metric_grids = {g["code"]: plane(g["shape"]) for g in grids}
    in_grid: dict[str, str] = {}
    footprints: dict[str, BaseGeometry] = {}
    for b in buildings:
        geom = plane(b["shape"])
        footprints[b["code"]] = geom
        households = b.get("households")
        if not isinstance(households, int) or isinstance(households, bool) \
                or not HOUSEHOLDS_RANGE[0] <= households <= HOUSEHOLDS_RANGE[1]:
            fail(f"{b['label']}: households {households!r} is not a whole number in "
                 f"{HOUSEHOLDS_RANGE}")
        if b.get("name") is not None and (not isinstance(b["name"], str) or not b["name"]):
            fail(f"{b['label']}: name must be a non-empty string when given")
        if isinstance(geom, Polygon):
            check_footprint(b["label"], geom)
        inside = [code for code, grid in metric_grids.items() if grid.contains(geom)]
        if len(inside) != 1:
            fail(f"{b['label']}: lies strictly inside {len(inside)} grids, not 1")
            continue
        in_grid[b["code"]] = inside[0]
        margin = geom.distance(metric_grids[inside[0]].exterior)
        if margin < MARGIN_M:
            fail(f"{b['label']}: only {margin:.1f} m from the edge of {inside[0]}")
    for (code_a, a), (code_b, b) in combinations(footprints.items(), 2):
        if a.intersects(b):
            fail(f"buildings {code_a} and {code_b} touch or overlap")
    points = sum(isinstance(g, Point) for g in footprints.values())
    if points > 3:
        fail(f"{points} buildings are points; at most 3 should lack a footprint")
    check_addresses(buildings)
    for code, count in Counter(in_grid.values()).items():
        if count < 5:
            fail(f"grid {code} has only {count} buildings")
    return in_grid


def check_footprint(label: str, footprint: BaseGeometry) -> None:
    box = footprint.minimum_rotated_rectangle
    if len(footprint.exterior.coords) != 5 or footprint.area < 0.99 * box.area:
        fail(f"{label}: footprint is not a rectangle")
        return
    corners = list(box.exterior.coords)
    sides = sorted(math.dist(corners[i], corners[i + 1]) for i in range(2))
    width, length = sides
    slack = 0.05  # 7-decimal rounding moves corners by up to a centimetre
    if not (LENGTH_M[0] - slack <= length <= LENGTH_M[1] + slack
            and WIDTH_M[0] - slack <= width <= WIDTH_M[1] + slack):
        fail(f"{label}: footprint {length:.1f} m x {width:.1f} m is outside "
             f"{LENGTH_M} x {WIDTH_M}")


def check_addresses(buildings: list[dict[str, Any]]) -> None:
    """Addresses are unique as written and, when the project's normaliser can be imported, as
    the building-level keys that request addresses are matched against."""
    keyed: list[tuple[str, Any]] = [("address", lambda text: "".join(text.split()))]
    sys.path.insert(0, str(ROOT))
    try:
        from geo.address import address_key
    except ImportError:
        print("note: geo.address not importable; address keys not checked")
    else:
        keyed.append(("address key", address_key))
    for what, key in keyed:
        seen: dict[str, str] = {}
        for b in buildings:
            try:
                k = key(b["address"])
            except ValueError as exc:
                fail(f"{b['label']}: address {b['address']!r} is not usable ({exc})")
                continue
            if k in seen:
                fail(f"{b['label']}: {what} {k!r} is also {seen[k]}'s")
            seen[k] = b["code"]


def check_groups(buildings: list[dict[str, Any]], in_grid: dict[str, str],
                 plane: Plane) -> dict[str, dict[str, Any]]:
    groups: dict[str, dict[str, Any]] = {}
    for b in buildings:
        group = groups.setdefault(b["group"], {"name": b["groupName"], "buildings": []})
        group["buildings"].append(b)
        if b["groupName"] != group["name"]:
            fail(f"{b['label']}: groupName {b['groupName']!r} differs from "
                 f"{group['name']!r} for group {b['group']}")
    if not GROUPS_RANGE[0] <= len(groups) <= GROUPS_RANGE[1]:
        fail(f"{len(groups)} building groups, expected {GROUPS_RANGE}")
    for code, group in groups.items():
        members = group["buildings"]
        grid_codes = {in_grid.get(b["code"]) for b in members}
        group["grid"] = grid_codes.pop() if len(grid_codes) == 1 else None
        if group["grid"] is None:
            fail(f"group {code}: buildings lie in several grids")
        # Linked by gaps of at most NEAR_M: grow from the first building.
        shapes = {b["code"]: plane(b["shape"]) for b in members}
        linked, todo = set(), [members[0]["code"]]
        while todo:
            current = todo.pop()
            linked.add(current)
            todo += [c for c, s in shapes.items()
                     if c not in linked and s.distance(shapes[current]) <= NEAR_M]
        if len(linked) != len(shapes):
            fail(f"group {code}: buildings {sorted(set(shapes) - linked)} are more than "
                 f"{NEAR_M:.0f} m from the rest of the group")
    return groups


# --- members -----------------------------------------------------------------------------------


def check_members(data: Any, buildings: dict[str, dict[str, Any]],
                  groups: dict[str, dict[str, Any]], grids: set[str],
                  in_grid: dict[str, str]) -> list[dict[str, Any]]:
    if not isinstance(data, dict) or not isinstance(data.get("members"), list):
        fail('members.json: not an object with a "members" list')
        return []
    people = [m for m in data["members"] if isinstance(m, dict) and check_member(
        m, buildings, groups, grids)]
    if len(people) != len(data["members"]):
        return people
    if not MEMBERS_RANGE[0] <= len(people) <= MEMBERS_RANGE[1]:
        fail(f"{len(people)} members, expected {MEMBERS_RANGE}")
    for field in ("code", "phone"):
        for value, count in Counter(m[field] for m in people).items():
            if count > 1:
                fail(f"member {field} {value} appears {count} times")
    statuses = Counter(m["status"] for m in people)
    for status, (low, high) in STATUS_RANGE.items():
        if not low <= statuses[status] <= high:
            fail(f"{statuses[status]} {status} members, expected {low}..{high}")
    if statuses["ACTIVE"] * 2 <= len(people):
        fail("most members should be ACTIVE")
    if sum(m["partyMember"] for m in people) * 2 <= len(people):
        fail("most members should be party members")
    for grid in sorted(grids):
        workers = [m for m in people if grid in m["grids"] and m["status"] == "ACTIVE"]
        if not 1 <= len(workers) <= 2:
            fail(f"grid {grid} has {len(workers)} ACTIVE grid workers, expected 1..2")
    for code, group in groups.items():
        check_group_members(code, group, [m for m in people if m["group"] == code])
    for grid in sorted(grids):
        active = [m for m in people if m["status"] == "ACTIVE" and in_grid.get(m["building"])
                  == grid]
        missing = [s for s in SKILLS if not any(s in m["skills"] for m in active)]
        if missing:
            fail(f"grid {grid}: no ACTIVE resident member offers {', '.join(missing)}")
    return people


def check_member(m: dict[str, Any], buildings: dict[str, dict[str, Any]],
                 groups: dict[str, dict[str, Any]], grids: set[str]) -> bool:
    """Field by field; False when the member is too broken to check further."""
    label = f"member {m.get('code')}"
    if set(m) != MEMBER_KEYS:
        fail(f"{label}: keys {sorted(set(m) ^ MEMBER_KEYS)} missing or unexpected")
        return False
    ok = True
    if not isinstance(m["code"], str) or not re.fullmatch(r"M\d{3}", m["code"]):
        fail(f"{label}: code must look like M001")
    if not isinstance(m["name"], str) or not NAME.fullmatch(m["name"]):
        fail(f"{label}: name {m['name']!r} is not a Chinese name")
    if not isinstance(m["phone"], str) or not PHONE.fullmatch(m["phone"]):
        fail(f"{label}: phone {m['phone']!r} is not an 11-digit mainland mobile")
        ok = False
    if not isinstance(m["partyMember"], bool):
        fail(f"{label}: partyMember must be true or false")
        ok = False
    roles, skills = m["roles"], m["skills"]
    if not isinstance(roles, list) or not roles or not set(roles) <= ROLES \
            or len(set(roles)) != len(roles):
        fail(f"{label}: roles {roles!r} must be distinct values of {sorted(ROLES)}")
        return False
    if not isinstance(skills, list) or not 1 <= len(set(skills)) == len(skills) <= 3 \
            or not set(skills) <= set(SKILLS):
        fail(f"{label}: skills {skills!r} must be 1 to 3 distinct values of {list(SKILLS)}")
        ok = False
    if m["status"] not in STATUSES:
        fail(f"{label}: status {m['status']!r} is not one of {sorted(STATUSES)}")
        ok = False
    if not isinstance(m["note"], str) or not m["note"]:
        fail(f"{label}: note is empty")
    if not isinstance(m["grids"], list) or not set(m["grids"]) <= grids:
        fail(f"{label}: grids {m['grids']!r} are not grid codes")
        return False
    if ("GRID_WORKER" in roles) != bool(m["grids"]):
        fail(f"{label}: grids are given exactly for GRID_WORKER members")
    if "STEWARD" in roles and not m["partyMember"]:
        fail(f"{label}: a STEWARD (红色管家) is a party member")
    building, group = m["building"], m["group"]
    if building is not None and building not in buildings:
        fail(f"{label}: building {building!r} is not a building code")
        ok = False
    if group is not None and group not in groups:
        fail(f"{label}: group {group!r} is not a building group code")
        ok = False
    if building is None and "GRID_WORKER" not in roles:
        fail(f"{label}: only grid workers may live outside the community")
    if ok and building is not None and buildings[building]["group"] != group:
        fail(f"{label}: lives in {building} of group {buildings[building]['group']}, "
             f"not of group {group}")
    if group is not None and building is None:
        fail(f"{label}: belongs to group {group} but has no home building")
    return ok


def check_group_members(code: str, group: dict[str, Any], people: list[dict[str, Any]]) -> None:
    leaders = [m for m in people if "GROUP_LEADER" in m["roles"]]
    if len(leaders) != 1:
        fail(f"group {code}: {len(leaders)} GROUP_LEADER members, expected exactly 1")
    for leader in leaders:
        if leader["status"] != "ACTIVE" or not leader["partyMember"]:
            fail(f"group {code}: leader {leader['code']} must be an ACTIVE party member")
    active = [m for m in people if m["status"] == "ACTIVE"]
    if len(active) < 3:
        fail(f"group {code}: {len(active)} ACTIVE members, expected at least 3")
    offered = {s for m in active for s in m["skills"]}
    if len(offered) < 3:
        fail(f"group {code}: ACTIVE members offer only {sorted(offered)}")
    if len(group["buildings"]) == 1:
        party = [m for m in people if m["partyMember"] and m["status"] != "EXITED"]
        if len(party) < SINGLE_GROUP_PARTY:
            fail(f"group {code} is one building but has {len(party)} party members; a "
                 f"building needs {SINGLE_GROUP_PARTY} to form its own group")
    group["people"], group["leader"] = people, leaders[0] if leaders else None


# --- summary -----------------------------------------------------------------------------------


def summarise(layers: dict[str, list[dict[str, Any]]], plane: Plane,
              groups: dict[str, dict[str, Any]], people: list[dict[str, Any]],
              in_grid: dict[str, str]) -> None:
    community = layers["community"][0]
    x0, y0, x1, y1 = plane(community["shape"]).bounds
    area = plane(community["shape"]).area
    print(f"community {community['code']} {community['name']}: {area / 1e4:.1f} ha, "
          f"{x1 - x0:.0f} m x {y1 - y0:.0f} m, {len(layers['building'])} buildings "
          f"({sum(isinstance(b['shape'], Point) for b in layers['building'])} points), "
          f"{sum(b.get('households') or 0 for b in layers['building'])} households")
    for grid in layers["grid"]:
        codes = [c for c, g in groups.items() if g.get("grid") == grid["code"]]
        workers = [m["name"] for m in people if grid["code"] in m["grids"]]
        print(f"  {grid['code']} {grid['name']}: "
              f"{sum(1 for g in in_grid.values() if g == grid['code'])} buildings, "
              f"{len(codes)} groups, grid workers {'、'.join(workers) or '-'}")
        for code in codes:
            group, leader = groups[code], groups[code].get("leader")
            people_here = group.get("people", [])
            print(f"    {code} {group['name']}: "
                  f"{','.join(b['code'][-3:] for b in group['buildings'])}; "
                  f"{len(people_here)} members "
                  f"({sum(m['status'] == 'ACTIVE' for m in people_here)} active, "
                  f"{sum(m['partyMember'] for m in people_here)} party), "
                  f"组长 {leader['name'] if leader else '-'}")
    roles = Counter(r for m in people for r in m["roles"])
    statuses = Counter(m["status"] for m in people)
    print(f"members: {len(people)} ({sum(m['partyMember'] for m in people)} party members)")
    print("  roles: " + ", ".join(f"{r} {roles[r]}" for r in sorted(ROLES)))
    print("  status: " + ", ".join(f"{s} {statuses[s]}" for s in sorted(STATUSES)))


def check_organisation(data: Any, people: list[dict[str, Any]],
                       grids: list[dict[str, Any]]) -> None:
    """organisation.json (issue 11): a property company and an owners' committee whose
    members exist, two candidates on notice, a suspension for each SUSPENDED member, and past
    boundaries that are valid, in the grid's community and overlap no other grid."""
    if not isinstance(data, dict):
        fail("organisation.json: not an object")
        return
    status = {m["code"]: m.get("status", "ACTIVE") for m in people}
    organisations = data.get("organisations", [])
    kinds = {o.get("kind") for o in organisations}
    if not {"PROPERTY_COMPANY", "OWNERS_COMMITTEE"} <= kinds:
        fail("organisation.json: a PROPERTY_COMPANY and an OWNERS_COMMITTEE expected")
    for o in organisations:
        if not PHONE.fullmatch(str(o.get("contactPhone", ""))):
            fail(f'organisation "{o.get("name")}": contactPhone is not a mobile number')
        for code in o.get("members", []):
            if code not in status:
                fail(f'organisation "{o.get("name")}": no member {code}')
    notices = [n.get("member") for n in data.get("notices", [])]
    if len(notices) != 2 or any(status.get(c) != "CANDIDATE" for c in notices):
        fail("organisation.json: two notices of CANDIDATE members expected")
    if {s.get("member") for s in data.get("suspensions", [])} != {
            c for c, st in status.items() if st == "SUSPENDED"}:
        fail("organisation.json: one suspension for each SUSPENDED member expected")
    by_code = {g["code"]: g for g in grids}
    history = data.get("boundaryHistory", [])
    if not history:
        fail("organisation.json: a grid with two boundary versions expected")
    for h in history:
        grid = by_code.get(h.get("grid"))
        past = shape(h["boundary"]) if isinstance(h.get("boundary"), dict) else None
        if grid is None or past is None or not past.is_valid:
            fail(f'boundaryHistory "{h.get("grid")}": no such grid or an invalid boundary')
            continue
        for other in grids:
            if other is not grid and past.intersection(other["shape"]).area > 1e-12:
                fail(f'boundaryHistory "{grid["code"]}" overlaps grid "{other["code"]}"')


def main(argv: list[str]) -> int:
    folder = Path(argv[1]) if len(argv) > 1 else ROOT / "domain" / "demo_data"
    layers = check_features(load(folder / "community.geojson"))
    members_data = load(folder / "members.json")
    if not layers["community"] or not layers["grid"]:
        fail("no usable community or grids: nothing further checked")
    else:
        community = layers["community"][0]
        lon, lat = community["shape"].centroid.coords[0]
        plane = Plane(lon, lat)
        for subdistrict in layers["subdistrict"]:
            check_subdistrict(subdistrict, community)
        check_tiling(community, layers["grid"], plane)
        in_grid = check_buildings(layers["building"], layers["grid"], plane)
        groups = check_groups(layers["building"], in_grid, plane) if layers["building"] else {}
        people = check_members(members_data, {b["code"]: b for b in layers["building"]},
                               groups, {g["code"] for g in layers["grid"]}, in_grid)
        summarise(layers, plane, groups, people, in_grid)
        check_organisation(load(folder / "organisation.json"), people, layers["grid"])
    if problems:
        print(f"\n{len(problems)} violation(s):")
        for problem in problems:
            print(f"  - {problem}")
        return 1
    print("\nOK: no violations")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
