"""DRF permissions by role in the request's organization (csvhub.accounts.access).

Unauthenticated requests get DRF's 401 (403 when no authenticator offers a challenge); an
authenticated caller whose role is too low gets 403 naming the role needed.
"""

from __future__ import annotations

from rest_framework.permissions import SAFE_METHODS, BasePermission
from rest_framework.request import Request
from rest_framework.views import APIView

from csvhub.accounts.access import request_role
from csvhub.accounts.models import Role


class _RoleAtLeast(BasePermission):
    needed: Role = Role.VIEWER

    def has_permission(self, request: Request, view: APIView) -> bool:
        if not (request.user and request.user.is_authenticated):
            return False
        needed = self.role_needed(request)
        role = request_role(request)
        if role.allows(needed):
            return True
        self.message = f"This needs the {needed.value} role or higher; you have {role.value}."
        return False

    def role_needed(self, request: Request) -> Role:
        return self.needed


class CanView(_RoleAtLeast):
    needed = Role.VIEWER


class CanEdit(_RoleAtLeast):
    needed = Role.EDITOR


class CanAdmin(_RoleAtLeast):
    needed = Role.ADMIN


class ReadOrEdit(_RoleAtLeast):
    """Reading needs viewer; any other method needs editor."""

    def role_needed(self, request: Request) -> Role:
        return Role.VIEWER if request.method in SAFE_METHODS else Role.EDITOR


class ReadOrAdmin(_RoleAtLeast):
    """Reading needs viewer; any other method needs admin (settings such as retention)."""

    def role_needed(self, request: Request) -> Role:
        return Role.VIEWER if request.method in SAFE_METHODS else Role.ADMIN
