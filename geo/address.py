"""Chinese street addresses reduced to one canonical building-level key, for matching.

People write the same building many ways: "湖南省衡阳市石鼓区船山路六十三号3单元502室",
"船山路 63 号", "西湖新村5号楼" or "西湖新村五栋". The key keeps what identifies the building
(road or compound, house and building numbers) in one spelling, and sets unit, floor and room
aside. Normalisation runs the same way on stored and asked addresses, so where a rule must
guess (is "三巷" a lane number?), being consistent matters more than being right.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

from rapidfuzz import fuzz


@dataclass(frozen=True)
class NormalizedAddress:
    """An address split into its building-level key and the parts below the building."""

    key: str
    unit: str | None
    floor: str | None
    room: str | None


# --- characters and numerals -------------------------------------------------------------------

_DROPPED = re.compile(r"[\s，,、.。·\-—–_()（）\[\]【】\"'“”‘’:：;；/]+")
_CN_DIGITS = {"零": 0, "〇": 0, "一": 1, "二": 2, "两": 2, "三": 3, "四": 4, "五": 5,
              "六": 6, "七": 7, "八": 8, "九": 9}
_CN_UNITS = {"十": 10, "百": 100, "千": 1000}
# A Chinese numeral is converted only when a number-unit follows it, so that road names such
# as 五一路 and 十字街 are left alone.
_NUMBER_UNIT = "号|栋|幢|座|单元|层|楼|室|户|房|弄|巷"
_CN_NUMBER = re.compile(rf"第?([零〇一二两三四五六七八九十百千]+)(?={_NUMBER_UNIT})")
_ORDINAL = re.compile(rf"第(?=\d+(?:{_NUMBER_UNIT}))")

# --- administrative prefixes -------------------------------------------------------------------

# Longest first, so that 社区 wins over 区 at the same place.
_ADMIN_SUFFIXES = ("社区居民委员会", "特别行政区", "街道办事处", "社区居委会", "居民委员会",
                   "村民委员会", "自治区", "自治州", "自治县",
                   "自治旗", "街道办", "居委会", "村委会", "街道", "社区", "地区", "省", "市", "区",
                   "县", "旗", "镇", "乡")
# A single-character suffix needs a name of two characters (水乡花园 is not a township), except
# 县, where one-character county names are common (沛县).
_SHORT_NAME_OK = {"县"}
# 小区 (a housing estate), 园区, 校区 ... end in 区 but are places inside the community.
_NOT_DISTRICT = tuple("小园校片景厂矿营场")
# After a real prefix comes a place name, not the rest of a road name or a number.
_NOT_AFTER_PREFIX = re.compile(
    r"^(?:[东西南北中]?[一二三四五六七八九十]?(?:路|街|大道|大街|巷|弄|胡同|段|桥)|\d|$)")
_LEADING_NAME = re.compile(r"^\D+")

# --- unit, floor and room ----------------------------------------------------------------------

_ROOM = re.compile(r"(\d+)(?:室|户|号房|房)$")
_BARE_ROOM = re.compile(r"(?<=[元层楼栋幢座号])(\d+)$")  # 2单元301, 5栋301, 3楼301
_ROOM_NUMBER = re.compile(r"(?<=[元层楼])(\d+)号$")  # 3单元502号: after a unit or floor, a room
_FLOOR = re.compile(r"(\d+)(层|楼|F)$")
_UNIT = re.compile(r"(\d+)单元$")

# --- building level ----------------------------------------------------------------------------

_COMPOUND_NUMBER = re.compile(r"(\d+号)院")  # 学宫巷3号院 is the compound at 学宫巷3号
_BUILDING = re.compile(r"(\d+|[A-Z])(?:号楼|号栋|号幢|号座|栋|幢|座|楼)")
_BARE_HOUSE_NUMBER = re.compile(r"(路|街|巷|弄|道|里|胡同)(\d+)$")  # 船山路63 is 船山路63号
_DIGITS = re.compile(r"\d+")
_ASCII_DIGITS = re.compile(r"[0-9]+")


def normalize_address(text: str) -> NormalizedAddress:
    """The canonical key of an address, with unit, floor and room split off.

    Raises ValueError("address is empty") when nothing is left to match on.
    """
    cleaned = _clean(text)
    if not cleaned:
        raise ValueError("address is empty")
    body = _strip_admin_prefixes(_arabic_numerals(cleaned))
    rest, unit, floor, room = _split_below_building(body)
    return NormalizedAddress(_canonical_building(rest), unit, floor, room)


def address_key(text: str) -> str:
    """The building-level key of an address (see normalize_address)."""
    return normalize_address(text).key


def house_numbers(key: str) -> list[str]:
    """The digit runs of a key, in order: 船山路63号5栋 gives ["63", "5"]."""
    return _DIGITS.findall(key)


def house_number_signature(key: str) -> str:
    """The ASCII digit runs of a key joined by spaces (船山路63号5栋 gives "63 5"), as
    `house_number_signature_sql` computes it in PostgreSQL. Keys whose house_numbers are
    equal always have equal signatures, so a look-up may narrow its fuzzy candidates to the
    keys with the asked key's signature: any other scores at most 0.5 in `similarity`."""
    return " ".join(_ASCII_DIGITS.findall(key))


def house_number_signature_sql(column: str) -> str:
    """`house_number_signature` of a text column in PostgreSQL; an index on this very
    expression (migration 0008) answers an equality with it."""
    return f"btrim(regexp_replace({column}, '[^0-9]+', ' ', 'g'))"


