"""Periodic jobs: interval and cron schedules driven by a controllable clock, and single flight
when several schedulers tick at the same moment."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from django.db import connection

from csvhub.scheduling import InvalidSchedule, cron, every, periodic_register, periodic_unregister
from csvhub.scheduling.models import PeriodicJob
from csvhub.scheduling.ticks import tick

T0 = datetime(2026, 3, 28, 12, 0, tzinfo=UTC)


@pytest.fixture
def calls() -> Iterator[list[datetime]]:
    seen: list[datetime] = []
    yield seen
    periodic_unregister("test.job")


def _register(schedule, calls: list[datetime]) -> None:
    periodic_register("test.job", schedule, calls.append)


@pytest.mark.django_db
def test_interval_job_runs_once_per_interval(calls):
    _register(every(60), calls)
    assert tick(now=T0, names=["test.job"]) == []  # first sight plans, does not run
    assert tick(now=T0 + timedelta(seconds=59), names=["test.job"]) == []
    assert tick(now=T0 + timedelta(seconds=60), names=["test.job"]) == ["test.job"]
    assert tick(now=T0 + timedelta(seconds=61), names=["test.job"]) == []
    assert calls == [T0 + timedelta(seconds=60)]


@pytest.mark.django_db
def test_missed_occurrences_run_once_not_once_each(calls):
    _register(every(60), calls)
    tick(now=T0, names=["test.job"])
    tick(now=T0 + timedelta(days=1), names=["test.job"])
    tick(now=T0 + timedelta(days=1, seconds=30), names=["test.job"])
    assert len(calls) == 1


@pytest.mark.django_db
def test_cron_runs_at_local_wall_clock_time_across_daylight_saving(calls):
    # Paris moves to summer time on 2026-03-29: 03:00 local is 02:00 UTC before, 01:00 after.
    _register(cron("0 3 * * *", "Europe/Paris"), calls)
    tick(now=T0, names=["test.job"])
    for hour in range(24 * 3):
        tick(now=T0 + timedelta(hours=hour, minutes=1), names=["test.job"])
    assert [moment.astimezone(UTC).strftime("%d %H") for moment in calls] == [
        "29 01",
        "30 01",
        "31 01",
    ]


@pytest.mark.django_db
def test_changed_schedule_is_planned_again(calls):
    _register(every(3600), calls)
    tick(now=T0, names=["test.job"])
    _register(every(60), calls)
    assert tick(now=T0 + timedelta(seconds=1), names=["test.job"]) == []
    assert tick(now=T0 + timedelta(seconds=61), names=["test.job"]) == ["test.job"]


@pytest.mark.django_db
def test_failing_job_records_its_error_and_runs_again_next_time():
    def fail(now: datetime) -> None:
        raise RuntimeError("boom")

    periodic_register("test.job", every(60), fail)
    try:
        tick(now=T0, names=["test.job"])
        assert tick(now=T0 + timedelta(seconds=60), names=["test.job"]) == ["test.job"]
        row = PeriodicJob.objects.get(name="test.job")
        assert row.last_error == "RuntimeError: boom" and row.running_until is None
        assert tick(now=T0 + timedelta(seconds=120), names=["test.job"]) == ["test.job"]
    finally:
        periodic_unregister("test.job")


@pytest.mark.django_db
def test_a_run_still_holding_its_lease_is_not_started_again(calls):
    _register(every(60), calls)
    tick(now=T0, names=["test.job"])
    # A process that died mid-run: its lease holds the job until it expires.
    PeriodicJob.objects.filter(name="test.job").update(running_until=T0 + timedelta(minutes=10))
    assert tick(now=T0 + timedelta(seconds=60), names=["test.job"]) == []
    assert tick(now=T0 + timedelta(minutes=10), names=["test.job"]) == ["test.job"]


@pytest.mark.django_db(transaction=True)
def test_two_schedulers_ticking_together_run_each_occurrence_once():
    calls: list[datetime] = []
    started = threading.Barrier(4)

    def slow(now: datetime) -> None:
        calls.append(now)

    periodic_register("test.job", every(60), slow)
    try:
        tick(now=T0, names=["test.job"])
        for step in range(1, 6):
            now = T0 + timedelta(seconds=60 * step)
            errors: list[BaseException] = []

            def scheduler(now: datetime = now, errors: list[BaseException] = errors) -> None:
                try:
                    started.wait()
                    tick(now=now, names=["test.job"])
                except BaseException as error:
                    errors.append(error)
                finally:
                    connection.close()

            threads = [threading.Thread(target=scheduler) for _ in range(4)]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join()
            assert not errors
        assert len(calls) == 5
    finally:
        periodic_unregister("test.job")


@pytest.mark.parametrize(
    "expression", ["", "* * *", "61 * * * *", "* * * * * *", "@daily", "0 3 * * mon-xyz"]
)
def test_bad_cron_expression_is_refused(expression):
    with pytest.raises(InvalidSchedule):
        cron(expression)


def test_unknown_time_zone_is_refused():
    with pytest.raises(InvalidSchedule):
        cron("0 3 * * *", "Mars/Olympus")


def test_schedules_describe_themselves():
    assert every(3600).describe() == "Every hour"
    assert every(90).describe() == "Every 90 seconds"
    assert cron("0 3 * * *", "Europe/Paris").describe() == "At 03:00 (Europe/Paris)"
