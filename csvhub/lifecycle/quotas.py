"""Quotas per organization: refuse an upload before anything is stored, and a load before it
commits, when it would take the organization past a limit.

Rows are checked at the load's commit (datasets' `rows_loading` signal, inside the warehouse
transaction): the check takes the organization's quota lock (an UPDATE of its Quota row), counts
the rows of its datasets plus the rows other loads have reserved, and reserves this load's. A
reservation counts until the upload's publish adds its rows to the dataset's count (same
transaction that marks it succeeded) or the upload fails, so two loads committing at once can
never together pass a limit that each alone would fit.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from django.db import transaction
from django.db.models import Sum
from django.dispatch import receiver
from django.utils import timezone

from csvhub.accounts.models import Organization
from csvhub.datasets.models import Dataset, Upload, UploadMode, UploadState
from csvhub.datasets.signals import rows_loading, upload_arriving, upload_recording
from csvhub.lifecycle.errors import (
    RowsQuotaExceeded,
    StoredBytesQuotaExceeded,
    UploadQuotaExceeded,
)
from csvhub.lifecycle.models import Quota, RowsReservation
from csvhub.lifecycle.usage import rows_stored, stored_bytes

_FREE_UP = (
    "Delete datasets or files you no longer need (see GET /api/v1/usage/ for what takes the "
    "room), or ask an operator to raise the quota."
)


def quota_of(organization: Organization) -> Quota:
    """The organization's quota; an unsaved one (everything unlimited) when none is set."""
    found = Quota.objects.filter(organization=organization).first()
    return found or Quota(organization=organization)


def check_upload(organization: Organization, sizes: Sequence[int]) -> None:
    """Refuse files that would pass the upload size or stored bytes quota, or any upload when
    the warehouse rows quota is already used up; nothing is stored yet when this runs."""
    quota = quota_of(organization)
    if quota.max_upload_bytes is not None:
        for size in sizes:
            if size > quota.max_upload_bytes:
                raise UploadQuotaExceeded(
                    f"This file is {size:,} bytes; {organization.name}'s largest upload is "
                    f"{quota.max_upload_bytes:,} bytes (its quota). Split the file, or ask an "
                    "operator to raise the quota."
                )
    if quota.max_stored_bytes is not None:
        _stored_check(organization, quota.max_stored_bytes, sum(sizes))
    if quota.max_warehouse_rows is not None:
        _rows_check(organization, quota.max_warehouse_rows, rows_in_use(organization), 1)


def check_rows(organization: Organization, adding: int) -> None:
    """Refuse (RowsQuotaExceeded, a 409) `adding` rows that would take the organization past its
    warehouse rows quota. Takes the organization's quota lock: call it inside the transaction
    that commits the rows' count, so concurrent writers are checked one after the other."""
    quota = _locked_quota(organization)
    if quota is None or quota.max_warehouse_rows is None or adding <= 0:
        return
    _rows_check(organization, quota.max_warehouse_rows, rows_in_use(organization), adding)


def rows_in_use(organization: Organization, *, besides: Upload | None = None) -> int:
    """The organization's rows in the warehouse, and those loads are committing now."""
    live = RowsReservation.objects.filter(
        organization=organization, upload__state__in=(UploadState.QUEUED, UploadState.RUNNING)
    )
    if besides is not None:
        live = live.exclude(upload=besides)
    reserved = live.aggregate(total=Sum("rows"))["total"] or 0
    return rows_stored(organization) + int(reserved)


def _stored_check(organization: Organization, limit: int, adding: int) -> None:
    used = stored_bytes(organization)
    if used + adding > limit:
        raise StoredBytesQuotaExceeded(
            f"{organization.name} stores {used:,} bytes of original files; this upload of "
            f"{adding:,} bytes would pass its quota of {limit:,} bytes. " + _FREE_UP
        )


def upload_record_check(*, upload: Upload) -> None:
    """The stored bytes quota again, in the transaction that records the upload and under the
    organization's quota lock: of uploads checked together before storing, the later ones see
    the earlier ones' files here and are refused (their file is then deleted)."""
    organization = Organization.objects.get(pk=upload.dataset.organization_id)
    quota = _locked_quota(organization)
    if quota is not None and quota.max_stored_bytes is not None:
        _stored_check(organization, quota.max_stored_bytes, upload.size)


def _rows_check(organization: Organization, limit: int, used: int, adding: int) -> None:
    if used + adding > limit:
        raise RowsQuotaExceeded(
            f"{organization.name} holds {used:,} rows in the warehouse; adding {adding:,} would "
            f"pass its quota of {limit:,} rows, so nothing was loaded. " + _FREE_UP
        )


def _locked_quota(organization: Organization) -> Quota | None:
    """The quota row, locked until the transaction ends (an UPDATE locks on every database)."""
    if not Quota.objects.filter(organization=organization).update(checked_at=timezone.now()):
        return None
    return Quota.objects.get(organization=organization)


def load_reserve(*, upload: Upload, rows: int) -> None:
    """Check and reserve a load's rows before its warehouse commit (see the module docstring)."""
    dataset = upload.dataset
    organization = Organization.objects.get(pk=dataset.organization_id)
    with transaction.atomic():
        quota = _locked_quota(organization)
        if quota is None or quota.max_warehouse_rows is None:
            return
        adding = rows - _rows_replaced(upload, dataset)
        used = rows_in_use(organization, besides=upload)
        if adding > 0:
            _rows_check(organization, quota.max_warehouse_rows, used, adding)
        RowsReservation.objects.update_or_create(
            upload=upload, defaults={"organization": organization, "rows": max(adding, 0)}
        )


def _rows_replaced(upload: Upload, dataset: Dataset) -> int:
    if upload.mode != UploadMode.REPLACE:
        return 0
    return Dataset.objects.filter(pk=dataset.pk).values_list("row_count", flat=True).first() or 0


def reservations_sweep() -> int:
    """Forget the reservations of finished uploads (they no longer count); returns how many."""
    finished = (UploadState.SUCCEEDED, UploadState.FAILED)
    deleted, _ = RowsReservation.objects.filter(upload__state__in=finished).delete()
    return deleted


@receiver(upload_arriving, dispatch_uid="lifecycle.quotas.upload")
def _on_upload_arriving(
    sender: Any, *, organization: Organization, sizes: Sequence[int], **kwargs: Any
) -> None:
    check_upload(organization, sizes)


@receiver(upload_recording, dispatch_uid="lifecycle.quotas.recording")
def _on_upload_recording(sender: Any, *, upload: Upload, **kwargs: Any) -> None:
    upload_record_check(upload=upload)


@receiver(rows_loading, dispatch_uid="lifecycle.quotas.rows")
def _on_rows_loading(sender: Any, *, upload: Upload, rows: int, **kwargs: Any) -> None:
    load_reserve(upload=upload, rows=rows)


QUOTA_FIELDS = ("max_stored_bytes", "max_warehouse_rows", "max_upload_bytes")


def quota_set(*, organization: Organization, changes: dict[str, int | None]) -> Quota:
    """Set some of the organization's limits (None: unlimited); the others stay."""
    unknown = sorted(set(changes) - set(QUOTA_FIELDS))
    if unknown:
        raise ValueError(f"unknown quota {', '.join(unknown)}; quotas: {', '.join(QUOTA_FIELDS)}")
    with transaction.atomic():
        quota, _ = Quota.objects.select_for_update().get_or_create(organization=organization)
        for name, value in changes.items():
            if value is not None and value < 0:
                raise ValueError(f"{name} is a number of bytes or rows, at least 0; not {value}.")
            setattr(quota, name, value)
        quota.save()
    return quota
