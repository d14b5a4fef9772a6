"""Scheduled imports: where files come from (Source), each fetch (Run), and each file version
taken (SourceFile: the manifest that makes every version load exactly once)."""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models

from csvhub.datasets.models import Dataset, Upload


class SourceKind(models.TextChoices):
    URL = "url"
    S3 = "s3"


class LoadMode(models.TextChoices):
    APPEND = "append"
    REPLACE = "replace"


class Source(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    dataset = models.ForeignKey(Dataset, on_delete=models.CASCADE, related_name="sources")
    kind = models.CharField(max_length=8, choices=SourceKind.choices)
    url = models.URLField(max_length=2000, blank=True)
    bucket = models.CharField(max_length=255, blank=True)
    prefix = models.CharField(max_length=1024, blank=True)
    glob = models.CharField(max_length=1024, blank=True)
    endpoint_url = models.URLField(max_length=500, blank=True)
    region = models.CharField(max_length=64, blank=True)
    # Fernet token of a JSON object: {"headers": {...}} or {"access_key_id", "secret_access_key"}
    # (csvhub.sources.secrets). Never serialized, never logged.
    secret = models.TextField(blank=True)
    cron = models.CharField(max_length=200, blank=True)
    every_seconds = models.PositiveIntegerField(null=True, blank=True)
    time_zone = models.CharField(max_length=64, default="UTC")
    enabled = models.BooleanField(default=True)
    mode = models.CharField(max_length=8, choices=LoadMode.choices, default=LoadMode.APPEND)
    stale_after_seconds = models.PositiveIntegerField(null=True, blank=True)

    # Scheduling state: the next due time, and the lease a running fetch holds (single flight).
    next_run_at = models.DateTimeField(null=True, blank=True, db_index=True)
    running_until = models.DateTimeField(null=True, blank=True)
    failures = models.PositiveIntegerField(default=0)  # consecutive failed runs, for backoff
    # Conditional GET state of a URL source, saved once a version is taken.
    etag = models.CharField(max_length=500, blank=True)
    last_modified = models.CharField(max_length=100, blank=True)
    last_new_file_at = models.DateTimeField(null=True, blank=True)
    stale_alerted_at = models.DateTimeField(null=True, blank=True)

    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["created_at"]

    def __str__(self) -> str:
        return f"{self.kind} source of {self.dataset_id}"


class RunState(models.TextChoices):
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    NOT_MODIFIED = "not_modified"
    FAILED = "failed"


class RunTrigger(models.TextChoices):
    SCHEDULE = "schedule"
    MANUAL = "manual"
    RETRY = "retry"


class Run(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    source = models.ForeignKey(Source, on_delete=models.CASCADE, related_name="runs")
    trigger = models.CharField(max_length=10, choices=RunTrigger.choices)
    state = models.CharField(max_length=16, choices=RunState.choices, default=RunState.RUNNING)
    started_at = models.DateTimeField()
    finished_at = models.DateTimeField(null=True, blank=True)
    files_found = models.PositiveIntegerField(default=0)
    files_loaded = models.PositiveIntegerField(default=0)
    files_skipped = models.PositiveIntegerField(default=0)
    rows = models.BigIntegerField(default=0)
    error = models.TextField(blank=True)

    class Meta:
        ordering = ["-started_at"]
        indexes = [models.Index(fields=["source", "-started_at"])]

    def __str__(self) -> str:
        return f"run {self.id} ({self.state})"


class SourceFile(models.Model):
    """One version of one remote file, taken once: the S3 manifest (key, ETag, size), and for a
    URL each version downloaded. The unique constraint is what makes a version load once even
    when two runs race; the upload records the source and run it came from."""

    source = models.ForeignKey(Source, on_delete=models.CASCADE, related_name="files")
    run = models.ForeignKey(Run, on_delete=models.CASCADE, related_name="files")
    upload = models.OneToOneField(
        Upload, null=True, blank=True, on_delete=models.SET_NULL, related_name="source_file"
    )
    key = models.CharField(max_length=1024)
    etag = models.CharField(max_length=500)
    size = models.BigIntegerField()
    # sha256 of (key, etag, size): the unique key, short enough for any database's index.
    version = models.CharField(max_length=64)
    taken_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["source", "version"], name="source_file_version_once")
        ]

    def __str__(self) -> str:
        return self.key
