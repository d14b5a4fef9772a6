"""Idempotency keys of JSON appends: a retried request answers its first result."""

from __future__ import annotations

import uuid

from django.db import models

from csvhub.datasets.models import Dataset


class AppendKey(models.Model):
    """One `Idempotency-Key` used on one dataset, until `expires_at`
    (CSVHUB_APPEND_KEY_TTL_SECONDS after its first use).

    `load_id` names the append's load in the warehouse (csvhub_loads), so a retry after a crash
    between the warehouse's commit and this database's finds the rows written and only
    publishes them; `response` is the first answer, kept once published.
    """

    dataset = models.ForeignKey(Dataset, on_delete=models.CASCADE, related_name="+")
    key = models.CharField(max_length=255)
    load_id = models.UUIDField(default=uuid.uuid4)
    # SHA-256 of the request's content type and body: the same key with another body is refused.
    fingerprint = models.CharField(max_length=64)
    response = models.JSONField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["dataset", "key"], name="append_key_per_dataset")
        ]
        indexes = [models.Index(fields=["dataset", "expires_at"])]

    def __str__(self) -> str:
        return f"{self.dataset_id}:{self.key}"
