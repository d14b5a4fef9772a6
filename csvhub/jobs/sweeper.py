"""The sweeper: every process that runs jobs looks, now and then, for jobs whose process died.

A job killed mid-way (its worker stopped past its grace period, its machine lost) stays
'running' with a heartbeat that no longer moves; once the heartbeat is older than
CSVHUB_JOB_STALE_SECONDS, the next sweep of any worker queues it again, and it runs to the end
once (csvhub.datasets.ingest claims a job with a conditional update).
"""

from __future__ import annotations

import logging
import threading
import time

from django.conf import settings
from django.db import connections

logger = logging.getLogger(__name__)

# How often a process looks for jobs whose worker died (their heartbeat went stale).
SWEEP_SECONDS = 30

_last_pass: float | None = None


def sweep_interval() -> float:
    return min(SWEEP_SECONDS, settings.CSVHUB_JOB_STALE_SECONDS)


def start_sweeper() -> None:
    threading.Thread(target=_sweep_forever, name="csvhub-sweeper", daemon=True).start()


def _sweep_forever() -> None:
    global _last_pass
    from csvhub.datasets.services import uploads_resume
    from csvhub.edits.services import edits_resume

    _last_pass = time.monotonic()
    while True:
        time.sleep(sweep_interval())
        try:
            uploads_resume(requeue_waiting=False)
            edits_resume()
            _last_pass = time.monotonic()
        except Exception:  # the database is away for a moment: sweep again next time
            logger.exception("could not look for jobs whose worker died")
        finally:
            connections.close_all()


def sweeper_healthy() -> bool:
    """The sweeper runs and its last pass reached the database (a worker's health check)."""
    return _last_pass is not None and time.monotonic() - _last_pass < 3 * sweep_interval()
