"""`csvhub ingest PATH [--dataset SLUG]`: load a file through the same pipeline as the API."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from django.core.files import File
from django.core.management.base import BaseCommand, CommandError, CommandParser
from tqdm import tqdm

from csvhub.accounts.models import Organization
from csvhub.datasets import services
from csvhub.datasets.errors import DatasetError
from csvhub.datasets.models import Upload


class Command(BaseCommand):
    help = "Upload a CSV file and wait for its ingestion, with a progress bar."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("path", type=Path)
        parser.add_argument("--dataset", help="append to this dataset (slug)")
        parser.add_argument("--org", help="organization slug (needed when there are several)")

    def handle(
        self, *args: Any, path: Path, dataset: str | None, org: str | None, **options: Any
    ) -> None:
        if not path.is_file():
            raise CommandError(f"{path} is not a file.")
        organization = _organization(org)
        with path.open("rb") as handle:
            try:
                (upload,) = services.uploads_create(
                    organization=organization,
                    files=[File(handle, name=path.name)],
                    dataset_slug=dataset,
                )
            except DatasetError as exc:
                raise CommandError(str(exc)) from None
        upload = self._follow(upload)
        if upload.state != "succeeded":
            raise CommandError(f"Ingestion failed: {upload.error}")
        self.stdout.write(
            f"{upload.rows_loaded:,} rows loaded into {upload.dataset.slug}, "
            f"{upload.rows_rejected:,} rejected."
        )
        self.stdout.write(f"Read as {upload.encoding}: {upload.encoding_reason}.")

    def _follow(self, upload: Upload) -> Upload:
        with tqdm(total=upload.size, unit="B", unit_scale=True, desc=upload.original_name) as bar:
            while True:
                upload.refresh_from_db()
                bar.update(upload.bytes_read - bar.n)
                bar.set_postfix(rows=f"{upload.rows_loaded:,}", state=upload.state)
                if upload.is_finished:
                    return upload
                time.sleep(0.5)


def _organization(slug: str | None) -> Organization:
    if slug:
        try:
            return Organization.objects.get(slug=slug)
        except Organization.DoesNotExist:
            raise CommandError(f"No organization with slug {slug!r}.") from None
    organizations = list(Organization.objects.all()[:2])
    if len(organizations) == 1:
        return organizations[0]
    if not organizations:
        return Organization.objects.create(slug="default", name="Default")
    raise CommandError("There are several organizations: choose one with --org.")
