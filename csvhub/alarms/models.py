"""Alarm rules (with their watermark: what makes an evaluation happen once), their state per
(rule, group), the transitions they made, and the row-range claims of earlier releases."""

from __future__ import annotations

from django.conf import settings
from django.db import models

from csvhub.alarms.machine import Notice, State
from csvhub.datasets.models import Dataset
from csvhub.outbox.models import OutboxMail


class AlarmRule(models.Model):
    """A threshold on one numeric or temporal column of a dataset, per group.

    Thresholds are stored as the column type's canonical text (csvhub.schema.values), so a
    decimal threshold stays exact and a timestamp threshold reads as the column's values do.
    """

    dataset = models.ForeignKey(Dataset, on_delete=models.CASCADE, related_name="alarm_rules")
    name = models.CharField(max_length=200)
    column = models.CharField(max_length=63)
    time_column = models.CharField(max_length=63, blank=True)  # "": the row's arrival time
    group_by = models.CharField(max_length=63, blank=True)
    lower = models.CharField(max_length=100, blank=True)
    upper = models.CharField(max_length=100, blank=True)
    clear_lower = models.CharField(max_length=100, blank=True)
    clear_upper = models.CharField(max_length=100, blank=True)
    for_seconds = models.PositiveIntegerField(default=0)
    for_rows = models.PositiveIntegerField(default=0)
    clear_for_seconds = models.PositiveIntegerField(default=0)
    clear_for_rows = models.PositiveIntegerField(default=0)
    repeat_every_seconds = models.PositiveIntegerField(null=True, blank=True)  # None: never
    notify_on_resolve = models.BooleanField(default=True)
    no_data_seconds = models.PositiveIntegerField(null=True, blank=True)
    recipients = models.JSONField(default=list)
    enabled = models.BooleanField(default=True)
    # The watermark: every row up to this id has been evaluated (or was committed before the
    # rule watched). An evaluation claims the rows after it by moving it with a conditional
    # UPDATE (csvhub.alarms.evaluation); only evaluations and enabling a rule write it.
    last_evaluated_row_id = models.BigIntegerField(null=True, blank=True)
    # Moved by whatever changes the rule's states or how they are stepped outside an
    # evaluation (the no-data sweep, an edit), under the rule's lock: an evaluation that
    # stepped its machines from states read with another version claims nothing, and reads
    # the rule and its states again (csvhub.alarms.evaluation).
    # db_default: old code that inserts rules during a rollout leaves it out (docs/deployment.md).
    states_version = models.PositiveBigIntegerField(default=0, db_default=0)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["created_at", "id"]

    def __str__(self) -> str:
        return self.name


class AlarmState(models.Model):
    """Where one group of one rule stands; survives restarts (the machine's GroupState)."""

    rule = models.ForeignKey(AlarmRule, on_delete=models.CASCADE, related_name="states")
    group = models.CharField(max_length=300, blank=True)
    state = models.CharField(max_length=10, choices=[(s.value, s.value) for s in State])
    since = models.DateTimeField(null=True, blank=True)
    count = models.PositiveIntegerField(default=0)
    last_sample_at = models.DateTimeField(null=True, blank=True)
    last_value = models.CharField(max_length=100, blank=True)
    last_notified_at = models.DateTimeField(null=True, blank=True)
    # Wall-clock time of the last row evaluated for the group: what the no-data sweep reads.
    last_seen_at = models.DateTimeField(null=True, blank=True)
    late_rows = models.PositiveIntegerField(default=0)
    samples = models.PositiveBigIntegerField(default=0)
    last_row_id = models.BigIntegerField(null=True, blank=True)

    class Meta:
        ordering = ["rule", "group"]
        constraints = [
            models.UniqueConstraint(fields=["rule", "group"], name="alarm_state_per_group")
        ]

    def __str__(self) -> str:
        return f"{self.rule_id}/{self.group}: {self.state}"


class AlarmEvent(models.Model):
    """One transition of one group (or a repeat notification while firing)."""

    rule = models.ForeignKey(AlarmRule, on_delete=models.CASCADE, related_name="events")
    group = models.CharField(max_length=300, blank=True)
    at = models.DateTimeField()  # the sample's time (the sweep's time for no-data)
    value = models.CharField(max_length=100, blank=True)
    row_id = models.BigIntegerField(null=True, blank=True)
    from_state = models.CharField(max_length=10)
    to_state = models.CharField(max_length=10)
    notice = models.CharField(
        max_length=16, blank=True, choices=[(n.value, n.value) for n in Notice]
    )
    mail = models.ForeignKey(
        OutboxMail, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-at", "-id"]
        indexes = [models.Index(fields=["rule", "-at"]), models.Index(fields=["-created_at"])]

    def __str__(self) -> str:
        return f"{self.rule_id}/{self.group}: {self.from_state} → {self.to_state}"


class AlarmRange(models.Model):
    """A row-id range of one commit, evaluated for one rule: the claim of releases before the
    watermark (`AlarmRule.last_evaluated_row_id`). No longer written; the rows stay readable
    as the history of what those releases evaluated."""

    rule = models.ForeignKey(AlarmRule, on_delete=models.CASCADE, related_name="ranges")
    first_row_id = models.BigIntegerField()
    last_row_id = models.BigIntegerField()
    evaluated_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["rule", "first_row_id"], name="alarm_range_once")
        ]

    def __str__(self) -> str:
        return f"{self.rule_id}: {self.first_row_id}-{self.last_row_id}"
