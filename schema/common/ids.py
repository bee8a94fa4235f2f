"""Node ids: opaque, URL-safe strings that name a type and a database id ("Grid:12").

Every id and cursor a caller sends is decoded here, once, and bounded: the number must be a
plain decimal in 1..2147483647 (PostgreSQL's integer), so nothing out of range reaches a
query; anything else is INVALID_ID naming the argument.
"""

from __future__ import annotations

import base64
import binascii
import re

from domain.errors import InvalidInput
from domain.infra.storable import PG_INT_MAX

#: What follows "Type:" in a decoded id: a positive decimal without sign, spaces or leading
#: zeros (int() alone would also take " 12", "+12", "1_2" and other scripts' digits).
_NUMBER = re.compile(r"[1-9][0-9]{0,9}")


def encode_id(type_name: str, pk: int) -> str:
    """The public id of a row of `type_name`."""
    return base64.urlsafe_b64encode(f"{type_name}:{pk}".encode()).decode().rstrip("=")


def _invalid(value: str, field: str, why: str = "is not an id this API issued") -> InvalidInput:
    shown = value if len(value) <= 60 else value[:57] + "..."
    return InvalidInput.one("INVALID_ID", f"{shown!r} {why}", field)


def decode_any(value: str, field: str) -> tuple[str, int]:
    """(type name, database id) from a public id; InvalidInput naming `field` if malformed or
    out of range."""
    try:
        padded = value + "=" * (-len(value) % 4)
        decoded = base64.urlsafe_b64decode(padded.encode("ascii", "strict")).decode()
    except (ValueError, binascii.Error):  # UnicodeError is a ValueError
        raise _invalid(value, field) from None
    type_name, _, number = decoded.partition(":")
    if not _NUMBER.fullmatch(number):
        raise _invalid(value, field)
    pk = int(number)
    if pk > PG_INT_MAX:
        raise _invalid(value, field, f"names a number out of range (1..{PG_INT_MAX})")
    return type_name, pk


def decode_id(value: str, expected: str, field: str) -> int:
    """The database id inside a public id that must name an `expected` object."""
    type_name, pk = decode_any(value, field)
    if type_name != expected:
        raise InvalidInput.one("INVALID_ID", f"expected the id of a {expected}, got one of a "
                               f"{type_name}", field)
    return pk


def decode_optional(value: str | None, expected: str, field: str) -> int | None:
    """decode_id, passing None through."""
    return None if value is None else decode_id(value, expected, field)


def encode_cursor(pk: int) -> str:
    """An opaque cursor after row `pk`."""
    return encode_id("cursor", pk)


def decode_cursor(value: str | None, field: str = "after") -> int | None:
    """The row id a cursor points after; None for the first page."""
    return None if value is None else decode_id(value, "cursor", field)
