"""Every task runner runs csvhub's registered tasks only (the Celery worker: test_celery_worker)."""

from __future__ import annotations

from pathlib import Path

import pytest
from django.tasks import task as django_task

from csvhub.jobs.registry import UnregisteredTask, task_get, task_names

BACKENDS = ["csvhub.jobs.backends.ThreadBackend", "csvhub.jobs.backends.InlineBackend"]


@django_task
def touch(path: str) -> None:
    """A Django task that csvhub never registered."""
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


def test_csvhubs_own_tasks_are_registered_by_name():
    names = task_names()
    assert "csvhub.datasets.tasks.ingest_upload" in names
    assert "csvhub.datasets.rows_tasks.build_index" in names
    assert task_get("csvhub.datasets.tasks.ingest_upload").name == "ingest_upload"


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
