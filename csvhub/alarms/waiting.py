"""Which datasets have an evaluation waiting in this process (queued, not yet started).

Its own module because both ends use it: csvhub.alarms.queue marks an evaluation waiting when
it queues one, and the task (csvhub.alarms.tasks) clears the mark when it starts; neither of
those two modules imports the other.
"""

from __future__ import annotations

import threading
import time

# A waiting evaluation not started after this long (the job threads busy with long uploads)
# no longer holds back another: the second finds little or nothing to do, never too much.
STALE_SECONDS = 60.0

_lock = threading.Lock()
_waiting: dict[str, float] = {}  # dataset id -> when its evaluation was queued (monotonic)


def evaluation_mark_waiting(dataset_id: str) -> bool:
    """Mark the dataset's evaluation as waiting; False when one already waits (not stale)."""
    now = time.monotonic()
    with _lock:
        queued = _waiting.get(dataset_id)
        if queued is not None and now - queued < STALE_SECONDS:
            return False
        _waiting[dataset_id] = now
        return True


def evaluation_started(dataset_id: str) -> None:
    """The dataset's evaluation starts (or, with Celery, is sent): a commit from now on queues
    the next one; this one reads the rows committed before this moment."""
    with _lock:
        _waiting.pop(dataset_id, None)
