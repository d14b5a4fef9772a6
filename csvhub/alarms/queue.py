"""Queuing a dataset's evaluation: at most one waiting per dataset in this process.

An evaluation covers every row committed before it starts (csvhub.alarms.evaluation reads
from each rule's watermark), so while one is queued and not started, a second would find
nothing left: with the thread runner it is not queued at all. After
`CSVHUB_ALARM_EVALUATION_DELAY_SECONDS` (a debounce) the queued one goes to the job threads,
so a burst of sensor posts is evaluated once, and the web process's threads and SQLite's
write lock are taken by one evaluation instead of one per post.

With Celery the evaluation runs in another process, which cannot tell this one it started:
every commit queues one, and the ones that find nothing left return after one read.
"""

from __future__ import annotations

import threading
import time

from django.conf import settings
from django.tasks import task_backends

from csvhub.alarms.tasks import alarms_evaluate
from csvhub.jobs.backends import ThreadBackend

# A queued evaluation not started after this long (the job threads busy with long uploads)
# no longer holds back another: the second finds little or nothing to do, never too much.
STALE_SECONDS = 60.0

_lock = threading.Lock()
_waiting: dict[str, float] = {}  # dataset id -> when its evaluation was queued (monotonic)


def evaluation_queue(dataset_id: str) -> None:
    """Queue an evaluation of the dataset unless one is already waiting in this process."""
    backend = task_backends["default"]
    if not isinstance(backend, ThreadBackend):
        alarms_evaluate.enqueue(dataset_id)
        return
    now = time.monotonic()
    with _lock:
        queued = _waiting.get(dataset_id)
        if queued is not None and now - queued < STALE_SECONDS:
            return
        _waiting[dataset_id] = now
    delay = settings.CSVHUB_ALARM_EVALUATION_DELAY_SECONDS
    if delay <= 0:
        backend.enqueue(alarms_evaluate, [dataset_id], {})
        return
    # The backend captured here, not looked up on the timer's thread: Django's task backends
    # are per thread, and a new one would start a thread pool of its own.
    timer = threading.Timer(delay, backend.enqueue, (alarms_evaluate, [dataset_id], {}))
    timer.daemon = True  # a stop in the meantime loses nothing: the next commit's covers it
    timer.start()


def evaluation_started(dataset_id: str) -> None:
    """The dataset's evaluation starts: a commit from now on queues the next one (this one
    reads the rows committed before this moment)."""
    with _lock:
        _waiting.pop(dataset_id, None)
