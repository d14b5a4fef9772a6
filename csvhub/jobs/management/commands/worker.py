"""`csvhub worker`: a Celery worker for CSVHUB_TASK_RUNNER=celery."""

from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandParser


class Command(BaseCommand):
    help = "Run a Celery worker that executes csvhub's background jobs."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--concurrency", type=int, default=2)

    def handle(self, *args: Any, concurrency: int, **options: Any) -> None:
        _serve_metrics()
        from csvhub.celery import app

        app.worker_main(
            ["worker", "--loglevel=INFO", f"--concurrency={concurrency}", "--queues=default"]
        )


def _serve_metrics() -> None:
    """Before the pool forks: its processes (which run the jobs, and sample themselves) write
    their figures to one directory, and the worker's own HTTP server
    (CSVHUB_WORKER_METRICS_BIND) shows them, with /healthz. This process writes no figures:
    a thread of its writing while the pool forks could leave a child holding a lock."""
    from csvhub.jobs.sweeper import sweeper_healthy
    from csvhub.metrics import multiprocess
    from csvhub.metrics.worker_server import serve_in_thread

    multiprocess.enable(multiprocess.directory_for("worker"), wipe=True)
    if settings.CSVHUB_WORKER_METRICS_BIND:
        serve_in_thread(settings.CSVHUB_WORKER_METRICS_BIND, sweeper_healthy)
