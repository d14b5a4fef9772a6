"""What an organization uses: stored bytes of original files, warehouse rows and bytes."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.db.models import F, OuterRef, Q, QuerySet, Subquery, Sum, Value

from csvhub.accounts.models import Organization
from csvhub.datasets.models import Dataset, Upload
from csvhub.warehouse.retention import table_bytes
from csvhub.warehouse.tables import table_exists


@dataclass(frozen=True)
class DatasetUsage:
    slug: str
    name: str
    stored_bytes: int  # its original files still in storage
    rows: int
    warehouse_bytes: int | None  # the engine's estimate of its table; None where unknown


@dataclass(frozen=True)
class Usage:
    stored_bytes: int
    rows: int
    warehouse_bytes: int | None
    datasets: list[DatasetUsage]


@dataclass(frozen=True)
class UsageSummary:
    """An organization's totals and quotas (None: unlimited), read in one query (the files
    page shows them on every visit)."""

    stored_bytes: int
    rows: int
    max_stored_bytes: int | None
    max_warehouse_rows: int | None
    max_upload_bytes: int | None


def usage_summary(organization: Organization) -> UsageSummary:
    def total(query: QuerySet[Any], field: str) -> Subquery:
        # SUM over the whole filtered set as a scalar subquery (a constant to group by).
        return Subquery(
            query.order_by()
            .annotate(group=Value(1))
            .values("group")
            .annotate(total=Sum(field))
            .values("total")[:1]
        )

    stored = total(
        Upload.objects.filter(dataset__organization=OuterRef("pk")).exclude(file=""), "size"
    )
    rows = total(Dataset.objects.filter(organization=OuterRef("pk")), "row_count")
    found = (
        Organization.objects.filter(pk=organization.pk)
        .annotate(
            stored=stored,
            rows=rows,
            max_stored_bytes=F("quota__max_stored_bytes"),
            max_warehouse_rows=F("quota__max_warehouse_rows"),
            max_upload_bytes=F("quota__max_upload_bytes"),
        )
        .values("stored", "rows", "max_stored_bytes", "max_warehouse_rows", "max_upload_bytes")
        .get()
    )
    return UsageSummary(
        stored_bytes=int(found["stored"] or 0),
        rows=int(found["rows"] or 0),
        max_stored_bytes=found["max_stored_bytes"],
        max_warehouse_rows=found["max_warehouse_rows"],
        max_upload_bytes=found["max_upload_bytes"],
    )


def stored_bytes(organization: Organization) -> int:
    """Bytes of the organization's original files still in storage (any upload state)."""
    found = (
        Upload.objects.filter(dataset__organization=organization)
        .exclude(file="")
        .aggregate(total=Sum("size"))["total"]
    )
    return int(found or 0)


def rows_stored(organization: Organization) -> int:
    found = Dataset.objects.filter(organization=organization).aggregate(total=Sum("row_count"))
    return int(found["total"] or 0)


def usage_of(organization: Organization, *, sizes: bool = True) -> Usage:
    """The organization's usage, per dataset; `sizes=False` skips asking the warehouse for
    table sizes (the files page, which shows totals only)."""
    kept = Q(uploads__file__gt="")
    datasets = [
        DatasetUsage(
            slug=dataset.slug,
            name=dataset.name,
            stored_bytes=int(dataset.stored or 0),
            rows=dataset.row_count,
            warehouse_bytes=_table_bytes(dataset) if sizes else None,
        )
        for dataset in Dataset.objects.filter(organization=organization)
        .annotate(stored=Sum("uploads__size", filter=kept))
        .order_by("name")
    ]
    known = [d.warehouse_bytes for d in datasets if d.warehouse_bytes is not None]
    return Usage(
        stored_bytes=sum(d.stored_bytes for d in datasets),
        rows=sum(d.rows for d in datasets),
        warehouse_bytes=sum(known) if sizes else None,
        datasets=datasets,
    )


def _table_bytes(dataset: Dataset) -> int | None:
    if not table_exists(table_name=dataset.table_name):
        return 0
    return table_bytes(table_name=dataset.table_name)
