"""Queuing a dataset's evaluation: at most one waiting per dataset in this process, sent once
the dataset's commits pause, and never from the writing request's thread.

An evaluation covers every row committed before it starts (csvhub.alarms.evaluation reads
from each rule's watermark), so while one is waiting, a second would find nothing left: it is
not queued at all. The waiting one is sent from a timer thread once the dataset has had no
commit for `CSVHUB_ALARM_EVALUATION_DELAY_SECONDS` (each commit in the meantime pushes it back),
and at the latest `CSVHUB_ALARM_EVALUATION_MAX_DELAY_SECONDS` after the commit that queued it:
a burst of sensor posts is evaluated once, after it, in the gap that follows rather than
between its requests (an evaluation's writes and CPU are what a concurrent append waits for:
SQLite's write lock, the GIL with the thread runner); a steady stream is still evaluated every
max delay. The request that committed waits for no job runner (with Celery, no broker round
trip).

What "waiting" means depends on where the job runs. With the thread runner, until a job
thread starts it (csvhub.alarms.tasks calls evaluation_started): the job threads may be busy
with an upload. With Celery the worker is another process that cannot tell this one it
started: until it is sent to the broker. Either way a commit that comes after the end of the
wait queues the next evaluation, and one that came before it is seen by this one.
"""

from __future__ import annotations

import logging
import threading

from django.conf import settings
from django.tasks import task_backends
from django.tasks.backends.base import BaseTaskBackend

from csvhub.alarms.tasks import alarms_evaluate
from csvhub.alarms.waiting import (
    Wait,
    evaluation_due_in,
    evaluation_mark_waiting,
    evaluation_started,
)
from csvhub.jobs.backends import InlineBackend, ThreadBackend

logger = logging.getLogger(__name__)


def evaluation_queue(dataset_id: str) -> None:
    """Queue an evaluation of the dataset unless one is already waiting in this process."""
    backend = task_backends["default"]
    if isinstance(backend, InlineBackend):  # tests and scripts: here and now, as they expect
        alarms_evaluate.enqueue(dataset_id)
        return
    wait = evaluation_mark_waiting(dataset_id)
    if wait is None:
        return
    # The backend is taken here, not looked up on the timer's thread: Django's task backends
    # are per thread, and a new thread would start a thread pool of its own.
    sender = _Sender(dataset_id, wait, backend, started_there=isinstance(backend, ThreadBackend))
    sender.send_in(settings.CSVHUB_ALARM_EVALUATION_DELAY_SECONDS)


class _Sender:
    def __init__(
        self, dataset_id: str, wait: Wait, backend: BaseTaskBackend, *, started_there: bool
    ) -> None:
        self.dataset_id = dataset_id
        self.wait = wait
        self.backend = backend
        self.started_there = started_there

    def send_in(self, seconds: float) -> None:
        timer = threading.Timer(seconds, self.send_when_due)
        timer.daemon = True  # a stop in the meantime loses nothing but the wait: docs/alarms.md
        timer.start()

    def send_when_due(self) -> None:
        """Send the evaluation, or wait again (commits came during the wait), or stop (a
        newer wait of the dataset has its own sender)."""
        left = evaluation_due_in(
            self.dataset_id,
            self.wait,
            quiet=settings.CSVHUB_ALARM_EVALUATION_DELAY_SECONDS,
            longest=settings.CSVHUB_ALARM_EVALUATION_MAX_DELAY_SECONDS,
        )
        if left is None:
            return
        if left > 0:
            self.send_in(left)
        else:
            self.send()

    def send(self) -> None:
        if not self.started_there:
            evaluation_started(self.dataset_id)  # before the send: see evaluation_started
        try:
            self.backend.enqueue(alarms_evaluate, [self.dataset_id], {})
        except Exception:  # the broker down: the next commit of the dataset queues it again
            evaluation_started(self.dataset_id)
            logger.exception("alarm evaluation of dataset %s not queued", self.dataset_id)
