"""User errors: what a caller got wrong, field by field, in words a person can act on."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class UserError:
    """One problem with the input.

    `code` is stable and machine-readable (INVALID_GEOMETRY, NOT_FOUND, OUT_OF_AREA, ...),
    `message` is for a person, `field` is the input path that is wrong (e.g. "input.point.lat").
    """

    code: str
    message: str
    field: str | None = None


class InvalidInput(Exception):
    """Raised by domain functions to abandon a change; carries every problem found."""

    def __init__(self, errors: list[UserError]) -> None:
        super().__init__("; ".join(f"{e.field}: {e.message}" if e.field else e.message
                                   for e in errors))
        self.errors = errors

    @classmethod
    def one(cls, code: str, message: str, field: str | None = None) -> InvalidInput:
        """Shorthand for a single problem."""
        return cls([UserError(code, message, field)])
