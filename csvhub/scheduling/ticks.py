"""Running due periodic jobs: one tick, and the loop that ticks in a background thread.

Single flight rests on the database, not on the process: a tick claims a due job with one
conditional UPDATE (`next_run_at <= now` and no live lease) that moves `next_run_at` on and
takes a lease. Of several processes ticking at once (web servers, Celery workers), exactly one
sees its UPDATE change a row and runs the job; the others see 0 rows and go on. A process that
dies mid-run leaves the lease to expire, and the next due tick elsewhere runs the job again.
Missed occurrences (everything stopped for a day) run once, not once per missed occurrence.
"""

from __future__ import annotations

import logging
import threading
from datetime import datetime

from django.db import IntegrityError, close_old_connections, connections, transaction
from django.db.models import Q
from django.utils import timezone

from csvhub.scheduling.models import PeriodicJob
from csvhub.scheduling.registry import RegisteredJob, periodic_jobs

logger = logging.getLogger(__name__)


def tick(*, now: datetime | None = None, names: list[str] | None = None) -> list[str]:
    """Run every registered job that is due at `now` (default: the current time) and that
    this call wins the claim for; returns their names. `names` limits the jobs considered."""
    now = now or timezone.now()
    ran = []
    for job in periodic_jobs():
        if names is not None and job.name not in names:
            continue
        if _claim(job, now):
            _run(job, now)
            ran.append(job.name)
    return ran


def _claim(job: RegisteredJob, now: datetime) -> bool:
    planned = _planned(job, now)
    if planned.next_run_at > now:
        return False
    claimed = PeriodicJob.objects.filter(
        Q(running_until__isnull=True) | Q(running_until__lte=now),
        name=job.name,
        next_run_at=planned.next_run_at,
    ).update(
        next_run_at=job.schedule.next_after(now),
        running_until=now + job.lease,
        last_started_at=now,
    )
    return claimed == 1


def _planned(job: RegisteredJob, now: datetime) -> PeriodicJob:
    """The job's row, created on first sight and re-planned when its schedule changed."""
    described = job.schedule.describe()[:300]
    row = PeriodicJob.objects.filter(name=job.name).first()
    if row is None:
        try:
            with transaction.atomic():
                return PeriodicJob.objects.create(
                    name=job.name, schedule=described, next_run_at=job.schedule.next_after(now)
                )
        except IntegrityError:  # another process created it first
            return PeriodicJob.objects.get(name=job.name)
    if row.schedule != described:
        row.schedule, row.next_run_at = described, job.schedule.next_after(now)
        PeriodicJob.objects.filter(name=job.name).update(
            schedule=row.schedule, next_run_at=row.next_run_at
        )
    return row


def _run(job: RegisteredJob, now: datetime) -> None:
    error = ""
    try:
        job.function(now)
    except Exception as failure:  # a failing job must not stop the others or the loop
        logger.exception("periodic job %s failed", job.name)
        error = f"{type(failure).__name__}: {failure}"[:2000]
    PeriodicJob.objects.filter(name=job.name).update(
        running_until=None, last_finished_at=timezone.now(), last_error=error
    )


class Ticker:
    """A daemon thread that ticks every `seconds` until stopped."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="csvhub-scheduler", daemon=True)

    def start(self) -> Ticker:
        self._thread.start()
        return self

    def stop(self, timeout: float | None = None) -> None:
        self._stop.set()
        self._thread.join(timeout)

    def _loop(self) -> None:
        while not self._stop.wait(self.seconds):
            close_old_connections()
            try:
                tick()
            except Exception:  # the database away for a moment: tick again later
                logger.exception("scheduler tick failed")
            finally:
                connections.close_all()


_started: Ticker | None = None
_start_lock = threading.Lock()


def scheduler_start() -> Ticker | None:
    """Start this process's ticking thread once (CSVHUB_SCHEDULER_SECONDS; 0 turns it off)."""
    global _started
    from django.conf import settings

    seconds = settings.CSVHUB_SCHEDULER_SECONDS
    with _start_lock:
        if _started is None and seconds > 0:
            _started = Ticker(seconds).start()
        return _started
