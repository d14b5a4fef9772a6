"""Where the scheduler ticks, for real: the in-process ticking thread of `csvhub serve`, and
Celery workers (two of them: one run of a due source, not two)."""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import timedelta

import pytest
from django.utils import timezone

from csvhub.scheduling.models import PeriodicJob
from csvhub.scheduling.ticks import Ticker
from csvhub.sources.models import Run, RunState, Source
from tests.sources.feeds import Feed
from tests.sources.helpers import CSV_V1, dataset_make, source_add

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("loopback_allowed")]


def _due_source(world, api_as, feeds) -> str:
    """A source due now, and the dispatcher due now (as if planned by an earlier tick)."""
    dataset = dataset_make(world)
    feeds.feeds["/x.csv"] = Feed(body=CSV_V1)
    source = source_add(api_as("editor"), dataset, kind="url", url=feeds.url("/x.csv"))
    past = timezone.now() - timedelta(seconds=1)
    Source.objects.filter(pk=source["id"]).update(next_run_at=past)
    PeriodicJob.objects.create(
        name="sources.dispatch", schedule="Every 15 seconds", next_run_at=past
    )
    return str(source["id"])


def _wait_for(predicate: Callable[[], bool], timeout: float = 90) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.2)


def test_ticking_thread_runs_a_due_source(world, api_as, feeds):
    _due_source(world, api_as, feeds)
    ticker = Ticker(0.2).start()
    try:
        _wait_for(lambda: Run.objects.filter(state=RunState.SUCCEEDED).exists(), timeout=30)
    finally:
        ticker.stop(timeout=30)
    assert Run.objects.get().trigger == "schedule"


def test_two_celery_workers_run_a_due_source_once(world, api_as, feeds, celery_runner):
    _due_source(world, api_as, feeds)
    for _ in range(2):
        celery_runner(CSVHUB_SCHEDULER_SECONDS="1", CSVHUB_SOURCE_ALLOWED_HOSTS="127.0.0.1")
    _wait_for(lambda: Run.objects.filter(state=RunState.SUCCEEDED).exists())
    time.sleep(3)  # both workers have ticked a few times since
    assert Run.objects.count() == 1
    assert PeriodicJob.objects.get(name="sources.dispatch").last_finished_at is not None
