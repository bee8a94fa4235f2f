"""Address normalisation: many spellings of one building give one key; numbers never blur."""

from __future__ import annotations

import pytest

from geo.address import (
    NormalizedAddress,
    address_key,
    house_number_signature,
    house_numbers,
    normalize_address,
    similarity,
)

# (as written, key, unit, floor, room)
CASES = [
    # full-width characters and spaces (NFKC)
    ("船山路６３号", "船山路63号", None, None, None),
    ("  船 山 路　63 号 ", "船山路63号", None, None, None),
    ("西湖新村Ｂ座", "西湖新村B栋", None, None, None),
    ("西湖新村b座", "西湖新村B栋", None, None, None),
    # punctuation
    ("船山路，63号。", "船山路63号", None, None, None),
    ("西湖新村（北区）·5栋", "西湖新村北区5栋", None, None, None),
    ("船山路63号、3单元—502室", "船山路63号", "3单元", None, "502室"),
    # Chinese numerals before a number-unit
    ("船山路六十三号", "船山路63号", None, None, None),
    ("中山路一百零五号", "中山路105号", None, None, None),
    ("中山路一百一十号", "中山路110号", None, None, None),
    ("中山路二十号", "中山路20号", None, None, None),
    ("中山路两百号", "中山路200号", None, None, None),
    ("西湖新村十二栋", "西湖新村12栋", None, None, None),
    ("西湖新村5栋二单元", "西湖新村5栋", "2单元", None, None),
    ("西湖新村5栋三〇二室", "西湖新村5栋", None, None, "302室"),
    ("西湖新村第五栋", "西湖新村5栋", None, None, None),
    ("学宫二巷3号", "学宫2巷3号", None, None, None),
    # ... but not inside road names
    ("五一路12号", "五一路12号", None, None, None),
    ("十字街8号", "十字街8号", None, None, None),
    ("五一路十二号", "五一路12号", None, None, None),
    ("百花巷三号", "百花巷3号", None, None, None),
    # administrative prefixes
    ("湖南省衡阳市石鼓区青山街道西湖新村社区船山路63号", "船山路63号", None, None, None),
    ("衡阳市船山路63号", "船山路63号", None, None, None),
    ("中国湖南省衡阳市雁峰区学宫巷3号院", "学宫巷3号", None, None, None),
    ("石鼓区人民路街道办事处船山路63号", "船山路63号", None, None, None),
    ("沛县人民路3号", "人民路3号", None, None, None),
    ("西湖新村社区居委会船山路63号", "船山路63号", None, None, None),
    ("青山街道办西湖新村5栋", "西湖新村5栋", None, None, None),
    ("山东省济南市市中区经七路5号", "经七路5号", None, None, None),
    ("内蒙古自治区呼和浩特市回民区中山西路1号", "中山西路1号", None, None, None),
    ("衡阳市蒸湘区阳光小区5栋", "阳光小区5栋", None, None, None),
    # ... but not inside a road or compound name
    ("市场路5号", "市场路5号", None, None, None),
    ("县前街8号", "县前街8号", None, None, None),
    ("新区大道5号", "新区大道5号", None, None, None),
    ("城区路5号", "城区路5号", None, None, None),
    ("衡阳市新区东路5号", "新区东路5号", None, None, None),
    ("阳光小区5栋", "阳光小区5栋", None, None, None),
    ("水乡花园5栋", "水乡花园5栋", None, None, None),
    ("衡阳市", "衡阳市", None, None, None),
    # building designators
    ("西湖新村5号楼", "西湖新村5栋", None, None, None),
    ("西湖新村5幢", "西湖新村5栋", None, None, None),
    ("西湖新村五栋", "西湖新村5栋", None, None, None),
    ("西湖新村5座", "西湖新村5栋", None, None, None),
    ("西湖新村5号栋", "西湖新村5栋", None, None, None),
    ("西湖新村5#楼", "西湖新村5栋", None, None, None),
    ("西湖新村5楼", "西湖新村5栋", None, None, None),
    ("船山路63号", "船山路63号", None, None, None),
    ("船山路63", "船山路63号", None, None, None),
    # a compound's 院
    ("学宫巷3号院", "学宫巷3号", None, None, None),
    ("学宫巷3号院2栋", "学宫巷3号2栋", None, None, None),
    ("学宫巷3号院2号楼1单元", "学宫巷3号2栋", "1单元", None, None),
    # unit, floor and room
    ("船山路63号3单元502室", "船山路63号", "3单元", None, "502室"),
    ("船山路63号2楼", "船山路63号", None, "2层", None),
    ("船山路63号2层", "船山路63号", None, "2层", None),
    ("船山路63号二楼", "船山路63号", None, "2层", None),
    ("船山路63号2F", "船山路63号", None, "2层", None),
    ("5栋2单元301", "5栋", "2单元", None, "301室"),
    ("船山路63号3单元502号", "船山路63号", "3单元", None, "502室"),
    ("西湖新村5栋2单元301", "西湖新村5栋", "2单元", None, "301室"),
    ("西湖新村5号楼301", "西湖新村5栋", None, None, "301室"),
    ("船山路63号3单元5楼502", "船山路63号", "3单元", "5层", "502室"),
    ("西湖新村5栋3单元4层402户", "西湖新村5栋", "3单元", "4层", "402室"),
    ("3单元502室", "3单元502室", None, None, None),
]


