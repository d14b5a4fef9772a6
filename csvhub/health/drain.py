"""Draining: a web server told to stop first says it is not ready, then stops.

gunicorn's master gets SIGTERM; before it tells its workers to finish their requests and
exit, it leaves a marker file named after its pid for CSVHUB_DRAIN_SECONDS, during which every
worker still answers but /readyz says 503, so that load balancers take the server out of
rotation before it stops listening. Workers find the marker by their parent's pid: servers
sharing a data directory do not drain each other.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

from django.conf import settings


def marker_for(master_pid: int) -> Path:
    return Path(settings.DATA_DIR) / f"draining.{master_pid}"


def draining() -> bool:
    """Whether this process's server is draining (asked from a gunicorn worker)."""
    return marker_for(os.getppid()).exists()


def drain_begin(master_pid: int) -> None:
    """Mark the server as draining and wait CSVHUB_DRAIN_SECONDS (in gunicorn's master)."""
    marker_for(master_pid).touch()
    time.sleep(settings.CSVHUB_DRAIN_SECONDS)


def drain_end(master_pid: int) -> None:
    marker_for(master_pid).unlink(missing_ok=True)
