"""Django admin for operators (csvhub.accounts.admin_site): organizations with their members,
memberships, invitations, API tokens."""

from __future__ import annotations

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest

from csvhub.accounts.models import ApiToken, Invitation, Membership, Organization
from csvhub.accounts.services import token_revoke


class MembershipInline(admin.TabularInline):
    model = Membership
    extra = 0
    autocomplete_fields = ["user"]
    readonly_fields = ["created_at"]


@admin.register(Organization)
class OrganizationAdmin(admin.ModelAdmin):
    list_display = ["slug", "name", "created_at"]
    search_fields = ["slug", "name"]
    prepopulated_fields = {"slug": ["name"]}
    readonly_fields = ["id", "created_at"]
    inlines = [MembershipInline]


@admin.register(Membership)
class MembershipAdmin(admin.ModelAdmin):
    list_display = ["user", "organization", "role", "created_at"]
    list_filter = ["role", "organization"]
    search_fields = ["user__username", "user__email", "organization__slug"]
    autocomplete_fields = ["user", "organization"]
    list_select_related = ["user", "organization"]


@admin.register(Invitation)
class InvitationAdmin(admin.ModelAdmin):
    list_display = ["invited", "organization", "user", "role", "invited_by", "expires_at"]
    list_filter = ["role", "organization"]
    search_fields = ["invited", "user__username", "organization__slug"]
    list_select_related = ["user", "organization", "invited_by"]
    readonly_fields = ["id", "organization", "invited", "user", "invited_by", "created_at"]


@admin.register(ApiToken)
class ApiTokenAdmin(admin.ModelAdmin):
    """Tokens are created through the API, where the secret is shown once; staff can only
    inspect and revoke them here."""

    list_display = [
        "name",
        "prefix",
        "organization",
        "user",
        "role",
        "created_at",
        "last_used_at",
        "expires_at",
        "revoked_at",
    ]
    list_filter = ["role", "organization"]
    search_fields = ["name", "prefix", "user__username", "organization__slug"]
    list_select_related = ["user", "organization"]
    readonly_fields = [
        "id",
        "prefix",
        "secret_hash",
        "organization",
        "user",
        "created_at",
        "last_used_at",
        "revoked_at",
    ]
    fields = [
        "id",
        "name",
        "organization",
        "user",
        "role",
        "prefix",
        "secret_hash",
        "created_at",
        "last_used_at",
        "expires_at",
        "revoked_at",
    ]
    actions = ["revoke"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    @admin.action(description="Revoke the selected tokens")
    def revoke(self, request: HttpRequest, queryset: QuerySet[ApiToken]) -> None:
        tokens = list(queryset.filter(revoked_at__isnull=True))
        for token in tokens:
            token_revoke(token=token)
        self.message_user(request, f"Revoked {len(tokens)} token(s).", messages.SUCCESS)