def similarity(a: str, b: str) -> float:
    """Confidence from 0 to 1 that two normalised keys name the same building.

    Text similarity forgives a typo in a road name, but two addresses whose numbers differ are
    different buildings however alike they look (船山路63号, 船山路65号), so their score is
    halved, below any sensible match threshold.
    """
    score = fuzz.ratio(a, b) / 100.0
    if house_numbers(a) != house_numbers(b):
        score *= 0.5
    return score


def _clean(text: str) -> str:
    """NFKC (full-width to half-width), Latin upper case, no spaces or punctuation; '#' is 号
    (5#楼 is 5号楼)."""
    text = unicodedata.normalize("NFKC", text).upper()
    return _DROPPED.sub("", text).replace("#", "号")


def _arabic_numerals(text: str) -> str:
    """Chinese numerals before a number-unit as Arabic: 六十三号 is 63号, 三〇二室 is 302室;
    第 before such a number is dropped (第五栋 is 5栋)."""
    text = _CN_NUMBER.sub(lambda m: _cn_number(m.group(1)), text)
    return _ORDINAL.sub("", text)


def _cn_number(numeral: str) -> str:
    """A Chinese numeral as Arabic digits, positional (一百零五) or digit by digit (三〇二)."""
    if not any(c in _CN_UNITS for c in numeral):
        return "".join(str(_CN_DIGITS[c]) for c in numeral)
    total, current, last_unit, after_zero = 0, 0, 1, False
    for char in numeral:
        if char in _CN_UNITS:
            last_unit = _CN_UNITS[char]
            total += (current or 1) * last_unit
            current, after_zero = 0, False
        else:
            current = _CN_DIGITS[char]
            after_zero = after_zero or current == 0
    if current and not after_zero and last_unit >= 100:
        current *= last_unit // 10  # 一百一 is 110, as in speech
    return str(total + current)


def _strip_admin_prefixes(text: str) -> str:
    """Without the leading province, city, district, county, street office and community names
    (湖南省衡阳市石鼓区青山街道西湖新村社区船山路63号 is 船山路63号)."""
    text = text.removeprefix("中国")
    while (end := _admin_prefix_end(text)) is not None:
        text = text[end:]
    return text


def _admin_prefix_end(text: str) -> int | None:
    """Where the first administrative name ends, or None when the text does not start with one.

    The shortest name that fits wins, as long as what follows it still reads as an address.
    """
    leading = _LEADING_NAME.match(text)
    if leading is None:
        return None
    for end in range(2, leading.end() + 1):
        suffix = _admin_suffix(text[:end])
        if suffix is None:
            continue
        start = end - len(suffix)  # 街道 may go on as 街道办事处, 社区 as 社区居委会
        whole = start + max(len(s) for s in _ADMIN_SUFFIXES if text.startswith(s, start))
        if not _NOT_AFTER_PREFIX.match(text[whole:]):
            return whole
    return None


def _admin_suffix(name: str) -> str | None:
    """The administrative suffix `name` ends with, if its own name part is long enough."""
    if not name.endswith(_ADMIN_SUFFIXES):  # most names tried end in none: one C-level test
        return None
    for suffix in _ADMIN_SUFFIXES:
        if not name.endswith(suffix):
            continue
        own = name[: -len(suffix)]
        shortest = 1 if len(suffix) > 1 or suffix in _SHORT_NAME_OK else 2
        if len(own) < shortest or (suffix == "区" and own.endswith(_NOT_DISTRICT)):
            return None
        return suffix
    return None


def _split_below_building(text: str) -> tuple[str, str | None, str | None, str | None]:
    """Room, floor and unit taken off the end, in that order; nothing is taken when it would
    leave no building (an address that is only "3单元" keeps it as its key)."""
    rest, room = _take(text, _ROOM)
    for pattern in (_ROOM_NUMBER, _BARE_ROOM):
        if room is None:
            rest, room = _take(rest, pattern)
    rest, floor = _take_floor(rest)
    rest, unit = _take(rest, _UNIT)
    if not rest:
        return text, None, None, None
    return (rest, f"{unit}单元" if unit else None, f"{floor}层" if floor else None,
            f"{room}室" if room else None)


def _take(text: str, pattern: re.Pattern[str]) -> tuple[str, str | None]:
    """`text` without a trailing match of `pattern`, and the match's number."""
    match = pattern.search(text)
    if match is None:
        return text, None
    return text[: match.start()], match.group(1)


def _take_floor(text: str) -> tuple[str, str | None]:
    """A trailing floor: 5层 always; 2楼 or 2F only after a numbered part (船山路63号2楼),
    since a lone 5楼 after a compound name (西湖新村5楼) means building 5."""
    match = _FLOOR.search(text)
    if match is None:
        return text, None
    before = text[: match.start()]
    if match.group(2) != "层" and not _DIGITS.search(before):
        return text, None
    return before, match.group(1)


def _canonical_building(text: str) -> str:
    """One spelling for the building part: 号楼/号栋/幢/座/楼 after a number are 栋, a
    compound's 院 goes (学宫巷3号院2栋 is 学宫巷3号2栋), a bare house number gets its 号."""
    text = _COMPOUND_NUMBER.sub(r"\1", text)
    text = _BUILDING.sub(r"\1栋", text)
    return _BARE_HOUSE_NUMBER.sub(r"\1\2号", text)
