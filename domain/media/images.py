"""Photos as residents and members send them: checked by their content, re-encoded clean.

A photo is accepted when Pillow opens it as JPEG, PNG, WebP or HEIC/HEIF (whatever its name
or declared type says), it has at most MAX_PHOTO_BYTES and at most Pillow's decompression-bomb
limit of pixels (`Image.MAX_IMAGE_PIXELS`, 89 million; a bomb is refused before a pixel is
decoded), and its pixels decode. What is kept is not the file but two new JPEGs made from its
pixels alone, turned upright first (EXIF Orientation): a copy at most FULL_SIDE pixels on its
longer side and a thumbnail at most THUMB_SIDE. Nothing of the original's metadata survives:
no EXIF (GPS, camera, time, owner), no XMP, no comments, no ICC profile (wide-gamut pixels are
converted to sRGB first). The GPS position, if the photo has one, is read before and handed
back separately, for the caller to *offer* (never to use on its own).
"""

from __future__ import annotations

import io
import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import pillow_heif
from PIL import Image, ImageCms, ImageOps

from domain.errors import InvalidInput, UserError

pillow_heif.register_heif_opener()

#: How many photos one submission, or one completion, may carry.
MAX_PHOTOS = 3
#: The largest photo accepted, in bytes (10 MB).
MAX_PHOTO_BYTES = 10 * 1000 * 1000
#: Longer side of the kept copy, and of the thumbnail, in pixels (never enlarged).
FULL_SIDE = 1600
THUMB_SIDE = 320
#: The formats Pillow may try, by its own names: nothing else is even attempted.
FORMATS = ("JPEG", "PNG", "WEBP", "HEIF")
#: Pillow's decompression-bomb limit: larger images are refused, unread.
MAX_PIXELS = Image.MAX_IMAGE_PIXELS or 89_478_485
JPEG_QUALITY = {FULL_SIDE: 82, THUMB_SIDE: 75}
MEDIA_TYPE = "image/jpeg"

_GPS_IFD = 0x8825
_SRGB = ImageCms.createProfile("sRGB")


@dataclass(frozen=True)
class Rendition:
    """One re-encoded JPEG and its size in pixels."""

    data: bytes
    width: int
    height: int


@dataclass(frozen=True)
class PreparedPhoto:
    """A photo ready to store: its full copy and thumbnail, the format it came in, and the
    position its GPS tags gave (WGS-84 longitude, latitude), if any."""

    full: Rendition
    thumb: Rendition
    source_format: str
    gps: tuple[float, float] | None


class PhotoRefused(Exception):
    """Why one photo is refused: a UserError code and message."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


def check_count(count: int, field: str) -> None:
    """TOO_MANY_FILES when more than MAX_PHOTOS photos come at once."""
    if count > MAX_PHOTOS:
        raise InvalidInput.one("TOO_MANY_FILES", f"at most {MAX_PHOTOS} photos at a time, not "
                               f"{count}", field)


def prepare_photos(files: Sequence[bytes], field: str) -> list[PreparedPhoto]:
    """Every photo checked and re-encoded, in order; InvalidInput naming each bad one
    (`field[i]`) and, when there are too many, `field` itself. Pure: stores nothing."""
    check_count(len(files), field)
    prepared: list[PreparedPhoto] = []
    errors: list[UserError] = []
    for index, data in enumerate(files):
        try:
            prepared.append(prepare_photo(data))
        except PhotoRefused as refused:
            errors.append(UserError(refused.code, refused.message, f"{field}[{index}]"))
    if errors:
        raise InvalidInput(errors)
    return prepared


def prepare_photo(data: bytes) -> PreparedPhoto:
    """One photo checked and re-encoded; PhotoRefused (FILE_TOO_LARGE, NOT_AN_IMAGE,
    DECOMPRESSION_BOMB) when it is not one we keep. Never anything else, whatever the bytes."""
    if len(data) > MAX_PHOTO_BYTES:
        raise PhotoRefused("FILE_TOO_LARGE", f"a photo may have at most {MAX_PHOTO_BYTES:,} "
                           "bytes (10 MB)")
    image = _open(data)
    try:
        gps = _gps(image)
        full = _scaled(_decoded(image), FULL_SIDE)
        thumb = _scaled(full, THUMB_SIDE)
        return PreparedPhoto(full=_encoded(full, FULL_SIDE), thumb=_encoded(thumb, THUMB_SIDE),
                             source_format=str(image.format), gps=gps)
    except PhotoRefused:
        raise
    except Exception:  # a file that lied in its header and broke while decoding
        raise PhotoRefused("NOT_AN_IMAGE", "the photo could not be decoded: it is damaged "
                           "or not a JPEG, PNG, WebP or HEIC image") from None
    finally:
        image.close()


def _open(data: bytes) -> Image.Image:
    """The image's header, read by one of FORMATS; the bomb check before any pixel."""
    try:
        image = Image.open(io.BytesIO(data), formats=FORMATS)
    except Image.DecompressionBombError:
        raise _bomb() from None
    except Exception:
        raise PhotoRefused("NOT_AN_IMAGE", "this file is not a JPEG, PNG, WebP or HEIC "
                           "image") from None
    width, height = image.size
    if width < 1 or height < 1 or width * height > MAX_PIXELS:
        image.close()
        raise _bomb()
    return image


