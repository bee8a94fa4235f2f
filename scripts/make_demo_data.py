"""Writes the demo community: domain/demo_data/community.geojson and members.json.

西湖新村社区 (衡阳市石鼓区青山街道: a subdistrict feature drawn around it), modelled on the
source documents: 27 buildings in 4 grids, 13 building groups (楼栋党小组; a building with five
or more party members is its own group, neighbouring buildings share one otherwise), 66 group
members and 5 grid workers. The layout is drawn in metres on a local plane (x east, y north)
around an origin in 石鼓区 and converted to WGS-84; people's names and phone numbers are
invented (phones read 1xx-0734-nnnn).

Deterministic: running it again writes the same files. Check them with check_demo_data.py.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

OUT = Path(__file__).resolve().parent.parent / "domain" / "demo_data"
COMMUNITY = "XHXC"
SUBDISTRICT = "SG-QS"  # 青山街道, the subdistrict (街道) that holds the community
ORIGIN = (112.6085, 26.9030)  # lon, lat of the community's south-west corner

# --- the plan, in metres -----------------------------------------------------------------------

# Corners and edge midpoints of the community; O is where 船山路 (north-south) crosses the
# 学宫巷 line (east-west). Grids are its four quarters and share these exact vertices.
VERTICES = {
    "A": (0, 0), "S": (250, -8), "B": (500, -15), "E": (515, 200), "C": (525, 410),
    "N": (260, 418), "D": (-5, 400), "W": (-3, 195), "O": (255, 198),
}
COMMUNITY_RING = "ASBECNDW"
# The subdistrict's boundary: a wider ring around the community (only its outline matters).
SUBDISTRICT_RING = [(-420, -290), (640, -320), (980, 180), (900, 700), (180, 760), (-380, 600)]
GRIDS = [  # number, name, counter-clockwise ring
    (1, "第一网格", "WOND"),  # north-west: 环城北路, 学宫巷 north side
    (2, "第二网格", "OECN"),  # north-east: 船山路 east side, 西湖新村 1-5栋
    (3, "第三网格", "ASOW"),  # south-west: 中山北路, 船山路 west side
    (4, "第四网格", "SBEO"),  # south-east: 小西门, 西湖新村 6-10栋
]

GROUPS = {  # number: building group name (groupName)
    1: "环城北路93号楼栋党小组",
    2: "环城北路85-89号楼栋党小组",
    3: "学宫巷3号楼栋党小组",
    4: "红色管家第4小组",
    5: "船山路63号楼栋党小组",
    6: "西湖新村1-3栋楼栋党小组",
    7: "红色管家第7小组",
    8: "中山北路12-20号楼栋党小组",
    9: "船山路42号楼栋党小组",
    10: "红色管家第10小组",
    11: "船山路39号楼栋党小组",
    12: "西湖新村6-7栋楼栋党小组",
    13: "红色管家第13小组",
}

# number, address, name, households, group, place: (x, y) for a point (footprint unknown), or
# (centre x, centre y, length, width, degrees anticlockwise from east) for a footprint.
Place = tuple[float, ...]
BUILDINGS: list[tuple[int, str, str | None, int, int, Place]] = [
    # 第一网格
    (1, "环城北路93号", None, 48, 1, (200, 380, 36, 14, 4)),
    (2, "环城北路89号", None, 30, 2, (130, 375, 30, 12, 4)),
    (3, "环城北路85号", "环城北路85号院", 24, 2, (65, 370, 28, 12, 4)),
    (4, "学宫巷3号", None, 42, 3, (60, 225, 32, 14, 1)),
    (5, "学宫巷9号", None, 28, 4, (150, 228, 26, 12, 1)),
    (6, "学宫巷11号", None, 20, 4, (150, 270, 24, 12, -8)),
    (7, "学宫巷13号", None, 12, 4, (205, 245)),
    # 第二网格
    (8, "船山路63号", "西湖广场综合楼", 96, 5, (290, 300, 38, 18, 91)),
    (9, "西湖新村1栋", "西湖新村1栋", 36, 6, (360, 240, 34, 12, -6)),
    (10, "西湖新村2栋", "西湖新村2栋", 36, 6, (360, 275, 34, 12, -6)),
    (11, "西湖新村3栋", "西湖新村3栋", 30, 6, (360, 310, 34, 12, -6)),
    (12, "西湖新村4栋", "西湖新村4栋", 36, 7, (440, 310, 34, 12, -6)),
    (13, "西湖新村5栋", "西湖新村5栋", 36, 7, (440, 345, 34, 12, -6)),
    (14, "环城北路101号", "市政公司宿舍", 54, 7, (445, 378, 30, 15, 2)),
    # 第三网格
    (15, "中山北路12号", None, 40, 8, (25, 40, 30, 14, 88)),
    (16, "中山北路16号", None, 16, 8, (22, 85)),
    (17, "中山北路20号", None, 32, 8, (28, 130, 28, 14, 90)),
    (18, "船山路42号", "粮食局宿舍", 72, 9, (220, 60, 38, 16, 92)),
    (19, "船山路46号", None, 24, 10, (220, 130, 26, 12, 90)),
    (20, "学宫巷2号", None, 22, 10, (150, 170, 26, 12, 1)),
    (21, "学宫巷6号", None, 14, 10, (100, 172)),
    # 第四网格
    (22, "船山路39号", "小西门综合楼", 88, 11, (290, 60, 38, 18, 90)),
    (23, "西湖新村6栋", "西湖新村6栋", 36, 12, (370, 40, 34, 12, -6)),
    (24, "西湖新村7栋", "西湖新村7栋", 36, 12, (370, 80, 34, 12, -6)),
    (25, "西湖新村8栋", "西湖新村8栋", 30, 13, (370, 150, 34, 12, -6)),
    (26, "西湖新村9栋", "西湖新村9栋", 30, 13, (450, 150, 34, 12, -6)),
    (27, "西湖新村10栋", "西湖新村10栋", 24, 13, (450, 100, 30, 12, -6)),
]

# --- the people --------------------------------------------------------------------------------

ROLES = {
    "L": ["GROUP_LEADER", "STEWARD"], "S": ["STEWARD"], "V": ["VOLUNTEER"], "G": ["GRID_WORKER"],
}
SKILLS = {
    "MA": "MAINTENANCE", "AS": "ASSISTANCE", "CO": "CONSULTATION", "CU": "CULTURE",
    "EM": "EMERGENCY", "ME": "MEDIATION",
}
STATUS = {"A": "ACTIVE", "C": "CANDIDATE", "P": "SUSPENDED", "X": "EXITED"}

# Grid workers live outside the community: name, party member, skills, grids, note.
GRID_WORKERS = [
    ("王思雨", True, "CO ME", [1], "社区专职网格员"),
    ("李俊杰", True, "CO EM", [2], "社区专职网格员"),
    ("张琳", False, "CO AS", [3], "社区专职网格员"),
    ("陈浩宇", True, "ME EM", [4], "社区专职网格员，退役军人"),
    ("周敏", True, "CO", [1, 2], "网格长，兼管第一、第二网格"),
]

# Group members, by group; the leader comes first. Members take the group's buildings in turn,
# so the leader lives in its first building.
# name, party member, roles, skills, status, note
MEMBERS: dict[int, list[tuple[str, bool, str, str, str, str]]] = {
    1: [
        ("谭建国", True, "L", "ME CO", "A", "退休干部"),
        ("彭桂英", True, "S", "AS CU", "A", "退休幼儿园教师"),
        ("曾庆华", True, "S", "MA", "A", "退休电工"),
        ("廖美玲", True, "S", "AS EM", "A", "社区卫生服务站护士"),
        ("罗志勇", True, "S", "EM MA", "A", "退休消防员"),
        ("周晓婷", False, "V", "CU", "C", "大学生志愿者"),
    ],
    2: [
        ("刘德明", True, "L", "MA EM", "A", "退休水电工"),
        ("蒋秀兰", True, "S", "ME", "A", "人民调解员"),
        ("唐文斌", True, "S", "CO", "A", "银行职员"),
        ("李春花", False, "V", "AS CU", "A", "广场舞领队"),
    ],
    3: [
        ("贺光明", True, "L", "CU CO", "A", "退休中学语文教师"),
        ("欧阳红梅", True, "S", "AS EM", "A", "退休护士"),
        ("邓卫东", True, "S", "MA", "A", "退休钳工"),
        ("陈淑珍", True, "S", "ME AS", "A", "退休妇联干部"),
        ("袁海波", True, "S", "CO", "A", "律师"),
        ("黄丽", True, "S", "CU", "P", "在外地照顾孙辈，暂停服务"),
    ],
    4: [
        ("胡志刚", True, "L", "MA EM", "A", "物业维修主管"),
        ("王玉芳", True, "S", "CO", "A", "退休会计"),
        ("孙丽华", False, "V", "AS", "A", "家庭主妇，常照看独居老人"),
        ("郭鹏", True, "S", "EM ME", "C", "退役军人"),
    ],
    5: [
        ("杨卫国", True, "L", "ME CO", "A", "退休工会干部"),
        ("朱建华", True, "S", "MA", "A", "退休电工"),
        ("何秋菊", True, "S", "AS EM", "A", "社区医生"),
        ("许文静", True, "S", "CU CO", "A", "小学教师"),
        ("宋晓东", True, "S", "EM", "A", "商场保安队长"),
        ("梁小燕", False, "V", "AS", "A", "个体户"),
    ],
    6: [
        ("谢长青", True, "L", "MA ME", "A", "退休车间主任"),
        ("龙翠萍", True, "S", "AS CU", "A", "退休纺织女工"),
        ("马俊", True, "S", "CO", "A", "税务所干部"),
        ("韩雪", False, "V", "CU", "A", "书法爱好者"),
        ("刘子豪", False, "V", "EM", "C", "大学生志愿者"),
    ],
    7: [
        ("邹国平", True, "L", "MA EM", "A", "市政公司退休职工"),
        ("曹玉兰", True, "S", "ME", "A", "退休人民调解员"),
        ("范志强", True, "S", "AS CO", "A", "药店店长"),
        ("熊桂香", True, "S", "CU", "A", "老年合唱团团长"),
        ("段明", True, "S", "MA", "X", "已迁居外地"),
    ],
    8: [
        ("钟振华", True, "L", "ME CO", "A", "退休法官"),
        ("蔡秀英", True, "S", "AS", "A", "退休保育员"),
        ("田军", True, "S", "MA EM", "A", "水电维修工"),
        ("姚晓芳", False, "V", "CU", "A", "社区图书室志愿者"),
        ("卢伟", False, "V", "MA", "A", "家电维修店店主"),
    ],
    9: [
        ("汤永红", True, "L", "ME AS", "A", "粮食局退休干部"),
        ("邱慧敏", True, "S", "AS EM", "A", "市中心医院医生"),
        ("戴国庆", True, "S", "MA", "A", "退休管道工"),
        ("孔令芝", True, "S", "CU CO", "A", "退休中学历史教师"),
        ("万德胜", True, "S", "EM", "A", "退役军人"),
        ("白晶晶", True, "S", "CO", "C", "社保窗口工作人员"),
    ],
    10: [
        ("易海军", True, "L", "EM MA", "A", "退休消防员"),
        ("毛凤英", True, "S", "ME AS", "A", "退休居委会主任"),
        ("石磊", True, "S", "CO", "A", "保险公司职员"),
        ("夏雨萱", False, "V", "CU AS", "A", "舞蹈培训老师"),
        ("金大勇", True, "S", "MA", "P", "因病暂停服务"),
    ],
    11: [
        ("雷振东", True, "L", "ME CO", "A", "退休民警"),
        ("潘爱华", True, "S", "AS EM", "A", "退休护士长"),
        ("黎建军", True, "S", "MA", "A", "退休电工"),
        ("苏敏", True, "S", "CU", "A", "社区舞蹈队队长"),
        ("冯志远", True, "S", "CO ME", "A", "律师事务所律师"),
        ("傅小红", False, "V", "AS", "A", "超市店员"),
    ],
    12: [
        ("江海涛", True, "L", "MA ME", "A", "退休工程师"),
        ("沈桂芝", True, "S", "AS CU", "A", "退休小学教师"),
        ("程浩", False, "V", "EM", "A", "红十字会急救志愿者"),
        ("顾明亮", True, "S", "CO", "C", "银行客户经理"),
    ],
    13: [
        ("尹志华", True, "L", "ME EM", "A", "退休企业保卫科长"),
        ("崔兰芳", True, "S", "AS CO", "A", "退休药剂师"),
        ("陆建平", True, "S", "MA", "A", "退休水暖工"),
        ("康雅琴", False, "V", "CU", "A", "太极拳辅导员"),
    ],
}
PHONE_PREFIXES = ["138", "139", "150", "186", "137", "158", "189", "135", "187", "152", "136",
                  "159", "183", "177"]


# --- conversion --------------------------------------------------------------------------------


def lonlat(x: float, y: float) -> list[float]:
    """A local point in metres as [lon, lat], rounded to 7 decimals (about 1 cm)."""
    phi = math.radians(ORIGIN[1])
    per_lat = 111132.92 - 559.82 * math.cos(2 * phi) + 1.175 * math.cos(4 * phi)
    per_lon = 111412.84 * math.cos(phi) - 93.5 * math.cos(3 * phi)
    return [round(ORIGIN[0] + x / per_lon, 7), round(ORIGIN[1] + y / per_lat, 7)]


def ring(points: list[tuple[float, float]]) -> list[list[float]]:
    positions = [lonlat(x, y) for x, y in points]
    return [*positions, positions[0]]


def polygon(names: str) -> dict[str, Any]:
    return {"type": "Polygon", "coordinates": [ring([VERTICES[n] for n in names])]}


def footprint(place: Place) -> dict[str, Any]:
    if len(place) == 2:
        return {"type": "Point", "coordinates": lonlat(*place)}
    cx, cy, length, width, degrees = place
    cos, sin = math.cos(math.radians(degrees)), math.sin(math.radians(degrees))
    corners = [(-length / 2, -width / 2), (length / 2, -width / 2), (length / 2, width / 2),
               (-length / 2, width / 2)]
    return {"type": "Polygon", "coordinates": [ring(
        [(cx + dx * cos - dy * sin, cy + dx * sin + dy * cos) for dx, dy in corners])]}


# --- output ------------------------------------------------------------------------------------


def grid_code(number: int) -> str:
    return f"{COMMUNITY}-G{number}"


def group_code(number: int) -> str:
    return f"{COMMUNITY}-L{number:02d}"


def building_code(number: int) -> str:
    return f"{COMMUNITY}-B{number:02d}"


def feature(properties: dict[str, Any], geometry: dict[str, Any]) -> dict[str, Any]:
    return {"type": "Feature", "properties": properties, "geometry": geometry}


def features() -> dict[str, Any]:
    out = [feature({"layer": "subdistrict", "code": SUBDISTRICT, "name": "青山街道"},
                   {"type": "Polygon", "coordinates": [ring(SUBDISTRICT_RING)]}),
           feature({"layer": "community", "code": COMMUNITY, "name": "西湖新村社区",
                    "subdistrict": SUBDISTRICT}, polygon(COMMUNITY_RING))]
    out += [feature({"layer": "grid", "code": grid_code(n), "name": name,
                     "community": COMMUNITY}, polygon(names)) for n, name, names in GRIDS]
    for number, address, name, households, group, place in BUILDINGS:
        props = {"layer": "building", "code": building_code(number), "address": address}
        if name:
            props["name"] = name
        props |= {"households": households, "group": group_code(group),
                  "groupName": GROUPS[group]}
        out.append(feature(props, footprint(place)))
    return {"type": "FeatureCollection", "features": out}


def members() -> dict[str, Any]:
    rows: list[dict[str, Any]] = []

    def add(name: str, party: bool, roles: list[str], skills: str, status: str, note: str,
            building: str | None, group: str | None, grids: list[str]) -> None:
        number = len(rows) + 1
        phone = f"{PHONE_PREFIXES[number % len(PHONE_PREFIXES)]}0734{number:04d}"
        rows.append({
            "code": f"M{number:03d}", "name": name, "phone": phone, "partyMember": party,
            "roles": roles, "skills": [SKILLS[s] for s in skills.split()], "status": status,
            "building": building, "group": group, "grids": grids, "note": note,
        })

    for name, party, skills, grids, note in GRID_WORKERS:
        add(name, party, ROLES["G"], skills, "ACTIVE", note, None, None,
            [grid_code(g) for g in grids])
    for group, people in MEMBERS.items():
        homes = [building_code(b[0]) for b in BUILDINGS if b[4] == group]
        for index, (name, party, roles, skills, status, note) in enumerate(people):
            add(name, party, ROLES[roles], skills, STATUS[status], note,
                homes[index % len(homes)], group_code(group), [])
    return {"members": rows}


def write(name: str, data: dict[str, Any]) -> None:
    path = OUT / name
    path.write_text(json.dumps(data, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    print(f"wrote {path}")


def main() -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    write("community.geojson", features())
    write("members.json", members())


if __name__ == "__main__":
    main()
