"""Reads of datasets and uploads, always scoped to one organization."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from django.core.exceptions import ValidationError
from django.db.models import Count, Prefetch, QuerySet, Sum

from csvhub.accounts.models import Organization
from csvhub.datasets.errors import DatasetNotFound
from csvhub.datasets.models import Dataset, Reject, Upload, UploadState
from csvhub.warehouse import indexes as warehouse_indexes


def dataset_list(*, organization: Organization) -> QuerySet[Dataset]:
    return (
        Dataset.objects.filter(organization=organization)
        .annotate(file_count=Count("uploads"), total_size=Sum("uploads__size"))
        .prefetch_related(Prefetch("uploads", queryset=Upload.objects.order_by("created_at")))
        .order_by("-created_at")
    )


def dataset_get(*, organization: Organization, slug: str) -> Dataset:
    """The dataset, or DatasetNotFound: another organization's dataset does not exist here."""
    try:
        return dataset_list(organization=organization).get(slug=slug)
    except Dataset.DoesNotExist:
        raise DatasetNotFound(f"No dataset with slug {slug!r}.") from None


def dataset_status(dataset: Dataset) -> str:
    """`empty`, `loading`, `ready` or `failed` (the latest upload failed and nothing loaded)."""
    states = [upload.state for upload in dataset.uploads.all()]
    if any(state in (UploadState.QUEUED, UploadState.RUNNING) for state in states):
        return "loading"
    if not states:
        return "empty"
    if states[-1] == UploadState.FAILED and not dataset.row_count:
        return "failed"
    return "ready"


def dataset_discardable(dataset: Dataset) -> bool:
    """True when the dataset holds nothing and never will without a new upload: it has
    uploads, all failed, and no rows (typically made by a first upload that was no CSV file)."""
    states = {upload.state for upload in dataset.uploads.all()}
    return states == {UploadState.FAILED} and not dataset.row_count


def upload_get(*, organization: Organization, upload_id: UUID | str) -> Upload:
    try:
        return Upload.objects.select_related("dataset").get(
            pk=upload_id, dataset__organization=organization
        )
    except (Upload.DoesNotExist, ValueError, ValidationError):
        raise DatasetNotFound(f"No upload with id {upload_id}.") from None


def upload_rejects(*, upload: Upload) -> QuerySet[Reject]:
    return upload.rejects.order_by("line")


def index_list(*, dataset: Dataset) -> list[dict[str, Any]]:
    return [
        index_json(info) for info in warehouse_indexes.index_list(table_name=dataset.table_name)
    ]


def index_json(info: warehouse_indexes.IndexInfo) -> dict[str, Any]:
    return {"name": info.name, "columns": list(info.columns), "status": info.status.value}
