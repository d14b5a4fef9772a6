"""Writing alarm rules: create, change, delete; every rule is checked against the dataset's
columns before it is kept (a 400 that says what to change)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from uuid import UUID

from django.conf import settings
from django.db import transaction

from csvhub.alarms.evaluation import GroupTransition, rule_preview, rule_states_changed
from csvhub.alarms.models import AlarmRule
from csvhub.alarms.rules import THRESHOLDS, rule_check, rule_columns
from csvhub.datasets.models import Dataset
from csvhub.schema import ColumnType

# The fields a request may set (the API's input serializer names the same).
FIELDS = (
    "name",
    "column",
    "time_column",
    "group_by",
    "lower",
    "upper",
    "clear_lower",
    "clear_upper",
    "for_seconds",
    "for_rows",
    "clear_for_seconds",
    "clear_for_rows",
    "repeat_every_seconds",
    "notify_on_resolve",
    "no_data_seconds",
    "recipients",
    "enabled",
)


def _fill(rule: AlarmRule, data: dict[str, Any]) -> None:
    for field in FIELDS:
        if field in data:
            # A threshold of null is no threshold: stored as "" like one never given.
            empty = data[field] is None and field in THRESHOLDS
            setattr(rule, field, "" if empty else data[field])
    # Column names as the dataset spells them, whatever case the request used.
    columns = rule_columns(rule.dataset.schema, rule)
    rule.column = columns.value.name
    rule.time_column = columns.time.name if columns.time else ""
    rule.group_by = columns.group.name if columns.group else ""
    if not rule.name:
        rule.name = f"{rule.column} out of range"


def alarm_rule_build(*, dataset: Dataset, data: dict[str, Any]) -> AlarmRule:
    """An unsaved rule from a request, checked (what create and the dry run share)."""
    rule = AlarmRule(dataset=dataset)
    _fill(rule, data)
    rule_check(dataset, rule)
    return rule


def alarm_rule_create(*, dataset: Dataset, data: dict[str, Any], user: object) -> AlarmRule:
    rule = alarm_rule_build(dataset=dataset, data=data)
    rule.created_by = user if getattr(user, "is_authenticated", False) else None  # type: ignore[assignment]
    with transaction.atomic():
        # The rule watches rows committed from now on; rows already stored are the dry run's.
        # Read here, not from the request's dataset: rows may have committed since.
        rule.last_evaluated_row_id = _last_row_id(dataset.pk)
        rule.save()
    return rule


def alarm_rule_update(*, rule: AlarmRule, data: dict[str, Any]) -> AlarmRule:
    """Change a rule. Changing what it watches or its thresholds keeps each group's state:
    the next rows are judged by the new rule from where each group stands. A rule enabled
    again watches the rows committed from then on, as a new rule does."""
    was_enabled = rule.enabled
    _fill(rule, data)
    rule_check(rule.dataset, rule)
    with transaction.atomic():
        # Never the watermark: evaluations move it meanwhile (it is their claim), and writing
        # back the value read with the rule would have rows evaluated twice.
        rule.save(update_fields=[*FIELDS, "updated_at"])
        # An evaluation that stepped the groups by the rule as it was claims nothing now.
        rule_states_changed(rule.pk)
        if rule.enabled and not was_enabled:
            last = _last_row_id(rule.dataset_id)
            AlarmRule.objects.filter(pk=rule.pk).update(last_evaluated_row_id=last)
            rule.last_evaluated_row_id = last
    return rule


def alarm_rule_delete(*, rule: AlarmRule) -> None:
    """Delete a rule with its states and events (their sent mails stay in the outbox)."""
    with transaction.atomic():
        # The rule's row first, as an evaluation locks it before its states: Django deletes
        # the states and events before the rule, and the opposite order could deadlock.
        AlarmRule.objects.select_for_update().filter(pk=rule.pk).first()
        rule.delete()


@dataclass(frozen=True)
class Preview:
    fired: int
    rows_read: int
    truncated: bool
    transitions: list[GroupTransition]
    value_type: ColumnType  # of the watched column, to write the transitions' values


def alarm_rule_dry_run(*, dataset: Dataset, data: dict[str, Any], first: int = 20) -> Preview:
    """How the rule would have behaved on the stored rows (oldest sample first), without
    saving it: how many times it would have fired, and its first transitions."""
    rule = alarm_rule_build(dataset=dataset, data=data)
    limit = settings.CSVHUB_ALARM_PREVIEW_ROWS
    fired, transitions, rows, value_type = rule_preview(dataset=dataset, rule=rule, limit=limit)
    return Preview(fired, rows, rows >= limit, transitions[:first], value_type)


def _last_row_id(dataset_id: UUID | str) -> int | None:
    found: int | None = Dataset.objects.values_list("last_row_id", flat=True).get(pk=dataset_id)
    return found
