"""`csvhub worker`: a Celery worker for CSVHUB_TASK_RUNNER=celery."""

from typing import Any

from django.core.management.base import BaseCommand, CommandParser


class Command(BaseCommand):
    help = "Run a Celery worker that executes csvhub's background jobs."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--concurrency", type=int, default=2)

    def handle(self, *args: Any, concurrency: int, **options: Any) -> None:
        from csvhub.celery import app

        app.worker_main(
            ["worker", "--loglevel=INFO", f"--concurrency={concurrency}", "--queues=default"]
        )
