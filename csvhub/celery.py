"""The Celery application, for CSVHUB_TASK_RUNNER=celery.

Start a worker with `csvhub worker` (or `celery -A csvhub.celery worker`). Workers resume jobs
left behind by a crash when they start.
"""

from __future__ import annotations

import os
import threading

from celery import Celery, signals
from django.conf import settings

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "csvhub.settings")

# How often a worker looks for jobs whose worker died (their heartbeat went stale).
SWEEP_SECONDS = 30

app = Celery("csvhub")
app.conf.update(
    broker_url=settings.CSVHUB_BROKER_URL,
    task_default_queue="default",
    task_acks_late=True,  # a worker killed mid-job leaves the message for another worker
    task_reject_on_worker_lost=True,
    worker_prefetch_multiplier=1,
    task_ignore_result=True,
    broker_connection_retry_on_startup=True,
)


@app.task(name="csvhub.run_task")
def run_task(module_path: str, args: list, kwargs: dict) -> None:
    import django
    from django.utils.module_loading import import_string

    django.setup()
    import_string(module_path).call(*args, **kwargs)


@signals.worker_ready.connect
def _resume_jobs(**_kwargs) -> None:
    import django

    django.setup()
    from csvhub.datasets.services import uploads_resume

    uploads_resume()
    threading.Thread(target=_sweep_forever, name="csvhub-sweeper", daemon=True).start()


def _sweep_forever() -> None:
    """A worker killed mid-job leaves it 'running'; once its heartbeat is stale, queue it again."""
    import time

    from django.db import connections

    from csvhub.datasets.services import uploads_resume

    while True:
        time.sleep(min(SWEEP_SECONDS, settings.CSVHUB_JOB_STALE_SECONDS))
        try:
            uploads_resume(requeue_waiting=False)
        finally:
            connections.close_all()
