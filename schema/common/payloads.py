"""The error list every mutation payload carries."""

from __future__ import annotations

import strawberry

from domain.errors import UserError


@strawberry.type(name="UserError", description="What is wrong with the input, field by field.")
class UserErrorType:
    code: str = strawberry.field(description="Stable and machine-readable: INVALID_GEOMETRY, "
                                 "NOT_FOUND, OUT_OF_AREA, INVALID_TRANSITION, ...")
    message: str = strawberry.field(description="For a person.")
    field: str | None = strawberry.field(description="The input path that is wrong, e.g. "
                                         '"input.point.lat".')

    @classmethod
    def list_of(cls, errors: list[UserError]) -> list[UserErrorType]:
        return [cls(code=e.code, message=e.message, field=e.field) for e in errors]
