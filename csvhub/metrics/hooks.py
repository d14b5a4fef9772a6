"""The calls other packages make, one line each, to have something counted."""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Iterator
from datetime import datetime

from django.utils import timezone

from csvhub.metrics.definitions import metrics

QUERY_KINDS = ("page", "count", "export", "analysis", "facets")


@contextlib.contextmanager
def observe_query(kind: str) -> Iterator[None]:
    """Time a warehouse read of this kind (one of QUERY_KINDS), failed or not."""
    started = time.perf_counter()
    try:
        yield
    finally:
        metrics().query_duration.labels(kind).observe(time.perf_counter() - started)


def observe_stream(kind: str, chunks: Iterator[bytes]) -> Iterator[bytes]:
    """`chunks`, timed from the first read to the last (or to the client going away)."""
    with observe_query(kind):
        yield from chunks


class _Progress:
    """What each running job has reported so far, so that cumulative progress reports become
    counter increments. A reading that starts over (another encoding) reports less than before:
    nothing is added until it passes what was counted."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._seen: dict[object, tuple[int, int, int]] = {}

    def advance(self, job: object, rows: int, read: int, rejected: int) -> tuple[int, ...]:
        with self._lock:
            before = self._seen.get(job, (0, 0, 0))
            now = tuple(max(b, n) for b, n in zip(before, (rows, read, rejected), strict=True))
            self._seen[job] = (now[0], now[1], now[2])
        return tuple(n - b for b, n in zip(before, now, strict=True))

    def forget(self, job: object) -> None:
        with self._lock:
            self._seen.pop(job, None)


_progress = _Progress()


def ingest_progress(job: object, *, rows: int, bytes_read: int | None, rejected: int) -> None:
    """An ingestion job's progress so far (cumulative figures; None: bytes not known here)."""
    added_rows, added_bytes, added_rejected = _progress.advance(
        job, rows, bytes_read or 0, rejected
    )
    figures = metrics()
    figures.ingest_rows.inc(added_rows)
    figures.ingest_bytes.inc(added_bytes)
    figures.ingest_rejected.inc(added_rejected)


def job_finished(job: object, *, kind: str, state: str, started_at: datetime | None) -> None:
    """A background job ended in `state` (succeeded, failed); `started_at` from its record."""
    _progress.forget(job)
    figures = metrics()
    figures.jobs_finished.labels(kind, state).inc()
    if started_at is not None:
        seconds = (timezone.now() - started_at).total_seconds()
        figures.job_duration.labels(kind, state).observe(max(seconds, 0.0))


def alarm_evaluated(outcome: str, count: int = 1) -> None:
    """Rule evaluations of committed rows: outcome "evaluated", "duplicate" or "restepped"."""
    metrics().alarm_evaluations.labels(outcome).inc(count)


def mail_sent(result: str) -> None:
    """One outbox send attempt: "sent", "retry" or "failed"."""
    metrics().mails_sent.labels(result).inc()
