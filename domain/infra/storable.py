"""What PostgreSQL can store: the bounds every value from outside is checked against where it
enters (GraphQL arguments, imported GeoJSON, ids), so that no input reaches the database as
something it refuses (which would be a server error, not the caller's)."""

from __future__ import annotations

#: The range of PostgreSQL's `integer` (ids, counts): 1 .. PG_INT_MAX for ids.
PG_INT_MAX = 2_147_483_647
PG_INT_MIN = -PG_INT_MAX - 1


def text_problem(value: str) -> str | None:
    """Why `value` cannot be stored as PostgreSQL text, or None: text may not hold NUL
    (U+0000), and must be valid Unicode (a lone surrogate, U+D800..U+DFFF, has no UTF-8)."""
    if "\x00" in value:
        return "must not contain NUL characters (U+0000)"
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return "must be valid Unicode text: it holds a lone surrogate (U+D800..U+DFFF)"
    return None


def fits_integer(value: int) -> bool:
    """Whether `value` fits PostgreSQL's `integer`."""
    return PG_INT_MIN <= value <= PG_INT_MAX
