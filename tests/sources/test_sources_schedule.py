"""Sources on their schedule: due runs start from the scheduler's tick with a controllable
clock; two schedulers never run one source twice at once; a run killed mid-download leaves
nothing loaded and the next run takes the file."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from datetime import UTC, timedelta

import pytest
from django.conf import settings as django_settings
from django.db import connection
from django.utils import timezone

from csvhub.datasets.models import Upload
from csvhub.scheduling.ticks import tick
from csvhub.sources.models import Run, RunState, Source, SourceFile
from csvhub.sources.runs import sources_dispatch
from csvhub.warehouse.tables import table_exists
from tests.sources.feeds import Feed
from tests.sources.helpers import CSV_V1, CSV_V2, dataset_make, rows_of, source_add

pytestmark = pytest.mark.usefixtures("loopback_allowed")


def test_cron_source_runs_when_due_by_the_schedulers_clock(world, api_as, feeds):
    dataset = dataset_make(world)
    feeds.feeds["/nightly.csv"] = feed = Feed(body=CSV_V1)
    source = source_add(
        api_as("editor"), dataset, kind="url", url=feeds.url("/nightly.csv"),
        every_seconds=None, cron="0 3 * * *", time_zone="Europe/Paris",
    )  # fmt: skip
    due = Source.objects.get(pk=source["id"]).next_run_at
    assert due.astimezone(UTC).hour in (1, 2)  # 03:00 in Paris
    assert sources_dispatch(now=due - timedelta(seconds=1)) == []
    (run,) = sources_dispatch(now=due)
    run.refresh_from_db()
    assert (run.trigger, run.state, run.rows) == ("schedule", RunState.SUCCEEDED, 2)
    following = Source.objects.get(pk=source["id"]).next_run_at
    assert following - due == timedelta(days=1)
    feed.set(CSV_V2)
    assert sources_dispatch(now=due + timedelta(hours=1)) == []  # not due again yet
    sources_dispatch(now=following)
    assert rows_of(dataset) == 5


def test_scheduler_tick_dispatches_due_sources(world, api_as, feeds):
    dataset = dataset_make(world)
    feeds.feeds["/hourly.csv"] = Feed(body=CSV_V1)
    source_add(api_as("editor"), dataset, kind="url", url=feeds.url("/hourly.csv"))
    now = timezone.now()
    tick(now=now, names=["sources.dispatch"])  # plans the dispatcher
    assert tick(now=now + timedelta(hours=2), names=["sources.dispatch"]) == ["sources.dispatch"]
    assert rows_of(dataset) == 2


def test_paused_source_is_not_dispatched(world, api_as, feeds):
    dataset = dataset_make(world)
    feeds.feeds["/x.csv"] = Feed(body=CSV_V1)
    api = api_as("editor")
    source = source_add(api, dataset, kind="url", url=feeds.url("/x.csv"))
    api.patch(
        f"/api/v1/datasets/{dataset.slug}/sources/{source['id']}/",
        {"enabled": False},
        format="json",
    )
    assert sources_dispatch(now=timezone.now() + timedelta(days=2)) == []


@pytest.mark.django_db(transaction=True)
def test_two_schedulers_dispatching_together_run_the_source_once(world, api_as, feeds):
    dataset = dataset_make(world)
    feeds.feeds["/x.csv"] = Feed(body=CSV_V1)
    source_add(api_as("editor"), dataset, kind="url", url=feeds.url("/x.csv"))
    later = timezone.now() + timedelta(hours=2)
    barrier = threading.Barrier(3)
    started: list[int] = []
    errors: list[BaseException] = []

    def scheduler() -> None:
        try:
            barrier.wait()
            started.append(len(sources_dispatch(now=later)))
        except BaseException as error:
            errors.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=scheduler) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors
    assert sorted(started) == [0, 0, 1]
    assert Run.objects.count() == 1 and Upload.objects.count() == 1
    assert rows_of(dataset) == 2


@pytest.mark.django_db(transaction=True)
def test_run_killed_mid_download_loads_nothing_and_next_run_takes_the_file(
    world, api_as, feeds, settings, tmp_path
):
    dataset = dataset_make(world)
    body = CSV_V1 + b"".join(f"{i},name {i}\n".encode() for i in range(10, 5000))
    feeds.feeds["/big.csv"] = feed = Feed(body=body, stall_after=len(body) // 2)
    source = source_add(api_as("editor"), dataset, kind="url", url=feeds.url("/big.csv"))
    process = _source_run_process(source["id"], settings, tmp_path)
    try:
        _wait_for(lambda: any(path == "/big.csv" for path, _ in feeds.requests))
        time.sleep(0.5)  # the first half is on its way into the temporary file
        assert process.poll() is None, (tmp_path / "run.log").read_text()
    finally:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=30)
    assert Run.objects.get().state == RunState.RUNNING  # nobody finished it
    assert not Upload.objects.exists() and not SourceFile.objects.exists()
    assert not table_exists(table_name=dataset.table_name)

    feed.stall_after = None
    feed.release.set()
    lease_over = timezone.now() + timedelta(seconds=settings.CSVHUB_SOURCE_LEASE_SECONDS + 3600)
    (run,) = sources_dispatch(now=lease_over)
    run.refresh_from_db()
    assert (run.state, run.rows) == (RunState.SUCCEEDED, 4992)
    dead = Run.objects.exclude(pk=run.pk).get()
    assert dead.state == RunState.FAILED and "stopped" in dead.error
    assert rows_of(dataset) == 4992


def _source_run_process(source_id: str, settings, tmp_path) -> subprocess.Popen:
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "csvhub.settings",
        "CSVHUB_DATA_DIR": str(django_settings.DATA_DIR),
        "CSVHUB_DATABASE_URL": f"sqlite:///{connection.settings_dict['NAME']}",
        "CSVHUB_WAREHOUSE_URL": settings.CSVHUB_WAREHOUSE_URL,
        "CSVHUB_STORAGE_URL": "file://" + settings.STORAGES["default"]["OPTIONS"]["location"],
        "CSVHUB_TASK_RUNNER": "immediate",
        "CSVHUB_SOURCE_ALLOWED_HOSTS": "127.0.0.1",
    }
    return subprocess.Popen(
        [sys.executable, "-m", "csvhub", "source_run", str(source_id)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=open(tmp_path / "run.log", "wb"),
        start_new_session=True,
    )


def _wait_for(predicate, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.05)
