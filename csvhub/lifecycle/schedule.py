"""The retention job, run by csvhub.scheduling (one process per occurrence, by its claim)."""

from __future__ import annotations

from datetime import datetime

from django.conf import settings

from csvhub.scheduling import every, periodic


# A long lease: a run deleting millions of rows may take a while, and a second process must
# not start the same deletions meanwhile (a run killed midway is resumed by the next one).
@periodic("lifecycle.retention", every(settings.CSVHUB_RETENTION_EVERY_SECONDS), lease_seconds=3600)
def retention(now: datetime) -> None:
    from csvhub.lifecycle.retention import retention_run

    retention_run(now=now)
