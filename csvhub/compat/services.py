"""Writes for the Simetric and Thena endpoints: both end in csvhub's own upload service, with
the target dataset chosen the way each system chose its table."""

from __future__ import annotations

import threading
import time
from uuid import UUID

from django.conf import settings
from django.core.files import File
from django.db import IntegrityError, transaction

from csvhub.accounts.models import Organization
from csvhub.compat.models import Customer
from csvhub.compat.selectors import table_slug
from csvhub.datasets import services
from csvhub.datasets.errors import DatasetError
from csvhub.datasets.models import Dataset, Upload, UploadState


class TableOfACustomer(DatasetError):
    """A Simetric file named like a Thena customer's dataset."""

    status_code = 409


type Caller = services.Uploader  # who uploads: recorded when signed in


def table_upload_create(
    *,
    organization: Organization,
    files: list[File[bytes]],
    title: str = "",
    user: Caller = None,
) -> list[Upload]:
    """Simetric's "one table per file": `titanic.csv` makes the dataset `titanic`, and a later
    `titanic.csv` appends to it (the ingestion checks that the header matches). A title, when
    given, becomes the new dataset's display name; appends leave the name alone."""
    file = _one_file(files)
    services.upload_size_check(file=file)
    dataset = _table_dataset(organization, file.name or "", title, user)
    return _upload_to(dataset, file, user)


def _table_dataset(
    organization: Organization,
    filename: str,
    title: str,
    user: Caller = None,
) -> Dataset:
    """The table's dataset, created on first use. The organization's row is locked meanwhile
    (on PostgreSQL) so that two first uploads of one file name make one table, not two."""
    name = services.dataset_name_from_filename(filename)
    with transaction.atomic():
        Organization.objects.select_for_update().filter(pk=organization.pk).first()
        found = Dataset.objects.filter(organization=organization, slug=table_slug(name)).first()
        if found is not None:
            _check_not_a_customers(found, filename)
            return found
        dataset = services.dataset_create(organization=organization, name=name, user=user)
        if title.strip():
            dataset.name = title.strip()[:200]
            dataset.save(update_fields=["name"])
        return dataset


def _check_not_a_customers(dataset: Dataset, filename: str) -> None:
    """Thena's customer datasets take events from /api/v1/event/ only: a Simetric file named
    like one (`customer-1000.csv`) must not append to a customer's events."""
    customer = Customer.objects.filter(dataset=dataset).first()
    if customer is not None:
        raise TableOfACustomer(
            f"The table {dataset.slug!r} (from {filename!r}) is Thena customer "
            f"{customer.customer_id}'s events, which only /api/v1/event/ appends to; rename the "
            "file."
        )


def _upload_to(dataset: Dataset, file: File[bytes], user: Caller = None) -> list[Upload]:
    """csvhub's upload service, appending to `dataset`. The size was checked before the dataset
    was found or made, so nothing here undoes a creation that a concurrent request may use."""
    return services.uploads_create(
        organization=dataset.organization,
        files=[file],
        dataset_slug=dataset.slug,
        user=user,
    )


def event_upload_create(
    *,
    organization: Organization,
    customer_id: str,
    files: list[File[bytes]],
    user: Caller = None,
) -> list[Upload]:
    """Thena's event upload: the customer's first file creates its dataset, later ones append
    (and fail, at ingestion, with csvhub's message when their columns differ)."""
    file = _one_file(files)
    services.upload_size_check(file=file)
    return _upload_to(_customer_dataset(organization, customer_id, user), file, user)


def _one_file(files: list[File[bytes]]) -> File[bytes]:
    if len(files) > 1:
        raise DatasetError(
            "This endpoint takes one file per request; send each file on its own, or several "
            "at once to /api/v1/uploads/."
        )
    if not files:
        raise DatasetError("Send a CSV file in a multipart part named 'file'.")
    return files[0]


def _customer_dataset(
    organization: Organization,
    customer_id: str,
    user: Caller = None,
) -> Dataset:
    """The customer's dataset, created with the customer on first use. Two first uploads at
    once both try to create it; the unique constraint lets one win and the other uses its."""
    found = Customer.objects.filter(organization=organization, customer_id=customer_id).first()
    if found is not None:
        return found.dataset
    try:
        with transaction.atomic():
            dataset = services.dataset_create(
                organization=organization, name=f"customer {customer_id}", user=user
            )
            Customer.objects.create(
                organization=organization, customer_id=customer_id, dataset=dataset
            )
    except IntegrityError:
        winner = Customer.objects.get(organization=organization, customer_id=customer_id)
        return winner.dataset
    return dataset


# One set of wait slots per process: a waiting upload holds a request thread, so only a few may
# wait at once (CSVHUB_COMPAT_UPLOAD_WAITERS); the others answer at once. Keyed by size so that
# a test changing the setting gets its own.
_WAIT_SLOTS: dict[int, threading.BoundedSemaphore] = {}
_WAIT_SLOTS_LOCK = threading.Lock()


def upload_wait_slots() -> threading.BoundedSemaphore:
    size = max(1, settings.CSVHUB_COMPAT_UPLOAD_WAITERS)
    with _WAIT_SLOTS_LOCK:
        return _WAIT_SLOTS.setdefault(size, threading.BoundedSemaphore(size))


def uploads_wait(*, uploads: list[Upload], seconds: float) -> list[Upload]:
    """The uploads as they are once loaded (succeeded or failed), or sooner: after `seconds`,
    at once when every wait slot is taken, and as soon as one is queued behind other jobs
    (it would not start before the wait ends). Simetric and Thena answered once the data was
    in; their scripts query right after uploading."""
    ids = [upload.id for upload in uploads]
    slots = upload_wait_slots()
    if seconds > 0 and slots.acquire(blocking=False):
        try:
            _wait_while_loading(ids, time.monotonic() + seconds)
        finally:
            slots.release()
    found = Upload.objects.select_related("dataset").in_bulk(ids)
    return [found[upload_id] for upload_id in ids]


def _wait_while_loading(ids: list[UUID], deadline: float) -> None:
    pause = 0.02
    while _loading_or_next(ids) and (left := deadline - time.monotonic()) > 0:
        time.sleep(min(pause, left))
        pause = min(pause * 2, 0.5)


def _loading_or_next(ids: list[UUID]) -> bool:
    """True while one of the uploads runs, or is queued with a free worker for it: fewer jobs
    queued or running ahead of it than CSVHUB_WORKER_THREADS."""
    active = (UploadState.QUEUED, UploadState.RUNNING)
    mine = list(Upload.objects.filter(id__in=ids, state__in=active).values("state", "created_at"))
    if any(upload["state"] == UploadState.RUNNING for upload in mine):
        return True
    return any(
        Upload.objects.filter(state__in=active, created_at__lt=upload["created_at"]).count()
        < settings.CSVHUB_WORKER_THREADS
        for upload in mine
    )
