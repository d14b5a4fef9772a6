"""The outbox's periodic job (csvhub.scheduling): retries failed sends when their backoff
is over, and sends what a process that died after its commit never sent."""

from __future__ import annotations

from datetime import datetime

from csvhub.scheduling import every, periodic


@periodic("outbox.send", every(30), lease_seconds=300)
def send(now: datetime) -> None:
    from csvhub.outbox.sending import outbox_send_due

    outbox_send_due(now=now)
