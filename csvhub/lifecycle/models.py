"""Retention policies, legal holds, quotas, and the record of what retention deleted."""

from __future__ import annotations

from django.conf import settings
from django.db import models

from csvhub.accounts.models import Organization
from csvhub.datasets.models import Dataset, Upload


class RetentionPolicy(models.Model):
    """How long an organization keeps original files and rows; None is forever (the default,
    also when an organization has no policy row)."""

    organization = models.OneToOneField(
        Organization, on_delete=models.CASCADE, related_name="retention_policy"
    )
    keep_files_days = models.PositiveIntegerField(null=True, blank=True)
    keep_rows_days = models.PositiveIntegerField(null=True, blank=True)
    # The date or timestamp column, by name, whose age decides a row's; datasets without a
    # column of that name (and type) keep their rows unless they override it.
    rows_column = models.CharField(max_length=200, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"retention of {self.organization}"


class DatasetRetention(models.Model):
    """A dataset's own rules, in place of its organization's where `override_*` is set."""

    dataset = models.OneToOneField(Dataset, on_delete=models.CASCADE, related_name="retention")
    override_files = models.BooleanField(default=False)
    keep_files_days = models.PositiveIntegerField(null=True, blank=True)
    override_rows = models.BooleanField(default=False)
    keep_rows_days = models.PositiveIntegerField(null=True, blank=True)
    rows_column = models.CharField(max_length=200, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"retention of {self.dataset}"


class LegalHold(models.Model):
    """A dataset or one upload that retention never touches while the hold exists."""

    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="+")
    dataset = models.ForeignKey(
        Dataset, null=True, blank=True, on_delete=models.CASCADE, related_name="legal_holds"
    )
    upload = models.ForeignKey(
        Upload, null=True, blank=True, on_delete=models.CASCADE, related_name="legal_holds"
    )
    reason = models.CharField(max_length=500)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["created_at"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(dataset__isnull=False, upload__isnull=True)
                | models.Q(dataset__isnull=True, upload__isnull=False),
                name="hold_on_dataset_or_upload",
            )
        ]

    def __str__(self) -> str:
        return f"hold on {self.dataset or self.upload}"


class DatasetDeletion(models.Model):
    """A dataset whose deletion passed the legal-hold check. Written in the transaction of that
    check, with the dataset's row locked, and read under the same lock when a hold is placed:
    so a hold placed while the table and files are being deleted is refused, instead of the
    deletion going on past it (or a bulk delete going half-way). Goes with the dataset; one
    left by a deletion that failed midway is finished by deleting the dataset again."""

    dataset = models.OneToOneField(
        Dataset, primary_key=True, on_delete=models.CASCADE, related_name="+"
    )
    started_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return f"deletion of {self.dataset_id}"


class Quota(models.Model):
    """An organization's limits, set by operators; None is unlimited (also with no row)."""

    organization = models.OneToOneField(
        Organization, on_delete=models.CASCADE, related_name="quota"
    )
    max_stored_bytes = models.BigIntegerField(null=True, blank=True)
    max_warehouse_rows = models.BigIntegerField(null=True, blank=True)
    max_upload_bytes = models.BigIntegerField(null=True, blank=True)
    # Touched by every rows check: the UPDATE is the lock that serializes an organization's
    # loads at their commit, on every metadata database (SQLite has no SELECT FOR UPDATE).
    checked_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"quota of {self.organization}"


class RowsReservation(models.Model):
    """Rows a load is committing, counted against the quota until its publish (which makes
    the upload succeeded and its rows part of the dataset's count) or its failure."""

    upload = models.OneToOneField(Upload, on_delete=models.CASCADE, related_name="+")
    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="+")
    rows = models.BigIntegerField()
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return f"{self.rows} rows for upload {self.upload_id}"


class RunState(models.TextChoices):
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"


class RetentionRun(models.Model):
    """One pass of the retention job, and what it deleted."""

    now = models.DateTimeField()  # the clock the run judged ages by
    started_at = models.DateTimeField(auto_now_add=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    state = models.CharField(max_length=16, choices=RunState.choices, default=RunState.RUNNING)
    files_deleted = models.PositiveIntegerField(default=0)
    bytes_freed = models.BigIntegerField(default=0)
    rows_deleted = models.BigIntegerField(default=0)
    error = models.TextField(blank=True)

    class Meta:
        ordering = ["-started_at"]

    def __str__(self) -> str:
        return f"retention run at {self.now:%Y-%m-%d %H:%M}"


class DeletionKind(models.TextChoices):
    FILE = "file"
    ROWS = "rows"


class RetentionDeletion(models.Model):
    """One thing a run deleted (or, while `done` is False, set out to delete): an original
    file, or a dataset's rows before a cut. A run killed midway leaves `done` False, and the
    next run finishes it under the same record instead of counting it again."""

    run = models.ForeignKey(RetentionRun, on_delete=models.CASCADE, related_name="deletions")
    kind = models.CharField(max_length=8, choices=DeletionKind.choices)
    organization = models.ForeignKey(
        Organization, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    dataset = models.ForeignKey(Dataset, null=True, on_delete=models.SET_NULL, related_name="+")
    upload = models.ForeignKey(Upload, null=True, on_delete=models.SET_NULL, related_name="+")
    description = models.CharField(max_length=500)  # what, in words (kept after a delete)
    cut = models.DateTimeField(null=True, blank=True)  # rows: those before this went
    column = models.CharField(max_length=200, blank=True)  # rows: by this column's value
    rows = models.BigIntegerField(default=0)
    bytes = models.BigIntegerField(default=0)
    done = models.BooleanField(default=False)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["created_at"]

    def __str__(self) -> str:
        return self.description


class UsageOrganization(Organization):
    """Organizations as the admin's usage list shows them (a proxy: no table of its own)."""

    class Meta:
        proxy = True
        verbose_name = "organization usage"
        verbose_name_plural = "organizations' usage"
