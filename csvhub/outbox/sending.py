"""Sending the outbox: claim a mail, send it, record the outcome, retry with backoff."""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from django.conf import settings
from django.db.models import F, Q
from django.utils import timezone

from csvhub.mail import mail_send
from csvhub.metrics.hooks import mail_sent
from csvhub.outbox.models import OutboxMail

logger = logging.getLogger(__name__)


def outbox_send_due(*, now: datetime | None = None) -> int:
    """Send every mail that is due and that this call claims; returns how many were sent."""
    now = now or timezone.now()
    due = OutboxMail.objects.filter(
        Q(claimed_until__isnull=True) | Q(claimed_until__lte=now),
        sent_at__isnull=True,
        failed_at__isnull=True,
        next_attempt_at__lte=now,
    ).values_list("pk", flat=True)
    return sum(outbox_send_one(mail_id=mail_id, now=now) for mail_id in list(due[:500]))


def outbox_claim(*, mail_id: int, now: datetime) -> bool:
    """Take the mail for one send attempt. The conditional UPDATE is the claim: of two
    senders, one changes the row; the attempt is counted before the SMTP server is called,
    so a sender that dies mid-send still used an attempt. The lease runs from the claim itself
    (a batch's start time, `now`, may be long past once a slow server was waited for)."""
    lease = timedelta(seconds=settings.CSVHUB_MAIL_CLAIM_SECONDS)
    now = _current(now)
    claimed = OutboxMail.objects.filter(
        Q(claimed_until__isnull=True) | Q(claimed_until__lte=now),
        pk=mail_id,
        sent_at__isnull=True,
        failed_at__isnull=True,
    ).update(claimed_until=now + lease, attempts=F("attempts") + 1)
    return claimed == 1


def outbox_send_one(*, mail_id: int, now: datetime) -> bool:
    """Claim, send and record one mail; False when another sender has it or sending failed."""
    if not outbox_claim(mail_id=mail_id, now=now):
        return False
    mail = OutboxMail.objects.get(pk=mail_id)
    try:
        # A Message-ID made of the key: should a mail ever go twice (a sender killed after the
        # server accepted it, before the row said so), mail clients show it once.
        mail_send(
            subject=mail.subject,
            body=mail.body,
            to=mail.to,
            headers={"Message-ID": f"<{mail.key.replace(':', '.')}@csvhub>"},
        )
    except OSError as error:  # smtplib's errors are OSErrors, as are refused connections
        _failed(mail, error, _current(now))
        return False
    except Exception as error:  # a mail that cannot be sent as written (a bad header): kept
        logger.exception("mail %s (%s) could not be sent", mail.pk, mail.key)
        _failed(mail, error, _current(now))
        return False
    OutboxMail.objects.filter(pk=mail_id).update(
        sent_at=timezone.now(), claimed_until=None, last_error=""
    )
    mail_sent("sent")
    return True


def _current(now: datetime) -> datetime:
    """The time of a step of a batch that started at `now`: the clock may have moved on while
    an earlier mail waited for a slow server (a later `now`, as tests give, stands)."""
    return max(now, timezone.now())


def _failed(mail: OutboxMail, error: Exception, now: datetime) -> None:
    logger.warning("sending mail %s (%s) failed: %s", mail.pk, mail.key, error)
    message = f"{type(error).__name__}: {error}"[:2000]
    spent = mail.attempts >= settings.CSVHUB_MAIL_ATTEMPTS
    delay = settings.CSVHUB_MAIL_RETRY_SECONDS * 2 ** (mail.attempts - 1)
    OutboxMail.objects.filter(pk=mail.pk).update(
        last_error=message,
        claimed_until=None,
        next_attempt_at=now + timedelta(seconds=min(delay, 3600)),
        failed_at=now if spent else None,
    )
    mail_sent("failed" if spent else "retry")
