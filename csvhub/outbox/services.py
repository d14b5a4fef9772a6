"""Writing mails to the outbox (in the caller's transaction), and asking for a send after it
commits. Sending is csvhub.outbox.sending."""

from __future__ import annotations

from collections.abc import Sequence

from django.db import IntegrityError, transaction
from django.utils import timezone

from csvhub.outbox.models import OutboxMail


def outbox_write(*, key: str, to: Sequence[str], subject: str, body: str) -> OutboxMail:
    """Record a mail in the caller's transaction (idempotent by `key`), and ask for a send
    once that transaction commits: nothing is sent for a decision that rolled back."""
    try:
        with transaction.atomic():
            mail = OutboxMail.objects.create(
                key=key[:200],
                to=sorted(set(to)),
                subject=subject[:300],
                body=body,
                next_attempt_at=timezone.now(),
            )
    except IntegrityError:  # written already (the same decision evaluated twice)
        return OutboxMail.objects.get(key=key[:200])
    transaction.on_commit(outbox_enqueue)
    return mail


def outbox_enqueue() -> None:
    from csvhub.outbox.tasks import outbox_send

    outbox_send.enqueue()
