"""Bulk edits of a dataset's rows: who asked what of which rows, and how it went.

The old values an edit replaced live in the warehouse's journal (csvhub.warehouse.edits),
keyed by this model's id; this row holds the rest: the request, the job and its outcome.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models

from csvhub.datasets.models import Dataset, Upload


class EditKind(models.TextChoices):
    UPDATE = "update"  # cells of the selected rows changed
    DELETE = "delete"  # the selected rows deleted
    UNDO = "undo"  # an earlier edit's old values put back


class EditState(models.TextChoices):
    QUEUED = "queued"
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"


class Edit(models.Model):
    # An integer id: the journal orders edits by it ("changed since" is a higher id).
    id = models.BigAutoField(primary_key=True)
    dataset = models.ForeignKey(Dataset, on_delete=models.CASCADE, related_name="edits")
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    kind = models.CharField(max_length=8, choices=EditKind.choices)
    # The selection as given: filters [[column, operator, value], ...], the search, and the
    # row id range of a taken-back upload (Selection.to_json).
    selection = models.JSONField(default=dict, blank=True)
    action = models.JSONField(default=dict, blank=True)  # as given (EditAction.to_json)
    columns = models.JSONField(default=list, blank=True)  # the columns it changes
    expected_count = models.BigIntegerField(null=True, blank=True)
    # The upload whose rows a take-back deletes (DELETE /uploads/{id}/rows).
    upload = models.ForeignKey(
        Upload, null=True, blank=True, on_delete=models.SET_NULL, related_name="edits"
    )
    # An undo names the edit it undoes (a failed undo may be followed by another).
    undoes = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.SET_NULL, related_name="undos"
    )
    force = models.BooleanField(default=False)  # an undo that overwrote later changes too

    state = models.CharField(
        max_length=16, choices=EditState.choices, default=EditState.QUEUED, db_index=True
    )
    attempts = models.PositiveIntegerField(default=0)
    heartbeat_at = models.DateTimeField(null=True, blank=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    rows_done = models.BigIntegerField(default=0)  # progress: rows journaled so far
    rows_affected = models.BigIntegerField(null=True, blank=True)
    conflicts = models.BigIntegerField(default=0)  # an undo's rows changed since, left alone
    conflict_row_ids = models.JSONField(default=list, blank=True)  # the first of them
    error = models.TextField(blank=True)
    # The journal was dropped (retention): the edit can no longer be undone.
    journal_expired = models.BooleanField(default=False)

    class Meta:
        ordering = ["-id"]

    def __str__(self) -> str:
        return f"{self.kind} #{self.id} of {self.dataset_id}"

    @property
    def is_finished(self) -> bool:
        return self.state in (EditState.SUCCEEDED, EditState.FAILED)
