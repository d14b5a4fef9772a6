"""Writes for the Simetric and Thena endpoints: both end in csvhub's own upload service, with
the target dataset chosen the way each system chose its table."""

from __future__ import annotations

from django.contrib.auth.base_user import AbstractBaseUser
from django.contrib.auth.models import AnonymousUser
from django.core.files import File
from django.db import IntegrityError, transaction

from csvhub.accounts.models import Organization
from csvhub.compat.models import Customer
from csvhub.compat.selectors import table_slug
from csvhub.datasets import services
from csvhub.datasets.errors import DatasetError
from csvhub.datasets.models import Dataset, Upload

Caller = AbstractBaseUser | AnonymousUser | None  # who uploads: recorded when signed in


def table_upload_create(
    *,
    organization: Organization,
    files: list[File],
    title: str = "",
    user: Caller = None,
) -> list[Upload]:
    """Simetric's "one table per file": `titanic.csv` makes the dataset `titanic`, and a later
    `titanic.csv` appends to it (the ingestion checks that the header matches). A title, when
    given, becomes the new dataset's display name; appends leave the name alone."""
    file = _one_file(files)
    dataset, created = _table_dataset(organization, file.name, title, user)
    return _upload_to(dataset, created, file, user)


def _table_dataset(
    organization: Organization,
    filename: str,
    title: str,
    user: Caller = None,
) -> tuple[Dataset, bool]:
    """The table's dataset, created on first use. The organization's row is locked meanwhile
    (on PostgreSQL) so that two first uploads of one file name make one table, not two."""
    name = services.dataset_name_from_filename(filename)
    with transaction.atomic():
        Organization.objects.select_for_update().filter(pk=organization.pk).first()
        found = Dataset.objects.filter(organization=organization, slug=table_slug(name)).first()
        if found is not None:
            return found, False
        dataset = services.dataset_create(organization=organization, name=name, user=user)
        if title.strip():
            dataset.name = title.strip()[:200]
            dataset.save(update_fields=["name"])
        return dataset, True


def _upload_to(
    dataset: Dataset,
    created: bool,
    file: File,
    user: Caller = None,
) -> list[Upload]:
    """csvhub's upload service, appending to `dataset`; a refused upload (too large) removes
    the dataset it had just created, so nothing empty is left behind."""
    try:
        return services.uploads_create(
            organization=dataset.organization,
            files=[file],
            dataset_slug=dataset.slug,
            user=user,
        )
    except DatasetError:
        if created:
            services.dataset_delete(dataset=dataset)
        raise


def event_upload_create(
    *,
    organization: Organization,
    customer_id: str,
    files: list[File],
    user: Caller = None,
) -> list[Upload]:
    """Thena's event upload: the customer's first file creates its dataset, later ones append
    (and fail, at ingestion, with csvhub's message when their columns differ)."""
    file = _one_file(files)
    dataset, created = _customer_dataset(organization, customer_id, user)
    return _upload_to(dataset, created, file, user)


def _one_file(files: list[File]) -> File:
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
) -> tuple[Dataset, bool]:
    """The customer's dataset, created with the customer on first use. Two first uploads at
    once both try to create it; the unique constraint lets one win and the other uses its."""
    found = Customer.objects.filter(organization=organization, customer_id=customer_id).first()
    if found is not None:
        return found.dataset, False
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
        return winner.dataset, False
    return dataset, True
