"""`csvhub source_run <id>`: run one source now, as the "Run now" button does."""

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser


class Command(BaseCommand):
    help = "Fetch a source now and load what is new (refused while another run holds it)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("source_id")

    def handle(self, *args: Any, source_id: str, **options: Any) -> None:
        from csvhub.sources.errors import SourceError
        from csvhub.sources.models import Source
        from csvhub.sources.runs import source_run_now

        source = Source.objects.filter(pk=source_id).first()
        if source is None:
            raise CommandError(f"No source with id {source_id}.")
        try:
            run = source_run_now(source=source)
        except SourceError as error:
            raise CommandError(str(error)) from None
        self.stdout.write(f"run {run.id}: {run.state}")
