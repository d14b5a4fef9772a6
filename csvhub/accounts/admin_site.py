"""The Django admin, for operators only, with the sign-in limiter of /login/.

`/admin/` can change every organization, so only operators (superusers, created by
`csvhub createoperator`) may use it; organization admins are not staff and manage their
organization through the UI and API. Failed admin sign-ins count in the same limiter and under
the same identity (username and client address) as `/login/`, so the two pages share one count.
"""

from __future__ import annotations

from typing import Any

from django.contrib.admin import AdminSite
from django.contrib.admin.forms import AdminAuthenticationForm
from django.contrib.auth.models import User
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse

from csvhub.accounts import ratelimit

_RETRY_AFTER_ATTR = "_csvhub_retry_after"


class OperatorLoginForm(AdminAuthenticationForm):
    def clean(self) -> dict[str, Any]:
        request = self.request
        assert request is not None  # the admin's login view always passes it
        limit, identity = ratelimit.login_limit(), ratelimit.login_identity(request)
        wait = ratelimit.retry_after(limit, identity)
        if wait is not None:
            setattr(request, _RETRY_AFTER_ATTR, wait)  # read by OperatorAdminSite.login
            raise ValidationError(
                f"Too many failed sign-ins. Try again in {wait} seconds.", code="throttled"
            )
        try:
            cleaned = super().clean()
        except ValidationError:
            ratelimit.failure_record(limit, identity)
            raise
        ratelimit.failures_clear(limit, identity)
        return cleaned

    def confirm_login_allowed(self, user: User) -> None:
        super().confirm_login_allowed(user)
        if not user.is_superuser:  # staff who are not operators get the same answer as a typo
            raise ValidationError(
                self.error_messages["invalid_login"],
                code="invalid_login",
                params={"username": self.username_field.verbose_name},
            )


class OperatorAdminSite(AdminSite):
    site_header = "csvhub operators"
    site_title = "csvhub operators"
    login_form = OperatorLoginForm

    def has_permission(self, request: HttpRequest) -> bool:
        return request.user.is_active and request.user.is_superuser

    def login(
        self, request: HttpRequest, extra_context: dict[str, Any] | None = None
    ) -> HttpResponse:
        response = super().login(request, extra_context)
        wait = getattr(request, _RETRY_AFTER_ATTR, None)
        return response if wait is None else ratelimit.too_many(response, wait)
