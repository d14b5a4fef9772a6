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
# Twice the longest a wait may last (CSVHUB_ALARM_EVALUATION_DELAY_SECONDS and _MAX_DELAY_
# SECONDS are at most 60 s), so that a wait is never taken for a stale one before it is due.
STALE_SECONDS = 120.0


@dataclass(eq=False)  # compared by identity: a sender knows its own wait from a newer one
class Wait:
    """A dataset's waiting evaluation."""

    queued: float  # the commit that queued it (monotonic)
    latest: float  # the dataset's latest commit since (monotonic)


_lock = threading.Lock()
_waiting: dict[str, Wait] = {}  # dataset id -> its waiting evaluation


def evaluation_mark_waiting(dataset_id: str, *, now: float | None = None) -> Wait | None:
    """Mark the dataset's evaluation as waiting: the new wait, or None when one already
    waits (not stale), whose latest commit is then this one."""
    now = time.monotonic() if now is None else now
    with _lock:
        wait = _waiting.get(dataset_id)
        if wait is not None and now - wait.queued < STALE_SECONDS:
            wait.latest = now
            return None
        _waiting[dataset_id] = wait = Wait(queued=now, latest=now)
        return wait


def evaluation_due_in(
    dataset_id: str, wait: Wait, *, quiet: float, longest: float, now: float | None = None
) -> float | None:
    """Seconds until the dataset's waiting evaluation `wait` is due: once its commits have
    been quiet for `quiet` seconds, and at the latest `longest` seconds after the commit that
    queued it (a max below the quiet delay waits the quiet delay); 0 when due, or when no
    evaluation of the dataset waits any more (a job of the dataset started: sending is at
    worst a duplicate, which evaluates nothing); None when a newer wait took this one's place
    (it was stale): its own sender sends it."""
    now = time.monotonic() if now is None else now
    with _lock:
        current = _waiting.get(dataset_id)
        if current is None:
            return 0.0
        if current is not wait:
            return None
        due = min(wait.latest + quiet, wait.queued + max(longest, quiet))
    return max(due - now, 0.0)


def evaluation_started(dataset_id: str) -> None:
    """The dataset's evaluation starts (or, with Celery, is sent): a commit from now on queues
    the next one; this one reads the rows committed before this moment."""
    with _lock:
        _waiting.pop(dataset_id, None)
