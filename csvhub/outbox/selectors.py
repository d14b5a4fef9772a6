"""Reading the outbox."""

from __future__ import annotations

from csvhub.outbox.models import OutboxMail


def outbox_get(*, key: str) -> OutboxMail | None:
    return OutboxMail.objects.filter(key=key).first()
