"""One row per registered periodic job: when it is next due and who holds it now."""

from __future__ import annotations

from django.db import models


class PeriodicJob(models.Model):
    """The database side of a periodic job; the code side is in csvhub.scheduling.registry.

    Every process that ticks claims a due job with one conditional UPDATE on this row
    (csvhub.scheduling.ticks), so exactly one of them runs each occurrence.
    """

    name = models.CharField(max_length=100, primary_key=True)
    # The schedule in words when the row was last planned: a change in code re-plans it.
    schedule = models.CharField(max_length=300)
    next_run_at = models.DateTimeField()
    # Set while a process runs the job; a process that died leaves it to expire.
    running_until = models.DateTimeField(null=True, blank=True)
    last_started_at = models.DateTimeField(null=True, blank=True)
    last_finished_at = models.DateTimeField(null=True, blank=True)
    last_error = models.TextField(blank=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name
