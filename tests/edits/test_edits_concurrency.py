"""Edits against uploads and crashes, on every warehouse: an edit and an upload of one dataset
at once lose nothing; a worker killed mid-edit leaves the dataset as it was and the job then
runs once; summaries stay equal to a full recount."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from datetime import timedelta

import pytest
from django.conf import settings as django_settings
from django.db import connection
from django.utils import timezone

from csvhub.datasets.models import Dataset
from csvhub.edits import runs, services
from csvhub.edits.models import Edit
from csvhub.edits.selections import Selection, selection_parse
from csvhub.warehouse import edits as warehouse_edits
from csvhub.warehouse.tables import table_row_count
from tests.datasets.pipeline import upload
from tests.edits.helpers import column, edit

pytestmark = pytest.mark.django_db(transaction=True)


def _numbers(count: int) -> str:
    return "n,amount,day\n" + "".join(
        f"{i},{i % 97}.5,2020-01-{i % 28 + 1:02d}\n" for i in range(1, count + 1)
    )


def _in_thread(work: Callable[[], None], errors: list[BaseException]) -> threading.Thread:
    def run() -> None:
        try:
            work()
        except BaseException as error:  # reported by the test
            errors.append(error)
        finally:
            connection.close()

    return threading.Thread(target=run)


def _recounted(dataset: Dataset) -> warehouse_edits.TableSummary:
    return warehouse_edits.table_summary(
        table_name=dataset.table_name,
        fields=dataset.schema.columns,
        columns=dataset.schema.names,
    )


def _assert_summaries_exact(dataset: Dataset) -> None:
    dataset.refresh_from_db()
    recount = _recounted(dataset)
    assert dataset.row_count == recount.row_count == table_row_count(table_name=dataset.table_name)
    assert (dataset.first_row_id, dataset.last_row_id) == (
        recount.first_row_id,
        recount.last_row_id,
    )
    for name, stats in recount.stats.items():
        mine = dataset.schema.stats_of(name)
        assert (mine.nulls, mine.non_null) == (stats.nulls, stats.non_null), name
        assert mine.bounds(dataset.schema.column(name).type) == stats.bounds(
            dataset.schema.column(name).type
        ), name


def test_edit_and_upload_at_once_lose_nothing(org, editor, warehouse) -> None:
    content = _numbers(30_000)
    dataset = Dataset.objects.get(pk=upload(org, "big.csv", content).dataset_id)
    errors: list[BaseException] = []
    start = threading.Barrier(2)

    def append() -> None:
        start.wait()
        assert upload(org, "big.csv", content, dataset=dataset.slug).state == "succeeded"

    def change() -> None:
        start.wait()
        services.edit_create(
            dataset=Dataset.objects.get(pk=dataset.pk),
            user=None,
            selection=selection_parse(params=[("n", "lte:10000")]),
            action={"set": {"amount": "1000"}},
        )

    threads = [_in_thread(append, errors), _in_thread(change, errors)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors, errors
    changed = warehouse_edits.edit_preview(
        warehouse_edits.EditTarget(
            Selection(filters=selection_parse(params=[("amount", "1000")]).filters).row_set(
                Dataset.objects.get(pk=dataset.pk)
            )
        ),
        samples=0,
    ).count
    # Serialized: the edit ran before the append (10,000 changed) or after it (20,000).
    assert changed in (10_000, 20_000)
    _assert_summaries_exact(dataset)
    assert Dataset.objects.get(pk=dataset.pk).row_count == 60_000


def test_updates_keep_summaries_equal_to_a_recount(org, editor, warehouse) -> None:
    dataset = Dataset.objects.get(pk=upload(org, "small.csv", _numbers(500)).dataset_id)
    steps = [
        ("n=lte:50", {"set": {"amount": {"multiply": "2"}}}),
        ("n=gt:450", {"set": {"amount": None, "day": "2031-01-01"}}),
        ("amount=lt:3", {"set": {"amount": "0.5"}}),
        ("n=gte:100&n=lte:120", {"delete": True}),
        ("", {"set": {"n": {"add": 1}}}),
    ]
    for query, action in steps:
        answer = edit(editor, dataset, {"filter": query, "action": action})
        assert answer.status_code == 201, answer.json()
        _assert_summaries_exact(dataset)


def test_killed_worker_leaves_dataset_as_it_was_and_the_job_runs_once(
    org, editor, warehouse, settings, tmp_path
) -> None:
    if warehouse == "duckdb":
        pytest.skip("DuckDB is opened by one process only: no second process runs the edit")
    rows = 200_000
    dataset = Dataset.objects.get(pk=upload(org, "big.csv", _numbers(rows)).dataset_id)
    settings.TASKS = {"default": {"BACKEND": "django.tasks.backends.dummy.DummyBackend"}}
    settings.CSVHUB_EDIT_INLINE_ROWS = 0
    queued = services.edit_create(
        dataset=dataset,
        user=None,
        selection=Selection(),
        action={"set": {"n": {"add": 1_000_000}}},
    )
    assert queued.state == "queued"
    worker = _edit_worker(queued.id, settings, tmp_path)
    try:
        _wait_for(lambda: Edit.objects.get(pk=queued.pk).rows_done > 0 or worker.poll() is not None)
        assert worker.poll() is None, "the edit finished before it could be killed"
        os.killpg(worker.pid, signal.SIGKILL)
        worker.wait(timeout=30)
    finally:
        if worker.poll() is None:
            os.killpg(worker.pid, signal.SIGKILL)
    assert Edit.objects.get(pk=queued.pk).state == "running"
    assert column(editor, dataset, "n")[:3] == [1, 2, 3]
    assert warehouse_edits.journal_cells(edit_id=queued.id) == 0
    _assert_summaries_exact(dataset)
    # Its heartbeat goes stale: the next worker runs it again, from the start, once.
    Edit.objects.filter(pk=queued.pk).update(heartbeat_at=timezone.now() - timedelta(hours=1))
    runs.edit_run(edit_id=queued.id)
    finished = Edit.objects.get(pk=queued.pk)
    assert (finished.state, finished.rows_affected, finished.attempts) == ("succeeded", rows, 2)
    assert column(editor, dataset, "n")[:3] == [1_000_001, 1_000_002, 1_000_003]
    _assert_summaries_exact(dataset)


def _edit_worker(edit_id: int, settings, tmp_path) -> subprocess.Popen:
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "csvhub.settings",
        "CSVHUB_DATA_DIR": str(django_settings.DATA_DIR),
        "CSVHUB_DATABASE_URL": f"sqlite:///{connection.settings_dict['NAME']}",
        "CSVHUB_WAREHOUSE_URL": settings.CSVHUB_WAREHOUSE_URL,
        "CSVHUB_EDIT_CHUNK_ROWS": "1000",
    }
    code = (
        "import django; django.setup(); from csvhub.edits.runs import edit_run; "
        f"edit_run(edit_id={edit_id})"
    )
    return subprocess.Popen(
        [sys.executable, "-c", code],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=(tmp_path / "worker.log").open("wb"),
        start_new_session=True,
    )


def _wait_for(predicate: Callable[[], bool], timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.05)
    raise AssertionError("timed out")


def test_an_edit_taken_over_is_published_once_by_its_new_attempt(
    org, editor, warehouse, settings
) -> None:
    """A worker thought dead (its heartbeat stale) whose edit another worker then ran writes
    nothing more: no second publish (which would merge its changed cells' stats twice), no
    failure over the new attempt's success."""
    dataset = Dataset.objects.get(pk=upload(org, "small.csv", _numbers(20)).dataset_id)
    settings.TASKS = {"default": {"BACKEND": "django.tasks.backends.dummy.DummyBackend"}}
    settings.CSVHUB_EDIT_INLINE_ROWS = 0
    queued = services.edit_create(
        dataset=dataset, user=None, selection=Selection(), action={"set": {"n": {"add": 100}}}
    )
    first = runs.edit_claim(queued.id)
    assert first is not None
    Edit.objects.filter(pk=queued.pk).update(state="queued")  # the sweeper revived it

    runs.edit_run(edit_id=queued.id)  # attempt 2 applies and publishes
    runs.edit_execute(first)  # attempt 1 wakes up: finds the edit applied, publishes nothing
    runs.edit_fail(first, "late failure")

    finished = Edit.objects.get(pk=queued.pk)
    assert (finished.state, finished.attempts, finished.error) == ("succeeded", 2, "")
    assert column(editor, dataset, "n")[:3] == [101, 102, 103]
    _assert_summaries_exact(dataset)
