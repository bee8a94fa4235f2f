"""Who may call what. Anonymous callers get coverage, submitServiceRequest and
submitSurveyResponse only; everything else needs a bearer token; some fields need an admin."""

from __future__ import annotations

from typing import Any

from strawberry.permission import BasePermission

from schema.common.context import Info
from schema.common.errors import PublicError


class IsAuthenticated(BasePermission):
    """Any valid token: an administrator or a member."""

    message = "Sign in: this field needs an `Authorization: Bearer <token>` header."

    def has_permission(self, source: Any, info: Info, **kwargs: Any) -> bool:
        return info.context.viewer.authenticated

    def on_unauthorized(self) -> None:
        raise PublicError(self.message, code="UNAUTHENTICATED")


class IsAdmin(BasePermission):
    """Community administrators only."""

    message = "Only community administrators may use this field."

    def has_permission(self, source: Any, info: Info, **kwargs: Any) -> bool:
        return info.context.viewer.admin

    def on_unauthorized(self) -> None:
        raise PublicError(self.message, code="FORBIDDEN")


AUTHENTICATED: list[type[BasePermission]] = [IsAuthenticated]
ADMIN: list[type[BasePermission]] = [IsAdmin]
