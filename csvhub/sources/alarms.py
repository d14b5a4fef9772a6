"""Stale sources: a feed that brought nothing new for `stale_after_seconds` raises one alarm
email (until it brings a file again), written to the outbox and sent by a periodic job.

The outbox is minimal on purpose (one table, retried sends): the measures-and-alarms issue brings
the shared alarm/outbox machinery, which should take this over.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from django.conf import settings
from django.core.mail import send_mail
from django.db import transaction
from django.db.models import F

from csvhub.accounts.models import Membership, Role
from csvhub.sources.models import OutboxEmail, Source

logger = logging.getLogger(__name__)

MAX_SEND_ATTEMPTS = 5


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
    OutboxEmail.objects.create(
        to=sorted(set(recipients)),
        subject=f"csvhub: no new file for {dataset.name} since {since:%Y-%m-%d %H:%M} UTC",
        body=(
            f"The source {what} of the dataset {dataset.name} has brought no new file since "
            f"{since:%Y-%m-%d %H:%M} UTC (it is checked on schedule; the limit is "
            f"{source.stale_after_seconds:,} s). Check the feed, or pause the source.\n"
        ),
    )


def outbox_send(*, now: datetime) -> int:
    """Send the waiting emails; each is claimed by bumping its attempt count, so two senders
    never send one email twice. Returns how many were sent."""
    sent = 0
    waiting = OutboxEmail.objects.filter(sent_at__isnull=True, attempts__lt=MAX_SEND_ATTEMPTS)
    for email in waiting:
        if not OutboxEmail.objects.filter(pk=email.pk, attempts=email.attempts).update(
            attempts=F("attempts") + 1
        ):
            continue
        try:
            send_mail(email.subject, email.body, settings.DEFAULT_FROM_EMAIL, email.to)
        except OSError as error:
            logger.warning("sending email %s failed: %s", email.pk, error)
            OutboxEmail.objects.filter(pk=email.pk).update(last_error=str(error)[:1000])
            continue
        OutboxEmail.objects.filter(pk=email.pk).update(sent_at=now, last_error="")
        sent += 1
    return sent
