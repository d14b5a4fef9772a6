"""Which datasets have an evaluation waiting in this process (queued, not yet started), and
when a waiting one is due.

Its own module because both ends use it: csvhub.alarms.queue marks an evaluation waiting when
it queues one (and touches the mark on every later commit of the dataset), and the task
(csvhub.alarms.tasks) clears the mark when it starts; neither of those two modules imports the
other.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass

# A waiting evaluation not started after this long (the job threads busy with long uploads)
# no longer holds back another: the second finds little or nothing to do, never too much.
STALE_SECONDS = 60.0


@dataclass
class _Wait:
    queued: float  # the commit that queued the evaluation (monotonic)
    latest: float  # the dataset's latest commit since (monotonic)


_lock = threading.Lock()
_waiting: dict[str, _Wait] = {}  # dataset id -> its waiting evaluation


def evaluation_mark_waiting(dataset_id: str, *, now: float | None = None) -> bool:
    """Mark the dataset's evaluation as waiting; False when one already waits (not stale),
    whose latest commit is then this one."""
    now = time.monotonic() if now is None else now
    with _lock:
        wait = _waiting.get(dataset_id)
        if wait is not None and now - wait.queued < STALE_SECONDS:
            wait.latest = now
            return False
        _waiting[dataset_id] = _Wait(queued=now, latest=now)
        return True


def evaluation_due_in(
    dataset_id: str, *, quiet: float, longest: float, now: float | None = None
) -> float:
    """Seconds until the dataset's waiting evaluation is due: once its commits have been
    quiet for `quiet` seconds, and at the latest `longest` seconds after the commit that
    queued it; 0 when due (or no longer waiting)."""
    now = time.monotonic() if now is None else now
    with _lock:
        wait = _waiting.get(dataset_id)
        if wait is None:
            return 0.0
        due = min(wait.latest + quiet, wait.queued + max(longest, quiet))
    return max(due - now, 0.0)


def evaluation_started(dataset_id: str) -> None:
    """The dataset's evaluation starts (or, with Celery, is sent): a commit from now on queues
    the next one; this one reads the rows committed before this moment."""
    with _lock:
        _waiting.pop(dataset_id, None)
