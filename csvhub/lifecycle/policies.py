"""Retention rules (organization's, a dataset's override) and legal holds: reads and writes."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.contrib.auth.models import User
from django.db import transaction

from csvhub.accounts.models import Organization
from csvhub.datasets.models import Dataset, Upload
from csvhub.lifecycle.errors import RetentionError
from csvhub.lifecycle.holds import hold_placeable_check
from csvhub.lifecycle.models import DatasetRetention, LegalHold, RetentionPolicy
from csvhub.warehouse.retention import RANGE_TYPES

# A setting the API may leave out (unchanged), set to None (forever), or "inherit" (a
# dataset's: its organization's value).
INHERIT = "inherit"
MAX_DAYS = 36_500


@dataclass(frozen=True)
class Rules:
    """What retention applies to one dataset; None days keep forever."""

    keep_files_days: int | None
    keep_rows_days: int | None
    rows_column: str


def policy_of(organization: Organization) -> RetentionPolicy:
    """The organization's policy; an unsaved one (keep everything) when none is set."""
    found = RetentionPolicy.objects.filter(organization=organization).first()
    return found or RetentionPolicy(organization=organization)


def override_of(dataset: Dataset) -> DatasetRetention:
    found = DatasetRetention.objects.filter(dataset=dataset).first()
    return found or DatasetRetention(dataset=dataset)


def rules_for(dataset: Dataset, policy: RetentionPolicy | None = None) -> Rules:
    policy = policy or policy_of(dataset.organization)
    own = override_of(dataset)
    files = own.keep_files_days if own.override_files else policy.keep_files_days
    if own.override_rows:
        return Rules(files, own.keep_rows_days, own.rows_column)
    return Rules(files, policy.keep_rows_days, policy.rows_column)


def policy_update(*, organization: Organization, changes: dict[str, Any]) -> RetentionPolicy:
    """Set the organization's keep_files_days, keep_rows_days (int days or None: forever) and
    rows_column; keys not given stay."""
    with transaction.atomic():
        policy, _ = RetentionPolicy.objects.select_for_update().get_or_create(
            organization=organization
        )
        for name in ("keep_files_days", "keep_rows_days"):
            if name in changes:
                setattr(policy, name, _days(name, changes[name]))
        if "rows_column" in changes:
            policy.rows_column = str(changes["rows_column"] or "").strip()
        _rows_rule_check(policy.keep_rows_days, policy.rows_column)
        policy.save()
    return policy


def override_update(*, dataset: Dataset, changes: dict[str, Any]) -> DatasetRetention:
    """A dataset's own keep_files_days / keep_rows_days: int days, None (forever) or "inherit";
    rows_column must then name one of its date or timestamp columns."""
    with transaction.atomic():
        own, _ = DatasetRetention.objects.select_for_update().get_or_create(dataset=dataset)
        if "keep_files_days" in changes:
            value = changes["keep_files_days"]
            own.override_files = value != INHERIT
            own.keep_files_days = None if value == INHERIT else _days("keep_files_days", value)
        if "keep_rows_days" in changes:
            value = changes["keep_rows_days"]
            own.override_rows = value != INHERIT
            own.keep_rows_days = None if value == INHERIT else _days("keep_rows_days", value)
        if "rows_column" in changes:
            own.rows_column = str(changes["rows_column"] or "").strip()
        if own.override_rows:
            _rows_rule_check(own.keep_rows_days, own.rows_column)
            _column_check(dataset, own.keep_rows_days, own.rows_column)
        own.save()
    return own


def _days(name: str, value: Any) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= MAX_DAYS:
        raise RetentionError(
            f"{name} is a whole number of days from 1 to {MAX_DAYS:,}, or null to keep forever "
            f'(a dataset\'s also takes "{INHERIT}"); not {value!r}.'
        )
    return value


def _rows_rule_check(days: int | None, column: str) -> None:
    if days is not None and not column:
        raise RetentionError(
            "keep_rows_days needs rows_column: the date or timestamp column whose age decides "
            "a row's (e.g. measured_at)."
        )


def _column_check(dataset: Dataset, days: int | None, name: str) -> None:
    if days is None:
        return
    column = dataset.schema.get(name)
    if column is None or column.type not in RANGE_TYPES:
        usable = [c.name for c in dataset.schema if c.type in RANGE_TYPES]
        raise RetentionError(
            f"rows_column {name!r} is not a date or timestamp column of {dataset.name}; "
            f"its date and timestamp columns: {', '.join(usable) or 'none'}."
        )


def hold_create(
    *,
    organization: Organization,
    reason: str,
    dataset: Dataset | None = None,
    upload: Upload | None = None,
    user: User | None = None,
) -> LegalHold:
    reason = reason.strip()
    if not reason:
        raise RetentionError("A legal hold needs a reason (e.g. the matter it is for).")
    if (dataset is None) == (upload is None):
        raise RetentionError("A legal hold is on one dataset or one upload.")
    with transaction.atomic():
        hold_placeable_check(_held_dataset(dataset, upload))
        return LegalHold.objects.create(
            organization=organization,
            dataset=dataset,
            upload=upload,
            reason=reason[:500],
            created_by=user,
        )


def _held_dataset(dataset: Dataset | None, upload: Upload | None) -> Dataset:
    if dataset is not None:
        return dataset
    assert upload is not None  # hold_create takes one of the two
    return upload.dataset


def hold_release(*, organization: Organization, hold_id: int) -> bool:
    """Release the organization's hold `hold_id`; False when it has no such hold."""
    deleted, _ = LegalHold.objects.filter(pk=hold_id, organization=organization).delete()
    return bool(deleted)


def holds_of(organization: Organization) -> list[LegalHold]:
    return list(
        LegalHold.objects.filter(organization=organization).select_related("dataset", "upload")
    )


def held_dataset_ids() -> set[Any]:
    return set(LegalHold.objects.filter(dataset__isnull=False).values_list("dataset_id", flat=True))


def held_upload_ids() -> set[Any]:
    return set(LegalHold.objects.filter(upload__isnull=False).values_list("upload_id", flat=True))
