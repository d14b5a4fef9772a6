"""The periodic jobs of scheduled imports (csvhub.scheduling): start due runs, raise stale
alarms (their mails go through csvhub.outbox, which has its own periodic sender)."""

from __future__ import annotations

from datetime import datetime

from csvhub.scheduling import every, periodic


@periodic("sources.dispatch", every(15), lease_seconds=120)
def dispatch(now: datetime) -> None:
    from csvhub.sources.runs import sources_dispatch

    sources_dispatch(now=now)


@periodic("sources.stale_sweep", every(300))
def stale_sweep(now: datetime) -> None:
    from csvhub.sources.alarms import sources_stale_sweep

    sources_stale_sweep(now=now)
