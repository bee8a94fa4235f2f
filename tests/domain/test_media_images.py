"""Photos are checked by their content and kept re-encoded, with nothing of their metadata."""

from __future__ import annotations

import io
import os

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import Image

from domain.errors import InvalidInput
from domain.media.images import (
    FULL_SIDE,
    MAX_PHOTO_BYTES,
    THUMB_SIDE,
    PhotoRefused,
    prepare_photo,
    prepare_photos,
)
from tests.media_factory import GPS_LAT, GPS_LON, other_format, photo, png_bomb


def _reopened(data: bytes) -> Image.Image:
    image = Image.open(io.BytesIO(data))
    assert image.format == "JPEG"
    return image


@pytest.mark.parametrize("fmt", ["JPEG", "PNG", "WEBP", "HEIF"])
def test_each_format_is_kept_as_two_clean_jpegs(fmt: str) -> None:
    prepared = prepare_photo(photo(fmt, (3200, 2400)))
    assert prepared.source_format == fmt
    assert (prepared.full.width, prepared.full.height) == (FULL_SIDE, 1200)
    assert (prepared.thumb.width, prepared.thumb.height) == (THUMB_SIDE, 240)
    for rendition in (prepared.full, prepared.thumb):
        image = _reopened(rendition.data)
        assert image.size == (rendition.width, rendition.height)
        assert dict(image.getexif()) == {}
        assert not {"exif", "xmp", "icc_profile", "comment", "XML:com.adobe.xmp"} & set(
            image.info)
        assert b"Exif" not in rendition.data and b"PhoneMaker" not in rendition.data
        assert b"xmpmeta" not in rendition.data


@pytest.mark.parametrize("fmt", ["JPEG", "PNG", "WEBP", "HEIF"])
def test_the_gps_position_is_read_before_it_is_stripped(fmt: str) -> None:
    prepared = prepare_photo(photo(fmt, (400, 300)))
    assert prepared.gps == pytest.approx((GPS_LON, GPS_LAT), abs=1e-6)
    assert prepare_photo(photo(fmt, (400, 300), gps=False)).gps is None


def test_a_photo_is_turned_upright_by_its_orientation_tag() -> None:
    # Orientation 6: the camera was turned; the stored copy is portrait, the mark top-right.
    prepared = prepare_photo(photo("JPEG", (800, 600), orientation=6))
    image = _reopened(prepared.full.data)
    assert image.size == (600, 800)
    pixel = image.convert("RGB").getpixel((590, 10))
    assert isinstance(pixel, tuple) and pixel[2] > 150 and pixel[0] < 80


def test_small_photos_are_never_enlarged_and_transparency_turns_white() -> None:
    prepared = prepare_photo(photo("PNG", (200, 100), mode="RGBA"))
    assert (prepared.full.width, prepared.full.height) == (200, 100)
    assert (prepared.thumb.width, prepared.thumb.height) == (200, 100)
    assert _reopened(prepared.full.data).mode == "RGB"


@pytest.mark.parametrize("data", [
    b"", b"hello, this is text", b"\xff\xd8\xff\xe0" + b"\x00" * 50, photo("JPEG")[:3000],
    other_format("GIF"), other_format("BMP"), other_format("TIFF"),
    b"<svg xmlns='http://www.w3.org/2000/svg'/>", b"%PDF-1.4\n",
], ids=["empty", "text", "jpeg-header", "truncated-jpeg", "gif", "bmp", "tiff", "svg", "pdf"])
def test_what_is_not_a_photo_is_refused(data: bytes) -> None:
    with pytest.raises(PhotoRefused) as refused:
        prepare_photo(data)
    assert refused.value.code == "NOT_AN_IMAGE"


def test_a_decompression_bomb_is_refused_unread() -> None:
    bomb = png_bomb()
    assert len(bomb) < MAX_PHOTO_BYTES
    with pytest.raises(PhotoRefused) as refused:
        prepare_photo(bomb)
    assert refused.value.code == "DECOMPRESSION_BOMB"
    # just over Pillow's limit (89 MP), where Pillow itself would only warn
    with pytest.raises(PhotoRefused) as refused:
        prepare_photo(png_bomb(9_600))
    assert refused.value.code == "DECOMPRESSION_BOMB"


def test_a_file_over_ten_megabytes_is_refused() -> None:
    with pytest.raises(PhotoRefused) as refused:
        prepare_photo(photo("PNG", (64, 64)) + b"\x00" * MAX_PHOTO_BYTES)
    assert refused.value.code == "FILE_TOO_LARGE"


def test_errors_name_each_photo_and_too_many_names_the_list() -> None:
    good = photo("JPEG", (64, 64))
    with pytest.raises(InvalidInput) as bad:
        prepare_photos([good, b"nope", png_bomb()], "input.photos")
    assert [(e.code, e.field) for e in bad.value.errors] == [
        ("NOT_AN_IMAGE", "input.photos[1]"), ("DECOMPRESSION_BOMB", "input.photos[2]")]
    with pytest.raises(InvalidInput) as many:
        prepare_photos([good] * 4, "input.photos")
    assert [(e.code, e.field) for e in many.value.errors] == [("TOO_MANY_FILES",
                                                                 "input.photos")]


SEED = photo("JPEG", (32, 32))


@pytest.mark.filterwarnings("ignore::UserWarning")  # Pillow on damaged EXIF


@settings(max_examples=int(os.environ.get("FUZZ_EXAMPLES", "150")), deadline=None,
          derandomize="FUZZ_EXAMPLES" not in os.environ,
          suppress_health_check=[HealthCheck.too_slow])
@given(st.one_of(
    st.binary(max_size=2000),
    st.tuples(st.integers(0, len(SEED) - 1), st.binary(min_size=1, max_size=8)).map(
        lambda cut: SEED[:cut[0]] + cut[1] + SEED[cut[0] + len(cut[1]):]),
    st.sampled_from([b"\x89PNG\r\n\x1a\n", b"RIFF\x00\x00\x00\x00WEBPVP8 ",
                     b"\x00\x00\x00\x18ftypheic", b"\xff\xd8\xff"]).flatmap(
        lambda head: st.binary(max_size=500).map(lambda tail: head + tail))))
def test_any_bytes_are_a_photo_or_a_refusal(data: bytes) -> None:
    try:
        prepared = prepare_photo(data)
    except PhotoRefused as refused:
        assert refused.code in {"NOT_AN_IMAGE", "DECOMPRESSION_BOMB", "FILE_TOO_LARGE"}
    else:
        assert dict(_reopened(prepared.full.data).getexif()) == {}
