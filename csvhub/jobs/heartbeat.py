"""A running job's heartbeat, kept fresh from a thread while the job works.

Jobs write a heartbeat with their progress, but only between chunks: a slow phase (a large
COPY, waiting for a table's lock, an index build, a loaded machine) could leave it older than
CSVHUB_JOB_STALE_SECONDS, and the sweeper would queue a live job again. This beat depends on
nothing but the process being alive, which is what the sweeper means to ask. `beat` writes the
heartbeat of this attempt only (a fenced UPDATE), so a job taken over stops beating.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

from django.conf import settings
from django.db import DatabaseError, connection

logger = logging.getLogger(__name__)

# The shortest time between beats (jobs with a short stale limit, as in tests).
MIN_BEAT_SECONDS = 1.0


class Heartbeat:
    def __init__(self, beat: Callable[[], object], name: str) -> None:
        self.beat = beat
        self.name = name
        self.stopped = threading.Event()
        self.thread = threading.Thread(target=self._run, name=f"csvhub-heartbeat-{name}")
        self.thread.daemon = True

    def __enter__(self) -> Heartbeat:
        self.thread.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stopped.set()
        self.thread.join()

    def _run(self) -> None:
        interval = max(settings.CSVHUB_JOB_STALE_SECONDS / 5, MIN_BEAT_SECONDS)
        try:
            while not self.stopped.wait(interval):
                try:
                    self.beat()
                except DatabaseError:  # a busy or briefly absent database: beat next time
                    logger.warning("could not write the heartbeat of %s", self.name)
        finally:
            connection.close()  # this thread's own connection
