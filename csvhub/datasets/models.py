"""Metadata about datasets and their uploads; the rows themselves live in the warehouse."""

from __future__ import annotations

import uuid
from typing import Any

from django.conf import settings
from django.db import models

from csvhub.accounts.models import Organization
from csvhub.prepared import JSONOnUse, forget_pending
from csvhub.schema import DatasetSchema


class Dataset(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    organization = models.ForeignKey(
        Organization, on_delete=models.CASCADE, related_name="datasets"
    )
    name = models.CharField(max_length=200)
    slug = models.SlugField(max_length=80)
    # What editors wrote about the dataset (shown on its page and in the API's detail).
    description = models.TextField(blank=True, default="")
    # The JSON of `schema` (read it there): Column.to_json() per column in file order, and
    # ColumnStats.to_json() by column name; types only ever widen, stats merge on every append.
    columns = models.JSONField(default=list, blank=True)
    # Decoded on first use after a prepared read (csvhub.prepared): a rows page reads none of it.
    stats = JSONOnUse(default=dict, blank=True)
    row_count = models.BigIntegerField(default=0)
    first_row_id = models.BigIntegerField(null=True, blank=True)
    last_row_id = models.BigIntegerField(null=True, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["organization", "slug"], name="dataset_slug_per_org")
        ]
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return self.slug

    @property
    def table_name(self) -> str:
        return f"ds_{self.id.hex}"

    @property
    def schema(self) -> DatasetSchema:
        """The columns and their statistics, typed. Read once per JSON value: a request asks
        several times, and a wide dataset has hundreds of columns."""
        cached = self.__dict__.get("_schema")
        # Not read yet (None): the schema reads it when a statistic is first asked for.
        stats = self.__dict__.get("stats")
        if cached is not None and cached[0] is self.columns and cached[1] is stats:
            known: DatasetSchema = cached[2]
            return known
        schema = DatasetSchema.from_json(self.columns, self._stats_read if stats is None else stats)
        self.__dict__["_schema"] = (self.columns, stats, schema)
        return schema

    @schema.setter
    def schema(self, schema: DatasetSchema) -> None:
        self.columns, self.stats = schema.to_json()

    def _stats_read(self) -> dict[str, Any]:
        stats: dict[str, Any] = self.stats or {}  # a JSON null reads as no statistics
        return stats

    def refresh_from_db(self, *args: Any, **kwargs: Any) -> None:
        forget_pending(self)  # else a stats JSON read before the refresh would come back
        super().refresh_from_db(*args, **kwargs)


class UploadState(models.TextChoices):
    QUEUED = "queued"
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"


class UploadMode(models.TextChoices):
    APPEND = "append"  # the file's rows are added to the dataset's
    REPLACE = "replace"  # the dataset's rows become the file's, swapped in atomically


def _upload_path(upload: Upload, filename: str) -> str:
    return f"uploads/{upload.dataset.organization_id}/{upload.id}/{filename}"


class Upload(models.Model):
    """One file given to a dataset, and the ingestion job that loads it."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    dataset = models.ForeignKey(Dataset, on_delete=models.CASCADE, related_name="uploads")
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    original_name = models.CharField(max_length=255)
    file = models.FileField(upload_to=_upload_path, max_length=500)
    size = models.BigIntegerField(default=0)
    mode = models.CharField(max_length=8, choices=UploadMode.choices, default=UploadMode.APPEND)

    state = models.CharField(
        max_length=16, choices=UploadState.choices, default=UploadState.QUEUED, db_index=True
    )
    attempts = models.PositiveIntegerField(default=0)
    heartbeat_at = models.DateTimeField(null=True, blank=True)
    bytes_read = models.BigIntegerField(default=0)
    rows_loaded = models.BigIntegerField(default=0)
    rows_rejected = models.BigIntegerField(default=0)
    type_changes = models.JSONField(default=list, blank=True)
    error = models.TextField(blank=True)
    encoding = models.CharField(max_length=32, blank=True)
    encoding_reason = models.CharField(max_length=300, blank=True)  # why `encoding`, in a line
    delimiter = models.CharField(max_length=4, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    # Set when retention (csvhub.lifecycle) deleted the original file from storage: `file` is
    # then empty and its download answers 410 Gone with `original_deleted_note`.
    original_deleted_at = models.DateTimeField(null=True, blank=True)
    original_deleted_note = models.CharField(max_length=300, blank=True)

    class Meta:
        ordering = ["created_at"]

    def __str__(self) -> str:
        return f"{self.original_name} → {self.dataset_id}"

    @property
    def is_finished(self) -> bool:
        return self.state in (UploadState.SUCCEEDED, UploadState.FAILED)


class Reject(models.Model):
    """A row that could not be loaded, kept so users can fix and re-upload it."""

    upload = models.ForeignKey(Upload, on_delete=models.CASCADE, related_name="rejects")
    line = models.BigIntegerField()
    reason = models.CharField(max_length=500)
    text = models.TextField(blank=True)

    class Meta:
        ordering = ["line"]
        indexes = [models.Index(fields=["upload", "line"])]

    def __str__(self) -> str:
        return f"line {self.line}: {self.reason}"
