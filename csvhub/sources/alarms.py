"""Stale sources: a feed that brought nothing new for `stale_after_seconds` raises one alarm
email (until it brings a file again), written to the shared mail outbox (csvhub.outbox), which
sends it after the commit, retries and never sends it twice.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from django.db import transaction

from csvhub.accounts.models import Membership, Role
from csvhub.outbox.services import outbox_write
from csvhub.sources.models import Source


def source_is_stale(source: Source, now: datetime) -> bool:
    if not source.enabled or not source.stale_after_seconds:
        return False
    since = source.last_new_file_at or source.created_at
    return now - since > timedelta(seconds=source.stale_after_seconds)


def sources_stale_sweep(*, now: datetime) -> int:
    """Write one alarm per source that went stale since its last alarm; returns how many."""
    raised = 0
    candidates = Source.objects.filter(
        enabled=True, stale_after_seconds__isnull=False, stale_alerted_at__isnull=True
    ).select_related("dataset__organization")
    for source in candidates:
        if not source_is_stale(source, now):
            continue
        with transaction.atomic():
            # The conditional update is the claim: of two sweeps, one writes the email.
            if Source.objects.filter(pk=source.pk, stale_alerted_at__isnull=True).update(
                stale_alerted_at=now
            ):
                _stale_email(source, now)
                raised += 1
    return raised


def _stale_email(source: Source, now: datetime) -> None:
    dataset = source.dataset
    recipients = list(
        Membership.objects.filter(
            organization=dataset.organization_id, role__in=[Role.EDITOR, Role.ADMIN]
        )
        .exclude(user__email="")
        .values_list("user__email", flat=True)
    )
    if not recipients:
        return
    since = source.last_new_file_at or source.created_at
    what = source.url if source.kind == "url" else f"s3://{source.bucket}/{source.prefix}"
    outbox_write(
        # One alarm per stale spell: the spell is named by the sweep that claimed it.
        key=f"source-stale:{source.pk}:{now.isoformat()}",
        to=sorted(set(recipients)),
        subject=f"csvhub: no new file for {dataset.name} since {since:%Y-%m-%d %H:%M} UTC",
        body=(
            f"The source {what} of the dataset {dataset.name} has brought no new file since "
            f"{since:%Y-%m-%d %H:%M} UTC (it is checked on schedule; the limit is "
            f"{source.stale_after_seconds:,} s). Check the feed, or pause the source.\n"
        ),
    )
