"""Sign-in pages: login (rate limited), organization switcher. Logout and password reset are
Django's own views, wired in csvhub/accounts/urls.py."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.contrib.auth.forms import AuthenticationForm
from django.contrib.auth.views import LoginView
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_POST

from csvhub.accounts import ratelimit
from csvhub.accounts.access import SESSION_KEY
from csvhub.accounts.selectors import membership_find


class LoginPage(LoginView):
    """Django's login, with failures counted per username and client address: past the limit the
    page answers 429 until the window ends. Other addresses keep their own counts."""

    template_name = "accounts/login.html"
    redirect_authenticated_user = True

    def post(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
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
        username = self.request.POST.get("username", "").strip().lower()
        return f"{username}\n{ratelimit.client_ip(self.request)}"

    def _too_many(self, wait: int) -> HttpResponse:
        context = self.get_context_data(form=self.get_form_class()(self.request), retry_after=wait)
        response = self.render_to_response(context, status=429)
        response["Retry-After"] = str(wait)
        return response


@require_POST
@login_required
def organization_switch(request: HttpRequest) -> HttpResponse:
    """Remember the organization chosen in the UI for this session (404 if not a member)."""
    membership = membership_find(user=request.user, slug=request.POST.get("organization", ""))
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
