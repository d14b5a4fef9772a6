"""Django admin for operators: quotas with every organization's usage, retention policies,
legal holds and the record of retention runs."""

from __future__ import annotations

from django.contrib import admin
from django.db.models import Q, QuerySet, Sum
from django.http import HttpRequest

from csvhub.lifecycle.models import (
    DatasetRetention,
    LegalHold,
    Quota,
    RetentionDeletion,
    RetentionPolicy,
    RetentionRun,
    UsageOrganization,
)


@admin.register(UsageOrganization)
class UsageAdmin(admin.ModelAdmin):
    """Every organization's usage against its quotas; quotas are edited under Quotas."""

    list_display = ["slug", "stored_bytes", "warehouse_rows", "quota"]
    search_fields = ["slug", "name"]

    def get_queryset(self, request: HttpRequest) -> QuerySet[UsageOrganization]:
        kept = Q(datasets__uploads__file__gt="")
        stored = Sum("datasets__uploads__size", filter=kept)
        found: QuerySet[UsageOrganization] = super().get_queryset(request).annotate(stored=stored)
        return found

    @admin.display(description="stored bytes (originals)", ordering="stored")
    def stored_bytes(self, organization: UsageOrganization) -> str:
        return f"{getattr(organization, 'stored', 0) or 0:,}"

    @admin.display(description="warehouse rows")
    def warehouse_rows(self, organization: UsageOrganization) -> str:
        from csvhub.lifecycle.usage import rows_stored

        return f"{rows_stored(organization):,}"

    @admin.display(description="quota (bytes / rows / upload)")
    def quota(self, organization: UsageOrganization) -> str:
        quota = Quota.objects.filter(organization=organization).first()
        if quota is None:
            return "unlimited"
        limits = (quota.max_stored_bytes, quota.max_warehouse_rows, quota.max_upload_bytes)
        return " / ".join("∞" if limit is None else f"{limit:,}" for limit in limits)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False


@admin.register(Quota)
class QuotaAdmin(admin.ModelAdmin):
    list_display = ["organization", "max_stored_bytes", "max_warehouse_rows", "max_upload_bytes"]
    search_fields = ["organization__slug"]
    autocomplete_fields = ["organization"]
    exclude = ["checked_at"]


@admin.register(RetentionPolicy)
class RetentionPolicyAdmin(admin.ModelAdmin):
    list_display = ["organization", "keep_files_days", "keep_rows_days", "rows_column"]
    search_fields = ["organization__slug"]
    autocomplete_fields = ["organization"]


@admin.register(DatasetRetention)
class DatasetRetentionAdmin(admin.ModelAdmin):
    list_display = ["dataset", "override_files", "keep_files_days", "override_rows"]
    raw_id_fields = ["dataset"]


@admin.register(LegalHold)
class LegalHoldAdmin(admin.ModelAdmin):
    list_display = ["organization", "dataset", "upload", "reason", "created_at"]
    raw_id_fields = ["dataset", "upload", "created_by"]


class DeletionInline(admin.TabularInline):
    model = RetentionDeletion
    extra = 0
    fields = ["kind", "description", "rows", "bytes", "done"]
    readonly_fields = ["kind", "description", "rows", "bytes", "done"]
    can_delete = False


@admin.register(RetentionRun)
class RetentionRunAdmin(admin.ModelAdmin):
    """What each run deleted: read only, the record of decisions that changed data."""

    list_display = ["now", "state", "files_deleted", "bytes_freed", "rows_deleted", "finished_at"]
    list_filter = ["state"]
    readonly_fields = [f.name for f in RetentionRun._meta.fields]
    inlines = [DeletionInline]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False
