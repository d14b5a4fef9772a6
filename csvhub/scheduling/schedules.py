"""When a periodic job is due: a fixed interval, or a cron expression in a time zone.

Cron expressions are read by croniter (a well-kept library), never by a hand-written parser;
cron_descriptor turns them into a sentence for the UI.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Protocol
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from croniter import croniter


class InvalidSchedule(ValueError):
    """A cron expression, time zone or interval that cannot be used."""


class Schedule(Protocol):
    def next_after(self, moment: datetime) -> datetime:
        """The first time strictly after `moment` (aware) at which the job is due."""
        ...

    def describe(self) -> str:
        """The schedule in words, for people."""
        ...


@dataclass(frozen=True)
class Every:
    seconds: int

    def __post_init__(self) -> None:
        if self.seconds < 1:
            raise InvalidSchedule("An interval is at least 1 second.")

    def next_after(self, moment: datetime) -> datetime:
        return moment + timedelta(seconds=self.seconds)

    def describe(self) -> str:
        return f"Every {_duration(self.seconds)}"


@dataclass(frozen=True)
class Cron:
    expression: str
    time_zone: str = "UTC"

    def __post_init__(self) -> None:
        zone_check(self.time_zone)
        # Five fields only: croniter also takes a sixth (seconds) and `@yearly`-style names,
        # which other cron tools users copy expressions from would read differently.
        if len(self.expression.split()) != 5 or not croniter.is_valid(self.expression):
            raise InvalidSchedule(
                f"{self.expression!r} is not a cron expression of five fields "
                "(minute hour day-of-month month day-of-week), e.g. '0 3 * * *'."
            )

    def next_after(self, moment: datetime) -> datetime:
        # Iterating in the zone's wall clock makes "0 3 * * *" mean 03:00 local time across
        # daylight-saving changes; croniter handles the skipped and repeated hours.
        local = moment.astimezone(ZoneInfo(self.time_zone))
        following: datetime = croniter(self.expression, local).get_next(datetime)
        return following

    def describe(self) -> str:
        from cron_descriptor import get_description

        return f"{get_description(self.expression)} ({self.time_zone})"


def every(seconds: int) -> Every:
    return Every(seconds)


def cron(expression: str, time_zone: str = "UTC") -> Cron:
    return Cron(expression.strip(), time_zone)


def zone_check(name: str) -> None:
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise InvalidSchedule(f"{name!r} is not a known time zone (e.g. 'Europe/Paris').") from None


def _duration(seconds: int) -> str:
    for unit, size in (("day", 86400), ("hour", 3600), ("minute", 60)):
        if seconds % size == 0:
            count = seconds // size
            return unit if count == 1 else f"{count} {unit}s"
    return "second" if seconds == 1 else f"{seconds} seconds"
