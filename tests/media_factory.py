"""Images for the photo tests, made here: photos with EXIF and GPS tags in each accepted
format, and hostile files (a decompression bomb, a truncated JPEG, other formats)."""

from __future__ import annotations

import io
import struct
import zlib

import pillow_heif
from PIL import Image

pillow_heif.register_heif_opener()

#: 衡阳 (Hengyang), as a phone's GPS would tag it: 112°36'0" E, 27°53'30" N.
GPS_LON, GPS_LAT = 112.6, 27.8916667
GPS_TAGS = {1: "N", 2: (27.0, 53.0, 30.0), 3: "E", 4: (112.0, 36.0, 0.0), 29: "2026:12:01"}


def exif_bytes(*, gps: bool = True, orientation: int = 1) -> bytes:
    """EXIF as a phone writes it: camera, owner, time, orientation and (when `gps`) GPS."""
    exif = Image.Exif()
    exif[0x010F] = "PhoneMaker"       # Make
    exif[0x0110] = "Phone 15"          # Model
    exif[0x013B] = "王小明"             # Artist
    exif[0x0132] = "2026:12:01 09:30:00"  # DateTime
    exif[0x0112] = orientation
    if gps:
        exif[0x8825] = GPS_TAGS
    return exif.tobytes()


def photo(fmt: str = "JPEG", size: tuple[int, int] = (2000, 1500), *, gps: bool = True,
          orientation: int = 1, mode: str = "RGB") -> bytes:
    """A picture in `fmt` (JPEG, PNG, WEBP, HEIF) with EXIF (and GPS when `gps`)."""
    image = Image.new(mode, size, (180, 40, 40) if mode == "RGB" else (180, 40, 40, 128))
    image.paste((20, 20, 200) if mode == "RGB" else (20, 20, 200, 255),
                (0, 0, size[0] // 4, size[1] // 2))  # a mark in the top-left corner
    out = io.BytesIO()
    extra = {"xmp": b"<x:xmpmeta>GPS 27.89 112.6</x:xmpmeta>"} if fmt == "JPEG" else {}
    image.save(out, fmt, exif=exif_bytes(gps=gps, orientation=orientation), **extra)
    return out.getvalue()


def _chunk(kind: bytes, data: bytes) -> bytes:
    return (struct.pack(">I", len(data)) + kind + data
            + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF))


def png_bomb(side: int = 30_000) -> bytes:
    """A valid grey PNG of side × side pixels (900 megapixels by default) that compresses to
    a few hundred kilobytes: a decompression bomb."""
    row = b"\x00" + b"\x00" * (side // 8)  # filter byte, 1-bit pixels
    compressor = zlib.compressobj(9)
    body = b"".join(compressor.compress(row) for _ in range(side)) + compressor.flush()
    header = struct.pack(">IIBBBBB", side, side, 1, 0, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + _chunk(b"IHDR", header) + _chunk(b"IDAT", body)
            + _chunk(b"IEND", b""))


def other_format(fmt: str) -> bytes:
    """A real image in a format we do not take (GIF, BMP, TIFF)."""
    out = io.BytesIO()
    Image.new("RGB", (64, 48), (1, 2, 3)).save(out, fmt)
    return out.getvalue()