def _bomb() -> PhotoRefused:
    return PhotoRefused("DECOMPRESSION_BOMB", f"the image has more than {MAX_PIXELS:,} pixels "
                        "(a decompression bomb, or a far larger picture than a photo needs)")


def _decoded(image: Image.Image) -> Image.Image:
    """The first frame's pixels, upright, in sRGB, on white where it was transparent;
    no metadata attached."""
    if image.format == "JPEG":
        image.draft("RGB", (FULL_SIDE, FULL_SIDE))  # decode at a fraction of the size
    image.load()
    upright = ImageOps.exif_transpose(image) or image
    pixels = _srgb(upright)
    if pixels.mode in ("RGBA", "LA", "PA") or "transparency" in pixels.info:
        rgba = pixels.convert("RGBA")
        flat = Image.new("RGB", rgba.size, "white")
        flat.paste(rgba, mask=rgba.getchannel("A"))
        pixels = flat
    return pixels.convert("RGB") if pixels.mode != "RGB" else pixels


def _srgb(image: Image.Image) -> Image.Image:
    """The pixels converted to sRGB when the image carries another colour profile (a phone's
    Display P3, say), so that dropping the profile changes no colour."""
    profile = image.info.get("icc_profile")
    if not profile or image.mode not in ("RGB", "RGBA"):
        return image
    try:
        source = ImageCms.ImageCmsProfile(io.BytesIO(profile))
        converted = ImageCms.profileToProfile(image, source, _SRGB, outputMode=image.mode)
    except Exception:  # a broken profile: keep the pixels as they are
        return image
    return converted or image


def _scaled(image: Image.Image, side: int) -> Image.Image:
    """`image` at most `side` pixels on its longer side (never enlarged), aspect kept."""
    scale = side / max(image.size)
    if scale >= 1:
        return image
    size = (max(1, round(image.width * scale)), max(1, round(image.height * scale)))
    return image.resize(size, Image.Resampling.LANCZOS, reducing_gap=3.0)


def _encoded(image: Image.Image, side: int) -> Rendition:
    """A JPEG of the pixels alone: whatever `info` the image carries is not written."""
    image.info.clear()
    out = io.BytesIO()
    image.save(out, "JPEG", quality=JPEG_QUALITY[side], optimize=True, progressive=True)
    return Rendition(out.getvalue(), image.width, image.height)


def _gps(image: Image.Image) -> tuple[float, float] | None:
    """(longitude, latitude) from the EXIF GPS tags, WGS-84 as EXIF defines; None when
    missing, damaged or out of range."""
    try:
        tags: dict[int, Any] = dict(image.getexif().get_ifd(_GPS_IFD))
        lat = _degrees(tags.get(2), tags.get(1), "S")
        lon = _degrees(tags.get(4), tags.get(3), "W")
    except Exception:
        return None
    if lat is None or lon is None or not (-90 <= lat <= 90 and -180 <= lon <= 180):
        return None
    if lat == 0 and lon == 0:  # what cameras write when they had no fix
        return None
    return round(lon, 7), round(lat, 7)


def _degrees(value: Any, ref: Any, negative: str) -> float | None:
    """Degrees, minutes, seconds (EXIF rationals) as signed decimal degrees."""
    if not isinstance(value, tuple | list) or len(value) != 3:
        return None
    d, m, s = (float(part) for part in value)
    total = d + m / 60 + s / 3600
    if not math.isfinite(total):
        return None
    if isinstance(ref, bytes):
        ref = ref.decode("ascii", "replace")
    return -total if str(ref).strip().upper().startswith(negative) else total
