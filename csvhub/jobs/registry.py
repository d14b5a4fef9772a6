"""The tasks csvhub runs in the background: registered where they are defined, found by name.

A Celery message names the task a worker should run. Workers look that name up here and never
import what a message names: whoever can write to the broker would otherwise run any callable
of the Python path on every worker (`subprocess.call`, `os.system`, ...). Every backend refuses
a task that is not registered, so the thread runner and Celery run the same set.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, overload

from django.tasks import Task
from django.tasks import task as django_task
from django.tasks.exceptions import InvalidTask

# Every module that defines tasks with `task` below. csvhub.jobs imports them all when Django
# starts, so every process (web, `csvhub worker`, scripts) knows the same names before the first
# message; tests/jobs/test_task_registry.py checks that none is missing.
TASK_MODULES = (
    "csvhub.datasets.tasks",
    "csvhub.sources.tasks",
    "csvhub.outbox.tasks",
    "csvhub.alarms.tasks",
    "csvhub.edits.tasks",
)

# Tasks that moved: messages queued by the release before the move still name the old path.
# Keep an entry for one release after the move.
MOVED = {
    "csvhub.datasets.rows_tasks.build_index": "csvhub.datasets.tasks.build_index",
}

# Looked up by name, so what each task takes is unknown here: callers check it (Task.call).
type AnyTask = Task[..., Any]

_tasks: dict[str, AnyTask] = {}


class UnregisteredTask(InvalidTask):
    """A task name (or a Task) that is not one of csvhub's registered tasks."""


@overload
def task[**P, R](function: Callable[P, R], /) -> Task[P, R]: ...
@overload
def task[**P, R](
    function: None = None, /, **options: Any
) -> Callable[[Callable[P, R]], Task[P, R]]: ...
def task[**P, R](
    function: Callable[P, R] | None = None, /, **options: Any
) -> Task[P, R] | Callable[[Callable[P, R]], Task[P, R]]:
    """Django's `@task` or `@task(priority=..., queue_name=...)`, also recorded in the registry
    under the task's module path."""
    if function is None:
        return lambda decorated: _register(django_task(decorated, **options))
    return _register(django_task(function, **options))


def _register[**P, R](created: Task[P, R]) -> Task[P, R]:
    _tasks[created.module_path] = created
    return created


def task_get(name: str) -> AnyTask:
    """The registered task called `name`; anything else raises UnregisteredTask."""
    found = _tasks.get(MOVED.get(name, name)) if isinstance(name, str) else None
    if found is None:
        raise UnregisteredTask(f"{name!r} is not a registered csvhub task.")
    return found


def task_check(candidate: AnyTask) -> None:
    """Refuse a Task whose function was not registered with `task` above."""
    if task_get(candidate.module_path).func is not candidate.func:
        raise UnregisteredTask(f"{candidate.module_path!r} is not a registered csvhub task.")


def task_names() -> list[str]:
    return sorted(_tasks)
