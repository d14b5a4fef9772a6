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
    _send_after_commit()
    return mail


def _send_after_commit() -> None:
    """One send job per transaction, however many mails it writes: a job sends every mail
    due, so the others would only look for mails and find none (an alarm evaluation writes
    one per rule and event; with the thread runner those jobs ran in the web process). A
    hook dropped by a savepoint's rollback is gone from the list, so a later mail asks
    again."""
    pending = transaction.get_connection().run_on_commit
    if not any(hook is outbox_enqueue for _savepoints, hook, _robust in pending):
        transaction.on_commit(outbox_enqueue)


def outbox_enqueue() -> None:
    from csvhub.outbox.tasks import outbox_send

    outbox_send.enqueue()
