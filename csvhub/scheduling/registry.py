"""The periodic jobs of csvhub, registered by the apps that own them.

    from csvhub.scheduling import every, cron, periodic

    @periodic("alarms.no_data_sweep", every(60))
    def no_data_sweep(now: datetime) -> None: ...

Register in a module your AppConfig.ready() imports, so every process knows the same jobs.
A job runs in the ticking thread: keep it short (a sweep, a claim) and enqueue a task
(csvhub.jobs) for heavy work. It receives the tick's `now`, so tests drive it with any clock.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from csvhub.scheduling.schedules import Schedule

type JobFunction = Callable[[datetime], None]


@dataclass(frozen=True)
class RegisteredJob:
    name: str
    schedule: Schedule
    function: JobFunction
    # How long a run may hold the job before another process may take it over (a crash).
    lease: timedelta


_jobs: dict[str, RegisteredJob] = {}


def periodic(
    name: str, schedule: Schedule, *, lease_seconds: int = 600
) -> Callable[[JobFunction], JobFunction]:
    """Register the decorated function as the periodic job `name` (unique, max 100 chars)."""

    def register(function: JobFunction) -> JobFunction:
        periodic_register(name, schedule, function, lease_seconds=lease_seconds)
        return function

    return register


def periodic_register(
    name: str, schedule: Schedule, function: JobFunction, *, lease_seconds: int = 600
) -> None:
    """Register (or, reloading the same module, replace) the periodic job `name`."""
    if len(name) > 100:
        raise ValueError(f"periodic job name {name!r} is longer than 100 characters")
    _jobs[name] = RegisteredJob(name, schedule, function, timedelta(seconds=lease_seconds))


def periodic_unregister(name: str) -> None:
    """Forget a job (tests register their own and remove them afterwards)."""
    _jobs.pop(name, None)


def periodic_jobs() -> list[RegisteredJob]:
    return [_jobs[name] for name in sorted(_jobs)]
