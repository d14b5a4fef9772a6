"""CPU, memory and open files of each csvhub process, sampled by the process itself.

In multiprocess mode the process serving /metrics cannot see the others, so every web and
worker process writes its own figures every few seconds (`start_sampler`), and the serving
process samples itself once more when scraped.
"""

from __future__ import annotations

import logging
import threading
import time

from prometheus_client import ProcessCollector

from csvhub.metrics.definitions import metrics

logger = logging.getLogger(__name__)

SAMPLE_SECONDS = 5.0

_role = "web"


def sample() -> None:
    """Write this process's figures now (Linux: read from /proc/self; elsewhere nothing)."""
    figures = metrics()
    gauges = {
        "process_cpu_seconds": figures.process_cpu,
        "process_resident_memory_bytes": figures.process_resident,
        "process_virtual_memory_bytes": figures.process_virtual,
        "process_open_fds": figures.process_open_fds,
        "process_start_time_seconds": figures.process_start,
    }
    for family in ProcessCollector(registry=None).collect():
        gauge = gauges.get(family.name)
        if gauge is not None and family.samples:
            gauge.labels(_role).set(family.samples[0].value)


def start_sampler(role: str) -> None:
    """Sample this process as `role` (web, worker) now and every SAMPLE_SECONDS after."""
    global _role
    _role = role
    sample()
    threading.Thread(target=_sample_forever, name="csvhub-metrics", daemon=True).start()


def _sample_forever() -> None:
    while True:
        time.sleep(SAMPLE_SECONDS)
        try:
            sample()
        except OSError:  # /proc read failed once; the next sample tries again
            logger.warning("could not sample this process's resources", exc_info=True)
