"""Sign-in pages: login (rate limited), password reset (throttled), organization switcher, the
invitations a user received.
Logout and the rest of password reset are Django's own views, wired in csvhub/accounts/urls.py."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.contrib.auth.forms import AuthenticationForm, PasswordChangeForm
from django.contrib.auth.views import LoginView, PasswordChangeView, PasswordResetView
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseBase, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse, reverse_lazy
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_GET, require_POST

from csvhub.accounts import ratelimit
from csvhub.accounts.access import SESSION_KEY, request_user
from csvhub.accounts.forms import NewcomerPasswordResetForm
from csvhub.accounts.selectors import (
    invitation_pending_find,
    invitation_received_get,
    invitations_received,
    membership_find,
)
from csvhub.accounts.services import (
    invitation_accept,
    invitation_decline,
    invitation_join_target,
)


class LoginPage(LoginView):
    """Django's login, with failures counted per username and client address: past the limit the
    page answers 429 until the window ends. Other addresses keep their own counts."""

    template_name = "accounts/login.html"
    redirect_authenticated_user = True

    def post(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if not settings.CSVHUB_PASSWORD_LOGIN:
            # Switched off (CSVHUB_PASSWORD_LOGIN=false): people sign in at the identity provider.
            raise PermissionDenied("Password sign-in is switched off; use single sign-on.")
        wait = ratelimit.retry_after(ratelimit.login_limit(), self._identity())
        if wait is not None:
            return self._too_many(wait)
        return super().post(request, *args, **kwargs)

    def form_invalid(self, form: AuthenticationForm) -> HttpResponse:
        ratelimit.failure_record(ratelimit.login_limit(), self._identity())
        return super().form_invalid(form)

    def form_valid(self, form: AuthenticationForm) -> HttpResponse:
        ratelimit.failures_clear(ratelimit.login_limit(), self._identity())
        return super().form_valid(form)

    def _identity(self) -> str:
        return ratelimit.login_identity(self.request)

    def _too_many(self, wait: int) -> HttpResponse:
        context = self.get_context_data(form=self.get_form_class()(self.request), retry_after=wait)
        return ratelimit.too_many(self.render_to_response(context), wait)


class PasswordChangePage(PasswordChangeView):
    """Django's change of one's own password (the old one asked first), from the account menu.
    Accounts of the identity provider have none: their password lives at the provider."""

    template_name = "accounts/password_change_form.html"
    success_url = reverse_lazy("files")

    def dispatch(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
        if request.user.is_authenticated and not request.user.has_usable_password():
            messages.info(
                request, "You sign in through single sign-on: change your password there."
            )
            return HttpResponseRedirect("/")
        return super().dispatch(request, *args, **kwargs)

    def form_valid(self, form: PasswordChangeForm) -> HttpResponse:
        response = super().form_valid(form)  # keeps this session signed in
        messages.success(self.request, "Your password was changed.")
        return response


class PasswordResetPage(PasswordResetView):
    """Django's password reset, throttled per client address and per email address: every
    request counts (each may send a mail), so nobody can flood an inbox or send resets in bulk.
    Past either limit the page answers 429, whether or not the email belongs to a user.
    Invited newcomers without a password yet can use it too (NewcomerPasswordResetForm)."""

    form_class = NewcomerPasswordResetForm

    def post(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        wait = ratelimit.password_reset_attempt(request)
        if wait is not None:
            context = self.get_context_data(form=self.get_form_class()(), retry_after=wait)
            return ratelimit.too_many(self.render_to_response(context), wait)
        return super().post(request, *args, **kwargs)


@require_POST
@login_required
def organization_switch(request: HttpRequest) -> HttpResponse:
    """Remember the organization chosen in the UI for this session (404 if not a member)."""
    membership = membership_find(
        user=request_user(request), slug=request.POST.get("organization", "")
    )
    if membership is None:
        raise Http404("No such organization.")
    request.session[SESSION_KEY] = membership.organization.slug
    messages.success(request, f"Now working in {membership.organization.name}.")
    return HttpResponseRedirect(_next_url(request))


def _next_url(request: HttpRequest) -> str:
    target = request.POST.get("next", "")
    allowed = url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    )
    return target if allowed else "/"


@require_GET
@login_required
def invitations(request: HttpRequest) -> HttpResponse:
    """The invitations waiting for the signed-in user's answer. Needs no organization: a new
    user has none until they accept one."""
    pending = invitations_received(user=request_user(request)).order_by("-created_at")
    return render(request, "accounts/invitations.html", {"invitations": pending})


@require_POST
@login_required
def invitation_answer(request: HttpRequest, invitation_id: UUID, answer: str) -> HttpResponse:
    """Accept (then work in that organization) or decline."""
    if answer not in ("accept", "decline"):
        raise Http404("No such answer.")
    invitation = invitation_received_get(user=request_user(request), invitation_id=invitation_id)
    organization = invitation.organization
    if answer == "decline":
        invitation_decline(invitation=invitation)
        messages.success(request, f"Declined the invitation to {organization.name}.")
        return HttpResponseRedirect(reverse("invitations"))
    membership = invitation_accept(invitation=invitation)
    request.session[SESSION_KEY] = organization.slug
    messages.success(request, f"You joined {organization.name} as {membership.role}.")
    return HttpResponseRedirect("/")


@require_GET
def invitation_join(request: HttpRequest, invitation_id: UUID, token: str) -> HttpResponse:
    """An invitation link (invitation_link): no sign-in needed to follow it."""
    invitation = invitation_pending_find(invitation_id=invitation_id)
    return HttpResponseRedirect(invitation_join_target(invitation=invitation, token=token))
