"""`csvhub resume`: queue again the jobs that a crashed process left queued or running."""

from typing import Any

from django.core.management.base import BaseCommand


class Command(BaseCommand):
    help = "Queue again ingestion jobs left behind by a crash (safe to run at any time)."

    def handle(self, *args: Any, **options: Any) -> None:
        from csvhub.datasets.services import uploads_resume

        count = uploads_resume()
        self.stdout.write(f"{count} job(s) queued.")
