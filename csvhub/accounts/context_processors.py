"""Template context for the organization switcher (accounts/organization_switcher.html) and the
invitations link of the navigation."""

from __future__ import annotations

from typing import Any

from django.http import Http404, HttpRequest
from django.utils.functional import SimpleLazyObject
from rest_framework.exceptions import APIException

from csvhub.accounts.access import Access, request_access, request_organization
from csvhub.accounts.models import Organization
from csvhub.accounts.selectors import invitations_received, organization_list


def organizations(request: HttpRequest) -> dict[str, Any]:
    """`csvhub_organizations` (the user's), `csvhub_organization` (the current one, or None
    when the user has several and chose none), `csvhub_access` (the role there, or None) and
    `csvhub_invitation_count` (invitations waiting for the user's answer). Lazy: pages that
    don't show them cost no query."""
    user = request.user
    if not user.is_authenticated:
        return {}
    return {
        "csvhub_organizations": SimpleLazyObject(lambda: list(organization_list(user=user))),
        "csvhub_organization": SimpleLazyObject(lambda: _current(request)),
        # Every page's top bar shows the role, not only the organization's pages (the password
        # page showed "Signed in as alice" with no role and an editor's menu).
        "csvhub_access": SimpleLazyObject(lambda: _access(request)),
        "csvhub_invitation_count": SimpleLazyObject(
            lambda: invitations_received(user=user).count()
        ),
    }


def _current(request: HttpRequest) -> Organization | None:
    try:
        return request_organization(request)
    except (Http404, APIException):  # none chosen yet, or a stale choice: show the switcher
        return None


def _access(request: HttpRequest) -> Access | None:
    known: Access | None = getattr(request, "csvhub_access", None)
    if known is not None:
        return known
    try:
        return request_access(request)
    except (Http404, APIException):  # no organization chosen, or none at all
        return None
