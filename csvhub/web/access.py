"""Pages act in one organization with one role, like the API (csvhub.accounts.access).

`organization_page` signs the visitor in, finds the organization and role, and turns the
accounts layer's API exceptions into pages: a user with several organizations who chose none
gets the switcher, a user with none goes to their invitations if they have some and otherwise
gets a page that says so, a role too low gets 403. Never 500.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Concatenate

from django.contrib.auth.decorators import login_required
from django.contrib.auth.views import redirect_to_login
from django.http import HttpRequest, HttpResponse, HttpResponseBase, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from rest_framework import exceptions

from csvhub.accounts.access import Access, OrganizationRequired, request_access, request_user
from csvhub.accounts.models import Role
from csvhub.accounts.selectors import invitations_received

# HttpResponseBase: a page may stream (StreamingHttpResponse is no HttpResponse).
type PageView[**P] = Callable[Concatenate[HttpRequest, Access, P], HttpResponseBase]
type Page[**P] = Callable[Concatenate[HttpRequest, P], HttpResponseBase]


def organization_page[**P](needs: Role = Role.VIEWER) -> Callable[[PageView[P]], Page[P]]:
    """Decorate a view `view(request, access, ...)` that needs `needs` or a higher role."""

    def decorate(view: PageView[P]) -> Page[P]:
        # `request` positional-only, as Concatenate makes it (Django passes it positionally).
        @login_required
        @wraps(view)
        def page(request: HttpRequest, /, *args: P.args, **kwargs: P.kwargs) -> HttpResponseBase:
            try:
                access = request_access(request)
            except OrganizationRequired:
                return render(request, "web/choose_organization.html", status=400)
            except exceptions.NotAuthenticated:
                return redirect_to_login(request.get_full_path())
            except exceptions.APIException as exc:  # no membership at all
                if invitations_received(user=request_user(request)).exists():
                    return HttpResponseRedirect(reverse("invitations"))
                return denied(request, str(exc.detail))
            # Set before the role check, so that a refusal's top bar shows the role it refuses.
            request.csvhub_access = access  # type: ignore[attr-defined]  # for the nav
            if not access.role.allows(needs):
                return denied(
                    request,
                    f"This page needs the {needs.value} role or higher; you have "
                    f"{access.role.value}. Ask an admin of {access.organization.name}.",
                )
            return view(request, access, *args, **kwargs)

        return page

    return decorate


def denied(request: HttpRequest, reason: str) -> HttpResponse:
    return render(request, "web/denied.html", {"reason": reason}, status=403)
