"""Reads of sources and their runs, always through a dataset of the caller's organization."""

from __future__ import annotations

from datetime import datetime
from uuid import UUID

from django.core.exceptions import ValidationError
from django.db.models import QuerySet

from csvhub.datasets.models import Dataset
from csvhub.sources.alarms import source_is_stale
from csvhub.sources.errors import SourceNotFound
from csvhub.sources.models import Run, Source
from csvhub.sources.secrets import SecretUnreadable, secret_open


def source_list(*, dataset: Dataset) -> QuerySet[Source]:
    return Source.objects.filter(dataset=dataset).select_related("dataset")


def source_get(*, dataset: Dataset, source_id: UUID | str) -> Source:
    try:
        return source_list(dataset=dataset).get(pk=source_id)
    except (Source.DoesNotExist, ValueError, ValidationError):
        raise SourceNotFound(f"No source with id {source_id} in {dataset.slug}.") from None


def run_list(*, source: Source) -> QuerySet[Run]:
    return Run.objects.filter(source=source).order_by("-started_at")


def source_last_run(source: Source) -> Run | None:
    return run_list(source=source).first()


def source_header_names(source: Source) -> list[str]:
    """The names of a URL source's headers (their values are never shown back)."""
    try:
        return sorted(secret_open(source.secret).get("headers", {}))
    except SecretUnreadable:
        return []


def source_has_credentials(source: Source) -> bool:
    return bool(source.secret)


def source_stale(source: Source, now: datetime) -> bool:
    return source_is_stale(source, now)
