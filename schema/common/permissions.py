"""Who may call what. Anonymous callers get coverage, submitServiceRequest,
submitSurveyResponse and the sign-in mutations only; everything else needs a bearer token;
some fields need an admin (city-wide staff) or any staff account."""

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


class IsStaff(BasePermission):
    """Staff accounts of any territory (and the city-wide administrator token)."""

    message = "Only staff accounts may use this field."

    def has_permission(self, source: Any, info: Info, **kwargs: Any) -> bool:
        return info.context.viewer.staff

    def on_unauthorized(self) -> None:
        raise PublicError(self.message, code="FORBIDDEN")


AUTHENTICATED: list[type[BasePermission]] = [IsAuthenticated]
STAFF: list[type[BasePermission]] = [IsStaff]
ADMIN: list[type[BasePermission]] = [IsAdmin]