@pytest.mark.parametrize(("text", "key", "unit", "floor", "room"), CASES,
                         ids=[case[0].strip() for case in CASES])
def test_normalize_address(text: str, key: str, unit: str | None, floor: str | None,
                           room: str | None) -> None:
    assert normalize_address(text) == NormalizedAddress(key, unit, floor, room)


def test_the_cases_are_many_and_distinct() -> None:
    assert len({case[0] for case in CASES}) == len(CASES) >= 35


@pytest.mark.parametrize("text", ["", "   ", "\u3000\t\n", "，、（）"])
def test_an_empty_address_is_refused(text: str) -> None:
    with pytest.raises(ValueError, match="address is empty"):
        normalize_address(text)


def test_address_key_is_the_key() -> None:
    assert address_key("湖南省衡阳市船山路六十三号3单元502室") == "船山路63号"


def test_normalisation_is_idempotent() -> None:
    for text, key, *_ in CASES:
        assert address_key(key) == key, text


@pytest.mark.parametrize(("key", "numbers"), [
    ("船山路63号", ["63"]), ("学宫巷3号2栋", ["3", "2"]), ("五一路", []),
])
def test_house_numbers(key: str, numbers: list[str]) -> None:
    assert house_numbers(key) == numbers
    assert house_number_signature(key) == " ".join(numbers)


def test_identical_keys_are_certain() -> None:
    assert similarity("船山路63号", "船山路63号") == 1.0


@pytest.mark.parametrize(("a", "b"), [
    ("船山路63号", "船山63号"),         # road suffix left out
    ("船山路63号", "船三路63号"),       # one-character typo in the road name
    ("西湖新村5栋", "西湖新材5栋"),
    ("解放西路128号", "解放西128号"),
])
def test_near_spellings_match(a: str, b: str) -> None:
    assert similarity(a, b) >= 0.8


@pytest.mark.parametrize(("a", "b"), [
    ("船山路63号", "船山路65号"),
    ("船山路63号", "船山路6号"),
    ("西湖新村5栋", "西湖新村6栋"),
    ("学宫巷3号2栋", "学宫巷3号"),
    ("解放西路128号", "解放西路129号"),
])
def test_different_numbers_do_not_match(a: str, b: str) -> None:
    assert similarity(a, b) < 0.75


def test_unrelated_addresses_score_low() -> None:
    assert similarity("船山路63号", "学宫巷3号") < 0.5


def test_similarity_is_symmetric_and_bounded() -> None:
    pairs = [("船山路63号", "船山63号"), ("船山路63号", "船山路65号"), ("", "船山路63号")]
    for a, b in pairs:
        assert similarity(a, b) == similarity(b, a)
        assert 0.0 <= similarity(a, b) <= 1.0
