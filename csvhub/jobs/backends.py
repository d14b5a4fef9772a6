"""Django Tasks backends: in-process threads (embedded default) and Celery (several machines)."""

from __future__ import annotations

import logging
import os
import threading
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING, Any, ClassVar, Protocol, cast

from django.db import close_old_connections, connections
from django.tasks import Task, TaskResult, TaskResultStatus
from django.tasks.backends.immediate import ImmediateBackend
from django.utils.crypto import get_random_string

from csvhub.jobs.registry import task_check

logger = logging.getLogger(__name__)


# Every backend runs csvhub's registered tasks only (csvhub.jobs.registry), so a task that
# works with one runner works with the others, and nothing else runs with any of them.


class InlineBackend(ImmediateBackend):
    """Runs each task at once, in the caller (tests and scripts)."""

    def enqueue[**P, R](
        self, task: Task[P, R], args: list[Any], kwargs: dict[str, Any]
    ) -> TaskResult[P, R]:
        task_check(task)
        return super().enqueue(task, args, kwargs)


class ThreadBackend(ImmediateBackend):
    """Runs each task on a small thread pool inside the current process.

    Enqueueing returns at once; the job's own database row carries its progress and outcome,
    so results are not kept here.
    """

    supports_async_task = False
    # Read by code that must not import this module (csvhub.datasets.services: an import
    # cycle through csvhub.celery): its jobs run on threads of the process that queued them.
    runs_jobs_in_this_process = True

    def __init__(self, alias: str, params: dict[str, Any]) -> None:
        super().__init__(alias, params)
        self._threads = int(self.options.get("threads", 2))
        # Django makes one backend object per thread (task_backends is thread-local): the pool
        # is the process's, shared by every thread's backend of this configuration, so that
        # `threads` bounds the jobs a process runs at once.
        self._shared = _ProcessPools.of(alias, self._threads)

    def _pool(self) -> ThreadPoolExecutor:
        return self._shared.pool()

    def enqueue[**P, R](
        self, task: Task[P, R], args: list[Any], kwargs: dict[str, Any]
    ) -> TaskResult[P, R]:
        self.validate_task(task)
        task_check(task)
        result = _new_result(task, args, kwargs, self.alias)
        self._shared.waiting_add(1)
        self._pool().submit(self._run, result)
        return result

    def queue_depth(self) -> int:
        """Jobs this process has queued that no thread has started yet."""
        return self._shared.waiting

    if TYPE_CHECKING:
        # ImmediateBackend's own runner (private, so django-stubs leaves it out).
        def _execute_task(self, task_result: TaskResult[..., Any]) -> None: ...

    def _run(self, result: TaskResult[..., Any]) -> None:
        self._shared.waiting_add(-1)
        close_old_connections()
        try:
            self._execute_task(result)
            for error in result.errors:
                logger.error("task %s failed:\n%s", result.task.module_path, error.traceback)
        finally:
            connections.close_all()

    def wait(self, timeout: float | None = None) -> None:
        """Block until the process's queued work is done (tests and the `ingest` command)."""
        self._shared.drain()


class _ProcessPools:
    """The job thread pool of this process for one backend configuration, and how many of
    its jobs wait for a thread. A pool made before a fork (gunicorn's master) has no threads
    in the child: the child makes its own."""

    _lock = threading.Lock()
    _known: ClassVar[dict[tuple[str, int], _ProcessPools]] = {}

    def __init__(self, threads: int) -> None:
        self.threads = threads
        self.waiting = 0  # submitted, not yet started (csvhub_job_queue_depth)
        self._executor: ThreadPoolExecutor | None = None
        self._pid = os.getpid()

    @classmethod
    def of(cls, alias: str, threads: int) -> _ProcessPools:
        with cls._lock:
            return cls._known.setdefault((alias, threads), cls(threads))

    def pool(self) -> ThreadPoolExecutor:
        with self._lock:
            if self._pid != os.getpid():  # made before a fork: the parent's threads are not here
                self._executor, self.waiting, self._pid = None, 0, os.getpid()
            if self._executor is None:
                self._executor = ThreadPoolExecutor(self.threads, thread_name_prefix="csvhub-job")
            return self._executor

    def waiting_add(self, count: int) -> None:
        with self._lock:
            self.waiting += count

    def drain(self) -> None:
        with self._lock:
            executor, self._executor = self._executor, None
        if executor is not None:
            executor.shutdown(wait=True)


class CeleryBackend(ImmediateBackend):
    """Hands tasks to Celery workers through the broker (Redis or RabbitMQ).

    The message names the Django task by its module path; the worker looks the name up in the
    registry and runs the task with the same code as the thread backend (csvhub.celery.run_task).
    """

    supports_async_task = False

    def enqueue[**P, R](
        self, task: Task[P, R], args: list[Any], kwargs: dict[str, Any]
    ) -> TaskResult[P, R]:
        self.validate_task(task)
        task_check(task)
        from csvhub.celery import app

        result = _new_result(task, args, kwargs, self.alias)
        with app.connection_for_write(self.options["broker_url"]) as connection:
            app.send_task(
                "csvhub.run_task",
                args=[task.module_path, list(args), dict(kwargs)],
                task_id=result.id,
                queue=task.queue_name,
                connection=connection,
            )
        return result

    def queue_depth(self) -> int:
        """Messages waiting in the broker's default queue (every web process's, every
        worker's): the backlog no worker has taken yet."""
        from csvhub.celery import app

        with app.connection_for_read(self.options["broker_url"]) as connection:
            channel = cast(_DeclaringChannel, connection.default_channel)
            try:
                _name, messages, _consumers = channel.queue_declare(queue="default", passive=True)
            except connection.channel_errors:  # no worker has declared the queue yet
                return 0
        return int(messages)


class _DeclaringChannel(Protocol):
    """kombu's channels (AMQP's and the Redis transport's): a passive declare answers the
    queue's name, message count and consumer count (kombu's stubs leave it out)."""

    def queue_declare(self, *, queue: str, passive: bool) -> tuple[str, int, int]: ...


def _new_result[**P, R](
    task: Task[P, R], args: list[Any], kwargs: dict[str, Any], alias: str
) -> TaskResult[P, R]:
    return TaskResult(
        task=task,
        id=get_random_string(32),
        status=TaskResultStatus.READY,
        enqueued_at=None,
        started_at=None,
        last_attempted_at=None,
        finished_at=None,
        args=list(args),
        kwargs=dict(kwargs),
        backend=alias,
        errors=[],
        worker_ids=[],
    )
