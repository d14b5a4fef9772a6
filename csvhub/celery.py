"""The Celery application, for CSVHUB_TASK_RUNNER=celery.

Start a worker with `csvhub worker` (or `celery -A csvhub.celery worker`). Workers resume jobs
left behind by a crash when they start.
"""

from __future__ import annotations

import logging
import os
from typing import Any

from celery import Celery, signals
from django.conf import settings

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "csvhub.settings")

logger = logging.getLogger(__name__)

app = Celery("csvhub")
app.conf.update(
    broker_url=settings.CSVHUB_BROKER_URL,
    task_default_queue="default",
    task_acks_late=True,  # a worker killed mid-job leaves the message for another worker
    task_reject_on_worker_lost=True,
    worker_prefetch_multiplier=1,
    task_ignore_result=True,
    broker_connection_retry_on_startup=True,
    # JSON only: a pickled message would run code while it is decoded.
    task_serializer="json",
    accept_content=["json"],
    # Django's LOGGING writes the worker's log to stderr. With Celery's root-logger hijack and
    # stdout/stderr redirection, the handler Django configures again in each django.setup()
    # wrote into Celery's redirect, and every line after start-up (refusals too) was lost.
    # So `--logfile` is ignored: Django's LOGGING decides where the log goes (stderr by default).
    worker_hijack_root_logger=False,
    worker_redirect_stdouts=False,
    # No remote control: anyone who can write to the broker could otherwise shut workers down,
    # cancel jobs or change their pools (`celery control ...`). csvhub never uses it.
    worker_enable_remote_control=False,
)


@app.task(name="csvhub.run_task")
def run_task(module_path: str, args: list[Any], kwargs: dict[str, Any]) -> None:
    """Run the registered csvhub task named `module_path`; refuse (and log) any other name."""
    import django
    from django.apps import apps

    if not apps.ready:  # `celery -A csvhub.celery worker`; `csvhub worker` has set Django up
        django.setup()
    from csvhub.jobs.registry import UnregisteredTask, task_get

    try:
        task = task_get(module_path)
    except UnregisteredTask:
        # Only someone writing to the broker by hand sends such a message: say so, run nothing.
        logger.error("Refused a message naming %r: not a registered csvhub task.", module_path)
        return
    task.call(*args, **kwargs)


@signals.worker_ready.connect
def _resume_jobs(**_kwargs: object) -> None:
    import django

    django.setup()
    from csvhub.datasets.services import uploads_resume
    from csvhub.jobs.sweeper import start_sweeper

    uploads_resume()
    # Every worker ticks the periodic jobs; the claim in the database lets one fire each run.
    from csvhub.scheduling.ticks import scheduler_start

    scheduler_start()
    start_sweeper()


@signals.worker_process_init.connect
def _sample_pool_process(**_kwargs: object) -> None:
    from csvhub.metrics.process import start_sampler

    start_sampler("worker")


@signals.worker_process_shutdown.connect
def _pool_process_gone(pid: int | None = None, **_kwargs: object) -> None:
    from csvhub.metrics.multiprocess import mark_dead

    mark_dead(pid or os.getpid())
