"""Legal holds refuse deletions asked for by people, as they stop retention: a held dataset
cannot be deleted nor have rows deleted by a bulk edit, and a held upload can neither have
its rows taken back nor go with its dataset. The refusal (409) names the hold and says how to
release it; nothing is deleted."""

from __future__ import annotations

from typing import Any

from django.db import transaction
from django.db.models import Q
from django.dispatch import receiver

from csvhub.datasets.models import Dataset, Upload
from csvhub.datasets.signals import dataset_deletion_abandoned, rows_deleting
from csvhub.lifecycle.errors import DatasetBeingDeleted, HeldByLegalHold
from csvhub.lifecycle.models import DatasetDeletion, LegalHold


@receiver(rows_deleting)
def refuse_held(
    *, dataset: Dataset, upload: Upload | None, edit: bool, replace: bool = False, **_: Any
) -> None:
    if upload is None and not edit and not replace:  # the whole dataset goes
        deletion_claim(dataset)
        return
    hold = _hold_in_the_way(dataset, upload)
    if hold is not None:
        raise HeldByLegalHold(_refusal(hold, dataset, upload, edit=edit, replace=replace))


def deletion_claim(dataset: Dataset) -> None:
    """Refuse deleting a held dataset, or record that its deletion goes ahead (DatasetDeletion)
    so that no hold can be placed on it from now on. Inside the caller's transaction when there
    is one: a page deleting several datasets claims them all or none."""
    with transaction.atomic():
        _lock(dataset)
        hold = _hold_in_the_way(dataset, None)
        if hold is not None:
            raise HeldByLegalHold(_refusal(hold, dataset, None, edit=False, replace=False))
        DatasetDeletion.objects.get_or_create(dataset=dataset)


@receiver(dataset_deletion_abandoned)
def deletion_release(*, dataset: Dataset, **_: Any) -> None:
    """A deletion that stopped before dropping anything: the dataset can be held again."""
    DatasetDeletion.objects.filter(dataset=dataset).delete()


def hold_placeable_check(dataset: Dataset) -> None:
    """Refuse a hold on a dataset (or one of its uploads) whose deletion is under way; call in
    the transaction that creates the hold."""
    _lock(dataset)
    if DatasetDeletion.objects.filter(dataset=dataset).exists():
        raise DatasetBeingDeleted(
            f"{dataset.name} is being deleted: a legal hold can no longer keep it. If the "
            "deletion failed midway, delete the dataset again to finish it."
        )


def _lock(dataset: Dataset) -> None:
    # The dataset's row orders a deletion's claim and a hold's creation on PostgreSQL and
    # MySQL; SQLite metadata transactions are IMMEDIATE, so they are ordered already.
    Dataset.objects.select_for_update().filter(pk=dataset.pk).values_list("pk").first()


def _hold_in_the_way(dataset: Dataset, upload: Upload | None) -> LegalHold | None:
    holds = Q(dataset=dataset)
    if upload is not None:  # one upload's rows taken back
        holds |= Q(upload=upload)
    else:  # the dataset goes, or rows of any upload may: a bulk delete, a replace
        holds |= Q(upload__dataset=dataset)
    return LegalHold.objects.filter(holds).select_related("upload").order_by("created_at").first()


def _refusal(
    hold: LegalHold, dataset: Dataset, upload: Upload | None, *, edit: bool, replace: bool
) -> str:
    if hold.upload is not None:
        held = f"The upload {hold.upload.original_name} ({hold.upload_id}) of {dataset.name}"
    else:
        held = f"The dataset {dataset.name}"
    if upload is not None:
        what = "its rows cannot be taken back"
    elif replace:
        what = f"the rows of {dataset.name} cannot be replaced"
    elif edit:
        what = f"rows of {dataset.name} cannot be deleted"
    elif hold.upload is not None:
        what = "the dataset cannot be deleted"
    else:
        what = "it cannot be deleted"
    return (
        f"{held} is on legal hold {hold.pk} ({hold.reason}): {what}; nothing was deleted. "
        f"Once the hold is no longer needed, an admin releases it with DELETE "
        f"/api/v1/holds/{hold.pk}/ (holds are listed at /settings/retention/); then try again."
    )
