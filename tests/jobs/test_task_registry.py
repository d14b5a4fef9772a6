"""Every task runner runs csvhub's registered tasks only (the Celery worker: test_celery_worker)."""

from __future__ import annotations

import ast
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.tasks import task as django_task

import csvhub
from csvhub.jobs.registry import TASK_MODULES, UnregisteredTask, task, task_get

BACKENDS = ["csvhub.jobs.backends.ThreadBackend", "csvhub.jobs.backends.InlineBackend"]


@django_task
def touch(path: str) -> None:
    """A Django task that csvhub never registered."""
    Path(path).touch()


@task(priority=5)
def touch_registered(path: str) -> None:
    """A task registered with options, as `@task(...)`."""
    Path(path).touch()


@pytest.fixture(params=BACKENDS, ids=["thread", "inline"])
def runner(request, settings) -> str:
    settings.TASKS = {"default": {"BACKEND": request.param, "OPTIONS": {"threads": 1}}}
    return request.param


def _drain() -> None:
    from django.tasks import task_backends

    backend = task_backends["default"]
    if hasattr(backend, "wait"):
        backend.wait()


def test_runners_refuse_a_task_that_is_not_registered(runner, tmp_path):
    marker = tmp_path / "ran"
    with pytest.raises(UnregisteredTask, match="is not a registered csvhub task"):
        touch.enqueue(str(marker))
    _drain()
    assert not marker.exists()


def test_runners_run_a_task_registered_with_options(runner, tmp_path):
    marker = tmp_path / "ran"
    assert touch_registered.priority == 5
    assert task_get(touch_registered.module_path) is touch_registered
    touch_registered.enqueue(str(marker))
    _drain()
    assert marker.exists()


# A fresh interpreter sees only what Django's start-up registers, whatever ran before here.
REGISTERED_AT_START = """
import json, django
django.setup()
from csvhub.jobs.registry import task_get, task_names
print(json.dumps({"names": task_names(), "ingest": task_get(
    "csvhub.datasets.tasks.ingest_upload").name}))
"""


def test_csvhubs_own_tasks_are_registered_by_name(tmp_path):
    env = {key: value for key, value in os.environ.items() if not key.startswith("CSVHUB_")}
    env.update(DJANGO_SETTINGS_MODULE="csvhub.settings", CSVHUB_DATA_DIR=str(tmp_path))
    run = subprocess.run(
        [sys.executable, "-c", REGISTERED_AT_START],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert run.returncode == 0, run.stderr
    registered = json.loads(run.stdout)
    assert "csvhub.datasets.tasks.ingest_upload" in registered["names"]
    assert "csvhub.datasets.tasks.build_index" in registered["names"]
    assert registered["ingest"] == "ingest_upload"
    for module in TASK_MODULES:
        assert any(name.startswith(f"{module}.") for name in registered["names"]), module


def test_every_module_defining_tasks_is_imported_at_start():
    source = Path(csvhub.__file__).parent
    defining = {
        ".".join(path.relative_to(source.parent).with_suffix("").parts)
        for path in source.rglob("*.py")
        if _imports_task(path)
    }
    assert defining, "no module defines tasks: the search is wrong"
    assert defining == set(TASK_MODULES)


@pytest.mark.parametrize(
    "name",
    [
        "csvhub.csvread.child.subprocess",
        "subprocess.run",
        "os.system",
        "csvhub.datasets.ingest.upload_ingest",
        "tests.jobs.test_task_registry.touch",
        "",
    ],
)
def test_lookup_never_imports_what_it_is_asked_for(name):
    with pytest.raises(UnregisteredTask, match="is not a registered csvhub task"):
        task_get(name)


def _imports_task(path: Path) -> bool:
    """Whether the module says `from csvhub.jobs.registry import task` (however it wraps it)."""
    return any(
        isinstance(node, ast.ImportFrom)
        and node.module == "csvhub.jobs.registry"
        and any(alias.name == "task" for alias in node.names)
        for node in ast.walk(ast.parse(path.read_text()))
    )


def test_a_message_queued_under_a_moved_tasks_old_name_still_runs_it():
    """Index builds queued by the release before the move name csvhub.datasets.rows_tasks."""
    import csvhub.datasets.tasks
    from csvhub.jobs.registry import task_get

    moved = task_get("csvhub.datasets.rows_tasks.build_index")
    assert moved is csvhub.datasets.tasks.build_index


def test_the_thread_runner_has_one_pool_per_process_whatever_thread_queues(settings) -> None:
    """Django makes a backend object per thread; the job threads are the process's, so that
    OPTIONS["threads"] bounds the jobs one process runs (not threads x request threads)."""
    import threading

    from django.tasks import task_backends

    settings.TASKS = {"default": {"BACKEND": BACKENDS[0], "OPTIONS": {"threads": 1}}}
    pools = []

    def look() -> None:
        pools.append(task_backends["default"]._pool())

    others = [threading.Thread(target=look) for _ in range(3)]
    for thread in others:
        thread.start()
    for thread in others:
        thread.join()
    look()
    assert len(pools) == 4 and all(pool is pools[0] for pool in pools)
    assert pools[0]._max_workers == 1
    task_backends["default"].wait()
