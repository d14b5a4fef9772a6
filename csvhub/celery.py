"""The Celery application, for CSVHUB_TASK_RUNNER=celery.

Start a worker with `csvhub worker` (or `celery -A csvhub.celery worker`). Workers resume jobs
left behind by a crash when they start.
"""

from __future__ import annotations

import os

from celery import Celery, signals

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "csvhub.settings")

app = Celery("csvhub")
app.conf.update(
    broker_url=os.environ.get("CSVHUB_BROKER_URL", "redis://127.0.0.1:6379/0"),
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
