"""prometheus_client's multiprocess mode: one directory of memory-mapped files per server.

gunicorn workers and Celery pool processes each write their figures to files named after
their pid; whoever serves /metrics adds them up. A server wipes its directory when it starts
(figures of an earlier run would otherwise count again), and removes a dead process's live
gauges (its CPU and memory) when the process exits; its counters stay, so totals never go
backwards while the server runs.
"""

from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path

VARIABLE = "PROMETHEUS_MULTIPROC_DIR"


def directory_for(role: str) -> Path:
    """Where this server (role web or worker, this process its master) keeps its figures:
    PROMETHEUS_MULTIPROC_DIR when the operator set it, else `metrics/<role>-<pid>` in the data
    directory, so that servers sharing a data directory keep apart."""
    configured = os.environ.get(VARIABLE)
    if configured:
        return Path(configured)
    from django.conf import settings

    return Path(settings.DATA_DIR) / "metrics" / f"{role}-{os.getpid()}"


def enable(directory: Path, *, wipe: bool) -> None:
    """Switch this process, and the processes it forks, to multiprocess mode.

    Called by a server before it forks and before any metric exists (csvhub.metrics.definitions
    makes them on first use). prometheus_client picks its value class when it is first imported:
    if something imported it already, pick again.
    """
    if wipe:
        shutil.rmtree(directory, ignore_errors=True)
        _remove_dead_servers(directory.parent)
    directory.mkdir(mode=0o700, parents=True, exist_ok=True)
    os.environ[VARIABLE] = str(directory)
    if "prometheus_client.values" in sys.modules:
        from prometheus_client import values

        values.ValueClass = values.get_value_class()


def _remove_dead_servers(parent: Path) -> None:
    """Directories of servers that are gone (`<role>-<pid>` whose pid is not running)."""
    for directory in parent.glob("*-*"):
        pid = directory.name.rpartition("-")[2]
        if pid.isdigit() and not _running(int(pid)):
            shutil.rmtree(directory, ignore_errors=True)


def _running(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's process: not ours to judge
        return True
    return True


def enabled() -> bool:
    return bool(os.environ.get(VARIABLE))


def mark_dead(pid: int) -> None:
    """Drop the live gauges of a process that exited (gunicorn's child_exit, Celery's
    worker_process_shutdown)."""
    if enabled():
        from prometheus_client import multiprocess

        multiprocess.mark_process_dead(pid)
