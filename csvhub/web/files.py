"""The files page's reads: one page of datasets with their uploads, a cheap change marker, and
the progress of uploads still loading. Built on csvhub.datasets.selectors, always scoped to one
organization."""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from django.core.paginator import Page, Paginator
from django.db.models import Count, F, Max, OrderBy, Q, QuerySet

from csvhub.accounts.models import Organization
from csvhub.cleaning.selectors import upload_notes
from csvhub.datasets import selectors
from csvhub.datasets.models import Dataset, Upload, UploadState
from csvhub.schema import TypeChange
from csvhub.web.wording import ingest_error_text

PAGE_SIZE = 50
# Sort keys the files table offers, and the model expression behind each.
SORTS = {
    "name": F("name"),
    "size": F("total_size"),
    "rows": F("row_count"),
    "created": F("created_at"),
    "updated": F("updated_at"),
}
DEFAULT_SORT = "-updated"
ACTIVE = (UploadState.QUEUED, UploadState.RUNNING)
MAX_PROGRESS_UPLOADS = 200


# The files table shows a dataset's latest uploads; the dataset page shows them all.
UPLOADS_SHOWN = 5


@dataclass(frozen=True)
class FileRow:
    dataset: Dataset
    status: str
    uploads: list[Upload]
    uploads_hidden: int
    rows_rejected: int
    discardable: bool  # nothing in it but failed uploads: offer a one-click discard


@dataclass(frozen=True)
class FileTable:
    page: Page[Dataset]
    rows: list[FileRow]
    sort: str  # as given, e.g. "-size"
    query: str  # the name search

    @property
    def sort_key(self) -> str:
        return self.sort.lstrip("-")

    @property
    def descending(self) -> bool:
        return self.sort.startswith("-")


def sort_checked(sort: str | None) -> str:
    """The sort asked for when it is one the table offers, else the default."""
    if sort and sort.lstrip("-") in SORTS and sort.count("-") <= 1:
        return sort
    return DEFAULT_SORT


def file_table(
    *, organization: Organization, sort: str | None, query: str, page: str | int | None
) -> FileTable:
    """One page of the organization's datasets, each with its uploads prefetched."""
    sort = sort_checked(sort)
    query = query.strip()[:200]
    datasets = selectors.dataset_list(organization=organization)
    if query:
        datasets = datasets.filter(Q(name__icontains=query) | Q(slug__icontains=query))
    datasets = datasets.order_by(*_ordering(sort))
    shown = Paginator(datasets, PAGE_SIZE).get_page(page)
    return FileTable(page=shown, rows=[_row(d) for d in shown], sort=sort, query=query)


def _row(dataset: Dataset) -> FileRow:
    uploads = list(dataset.uploads.all())
    return FileRow(
        dataset=dataset,
        status=selectors.dataset_status(dataset),
        uploads=uploads[-UPLOADS_SHOWN:],
        uploads_hidden=max(len(uploads) - UPLOADS_SHOWN, 0),
        rows_rejected=sum(upload.rows_rejected for upload in uploads),
        discardable=selectors.dataset_discardable(dataset),
    )


def _ordering(sort: str) -> list[OrderBy]:
    expression = SORTS[sort.lstrip("-")]
    primary = (
        expression.desc(nulls_last=True)
        if sort.startswith("-")
        else expression.asc(nulls_last=True)
    )
    # Ties broken the same way every time so that pages never repeat or skip a dataset.
    return [primary, F("created_at").desc(), F("id").asc()]


def files_version(*, organization: Organization) -> str:
    """A short marker that changes when a dataset appears, disappears or changes, or an upload
    is added or finishes; not when a running upload merely makes progress (see
    uploads_progress). Two aggregate queries on indexed foreign keys."""
    datasets = Dataset.objects.filter(organization=organization).aggregate(
        count=Count("id"), updated=Max("updated_at")
    )
    uploads = Upload.objects.filter(dataset__organization=organization).aggregate(
        count=Count("id"),
        finished=Max("finished_at"),
        active=Count("id", filter=Q(state__in=ACTIVE)),
    )
    marker = repr(sorted(datasets.items())) + repr(sorted(uploads.items()))
    return hashlib.sha256(marker.encode()).hexdigest()[:16]


def uploads_progress(
    *, organization: Organization, upload_ids: Iterable[str] = ()
) -> list[dict[str, Any]]:
    """Progress of the named uploads, or of every upload still queued or running."""
    uploads: QuerySet[Upload] = Upload.objects.filter(dataset__organization=organization)
    ids = [value for value in upload_ids if _is_uuid(value)]
    uploads = uploads.filter(id__in=ids) if ids else uploads.filter(state__in=ACTIVE)
    uploads = uploads.select_related("dataset", "reading").order_by("created_at")
    return [upload_progress(upload) for upload in uploads[:MAX_PROGRESS_UPLOADS]]


def upload_progress(upload: Upload) -> dict[str, Any]:
    return {
        "id": str(upload.id),
        "dataset": upload.dataset.slug,
        "dataset_name": upload.dataset.name,
        "file_name": upload.original_name,
        "state": upload.state,
        "bytes_read": upload.bytes_read,
        "bytes_total": upload.size,
        "rows_loaded": upload.rows_loaded,
        "rows_rejected": upload.rows_rejected,
        "error": ingest_error_text(upload.error) if upload.error else "",
        "type_changes": [TypeChange.from_json(change).message for change in upload.type_changes],
        "reading_notes": upload_notes(upload) if upload.state == UploadState.SUCCEEDED else [],
    }


def _is_uuid(value: str) -> bool:
    try:
        uuid.UUID(value)
    except ValueError:
        return False
    return True


# A selection larger than this is a script, not a person ticking boxes.
MAX_SELECTED = 500


def selected_originals(
    *, organization: Organization, slugs: Iterable[str], upload_ids: Iterable[str]
) -> list[Upload]:
    """The uploads whose original files the selection names: every file of each chosen
    dataset, and each chosen file, once each, oldest first; only this organization's."""
    slugs = list(slugs)[:MAX_SELECTED]
    ids = [value for value in list(upload_ids)[:MAX_SELECTED] if _is_uuid(value)]
    chosen = Q(dataset__slug__in=slugs) | Q(id__in=ids)
    uploads = Upload.objects.filter(chosen, dataset__organization=organization).exclude(file="")
    return list(uploads.select_related("dataset").order_by("dataset__name", "created_at"))


def selected_datasets(*, organization: Organization, slugs: Iterable[str]) -> list[Dataset]:
    return list(
        Dataset.objects.filter(
            organization=organization, slug__in=list(slugs)[:MAX_SELECTED]
        ).order_by("name")
    )
