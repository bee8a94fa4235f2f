"""Node ids: opaque, URL-safe strings that name a type and a database id ("Grid:12")."""

from __future__ import annotations

import base64
import binascii

from domain.errors import InvalidInput


def encode_id(type_name: str, pk: int) -> str:
    """The public id of a row of `type_name`."""
    return base64.urlsafe_b64encode(f"{type_name}:{pk}".encode()).decode().rstrip("=")


def decode_any(value: str, field: str) -> tuple[str, int]:
    """(type name, database id) from a public id; InvalidInput naming `field` if malformed."""
    try:
        padded = value + "=" * (-len(value) % 4)
        type_name, _, pk = base64.urlsafe_b64decode(padded.encode()).decode().partition(":")
        return type_name, int(pk)
    except (ValueError, binascii.Error, UnicodeDecodeError):
        raise InvalidInput.one("INVALID_ID", f"{value!r} is not an id this API issued",
                               field) from None


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
