"""`csvhub worker`: a Celery worker for CSVHUB_TASK_RUNNER=celery."""

from django.core.management.base import BaseCommand


class Command(BaseCommand):
    help = "Run a Celery worker that executes csvhub's background jobs."

    def add_arguments(self, parser) -> None:
        parser.add_argument("--concurrency", type=int, default=2)

    def handle(self, *args, concurrency: int, **options) -> None:
        from csvhub.celery import app

        app.worker_main(
            ["worker", "--loglevel=INFO", f"--concurrency={concurrency}", "--queues=default"]
        )
