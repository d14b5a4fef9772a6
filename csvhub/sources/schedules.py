"""A source's schedule, and when it runs next (after a success, or after a failure: backoff)."""

from __future__ import annotations

from datetime import datetime, timedelta

from django.conf import settings

from csvhub.scheduling import Schedule, cron, every
from csvhub.sources.models import Source


def source_schedule(source: Source) -> Schedule:
    if source.cron:
        return cron(source.cron, source.time_zone)
    return every(source.every_seconds or settings.CSVHUB_SOURCE_MIN_INTERVAL_SECONDS)


def source_next_run(source: Source, now: datetime) -> datetime | None:
    """The next scheduled time; None while the source is paused."""
    return source_schedule(source).next_after(now) if source.enabled else None


def source_retry_at(source: Source, now: datetime) -> datetime | None:
    """After the `source.failures`-th failure in a row: a retry after a doubling delay, unless
    the retries are spent (or the next scheduled run comes first)."""
    scheduled = source_next_run(source, now)
    if source.failures > settings.CSVHUB_SOURCE_RETRIES or scheduled is None:
        return scheduled
    delay = timedelta(seconds=settings.CSVHUB_SOURCE_RETRY_SECONDS * 2 ** (source.failures - 1))
    return min(now + delay, scheduled)
