"""The retention settings page: what the organization keeps, its holds, what retention did."""

from __future__ import annotations

from django.contrib import messages
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.views.decorators.http import require_http_methods

from csvhub.accounts.access import Access
from csvhub.accounts.models import Role
from csvhub.lifecycle import policies
from csvhub.lifecycle.errors import RetentionError
from csvhub.lifecycle.forms import RetentionForm
from csvhub.lifecycle.models import RetentionDeletion
from csvhub.lifecycle.usage import usage_summary
from csvhub.web.access import organization_page

RECENT_DELETIONS = 20


@require_http_methods(["GET", "POST"])
@organization_page()
def retention_settings(request: HttpRequest, access: Access) -> HttpResponse:
    is_admin = access.role.allows(Role.ADMIN)
    policy = policies.policy_of(access.organization)
    form = RetentionForm(
        initial={
            "keep_files_days": policy.keep_files_days,
            "keep_rows_days": policy.keep_rows_days,
            "rows_column": policy.rows_column,
        }
    )
    if request.method == "POST" and is_admin:
        form = RetentionForm(request.POST)
        if form.is_valid() and _saved(form, access):
            messages.success(request, "Retention saved; the next retention run applies it.")
            return HttpResponseRedirect(reverse("retention-settings"))
    elif request.method == "POST":
        return HttpResponse("Only admins change retention.", status=403)
    context = {
        "organization": access.organization,
        "is_admin": is_admin,
        "form": form,
        "holds": policies.holds_of(access.organization),
        "deletions": RetentionDeletion.objects.filter(organization=access.organization)
        .select_related("run")
        .order_by("-created_at")[:RECENT_DELETIONS],
        "usage": usage_summary(access.organization),
    }
    return render(request, "lifecycle/retention.html", context)


def _saved(form: RetentionForm, access: Access) -> bool:
    try:
        policies.policy_update(organization=access.organization, changes=form.changes())
    except RetentionError as error:
        form.add_error(None, str(error))
        return False
    return True
