"""Periodic jobs: a registry (csvhub.scheduling.registry), schedules (interval or cron in a
time zone) and a tick that claims each due occurrence in the database so that one process runs it.

Where it ticks: inside `csvhub serve` with the embedded thread runner (no extra process), and
inside every `csvhub worker` with Celery (no beat process: the database claim makes one worker
fire each occurrence). See docs/decisions.md.
"""

from csvhub.scheduling.registry import periodic, periodic_register, periodic_unregister
from csvhub.scheduling.schedules import Cron, Every, InvalidSchedule, Schedule, cron, every

__all__ = [
    "Cron",
    "Every",
    "InvalidSchedule",
    "Schedule",
    "cron",
    "every",
    "periodic",
    "periodic_register",
    "periodic_unregister",
]
