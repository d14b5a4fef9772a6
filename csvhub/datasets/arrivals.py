"""Uploads still arriving whose load has started: what the request and the job share.

With the thread runner, an upload of one file that makes a new dataset starts loading as soon
as its body starts arriving (csvhub.datasets.services.upload_begin_arriving): the job reads the
request's spool file as it grows (csvhub.csvread.growing) instead of the stored file. The job
and the request run in the same process, so an `Arrival` in memory is all they share:

- the spool's growth: the upload handler tells how far the file is written, then that it is
  complete, or that it was abandoned (the body was cut short, too large, or refused);
- whether the original is in storage: the job publishes nothing before the request stored the
  file and recorded it (`stored()`), and a request that gives the upload up waits for the job to
  end (`give_up()`) before it deletes what the upload made.

A process that dies takes its arrivals with it: their rows have no stored file and are deleted
by the next sweep (services.uploads_resume), never loaded.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Callable
from uuid import UUID

from csvhub.csvread.growing import FileAbandoned, GrowingFileReader, Growth

logger = logging.getLogger(__name__)

# How long a request giving an upload up waits for its job to stop (it stops at its next read,
# or after the batch it is writing).
GIVE_UP_WAIT_SECONDS = 120.0
# How often an arriving upload's row says it is alive while the body arrives (the sweep deletes
# rows without a stored file that stopped saying so: their process died).
TOUCH_SECONDS = 5.0

_arrivals: dict[UUID, Arrival] = {}
_registry_lock = threading.Lock()


class Arrival:
    """One upload arriving while it loads; see the module docstring."""

    def __init__(self, upload_id: UUID, spool_path: str, touch: Callable[[], None]) -> None:
        self.upload_id = upload_id
        self.growth = Growth()
        self._touch = touch
        self._touched = time.monotonic()
        # Opened now: the spool is moved into storage or deleted when the request ends, and a
        # second reading (a late encoding evidence) starts again from its first byte.
        self._fd = os.open(spool_path, os.O_RDONLY)
        self._state = threading.Condition()
        self._job_started = False
        self._job_ended = False
        self._stored = False
        self._given_up = ""

    def grew(self, size: int) -> None:
        """`size` bytes of the file are written and flushed (the upload handler)."""
        self.growth.grew(size)
        if time.monotonic() - self._touched >= TOUCH_SECONDS:
            self._touched = time.monotonic()
            self._touch()

    def open(self) -> GrowingFileReader:
        """The spool from its first byte, as it grows."""
        return GrowingFileReader(self._fd, self.growth)

    def job_begins(self) -> bool:
        """The job may read (True), or the upload was given up before the job started."""
        with self._state:
            if self._given_up:
                return False
            self._job_started = True
            return True

    def job_ends(self) -> None:
        with self._state:
            self._job_ended = True
            self._state.notify_all()
        _forget(self)

    def stored(self) -> None:
        """The original is in storage and recorded: the job may publish."""
        with self._state:
            self._stored = True
            self._state.notify_all()

    def wait_stored(self) -> None:
        """Until the request stored the original; FileAbandoned if it gave the upload up."""
        with self._state:
            while not self._stored and not self._given_up:
                self._state.wait()
            if self._given_up:
                raise FileAbandoned(self._given_up)

    def give_up(self, reason: str) -> None:
        """The upload will not be kept: readers stop, and this returns once the job (if it
        started) has ended, so that what the upload made can be deleted behind it."""
        self.growth.abandon(reason)
        with self._state:
            self._given_up = reason
            self._state.notify_all()
            if self._job_started:
                ended = self._state.wait_for(lambda: self._job_ended, GIVE_UP_WAIT_SECONDS)
                if not ended:
                    logger.error("upload %s: its job did not stop after %s", self.upload_id, reason)
        if not self._job_started:
            _forget(self)

    def close(self) -> None:
        os.close(self._fd)


def arrival_register(arrival: Arrival) -> None:
    with _registry_lock:
        _arrivals[arrival.upload_id] = arrival


def arrival_count() -> int:
    """Uploads arriving while they load in this process."""
    with _registry_lock:
        return len(_arrivals)


def arrival_get(upload_id: UUID) -> Arrival | None:
    with _registry_lock:
        return _arrivals.get(upload_id)


def _forget(arrival: Arrival) -> None:
    with _registry_lock:
        if _arrivals.get(arrival.upload_id) is arrival:
            del _arrivals[arrival.upload_id]
            arrival.close()
