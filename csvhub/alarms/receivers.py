"""Rows committed to a dataset (csvhub.datasets.signals) queue an alarm evaluation; a dataset
being deleted has its rules locked first.

The signal comes from `transaction.on_commit` of the writing request or job; this only looks
whether the dataset has an enabled rule and queues an evaluation (csvhub.alarms.queue), so the
writer waits for neither the warehouse read nor the mails.

The row range is not needed: the evaluation reads each rule's rows after its watermark. A
`replace` needs nothing either: its rows are numbered on from the old ones
(csvhub.warehouse.load.LoadSession), above every watermark.
"""

from __future__ import annotations

from typing import Any
from uuid import UUID

from django.db.models.signals import pre_delete
from django.dispatch import receiver

from csvhub.alarms.models import AlarmRule
from csvhub.datasets.models import Dataset
from csvhub.datasets.signals import rows_committed


@receiver(rows_committed, dispatch_uid="alarms.rows_committed")
def rows_committed_evaluate(*, dataset_id: UUID, **_: Any) -> None:
    if not AlarmRule.objects.filter(dataset_id=dataset_id, enabled=True).exists():
        return
    from csvhub.alarms.queue import evaluation_queue

    evaluation_queue(str(dataset_id))


@receiver(pre_delete, sender=Dataset, dispatch_uid="alarms.dataset_deleting")
def dataset_deleting_lock_rules(*, instance: Dataset, **_: Any) -> None:
    """Lock the dataset's rules, in id order, before its deletion removes their states.

    Django's delete sends pre_delete inside its transaction and then deletes the events and
    states before the rules; an evaluation locks a rule before writing its states. Without
    this the two would take the same rows in opposite orders (a deadlock on PostgreSQL and
    MySQL); with it the deletion waits for the evaluation, or the evaluation for the deletion
    (and then finds no rule)."""
    rules = AlarmRule.objects.select_for_update().filter(dataset=instance).order_by("pk")
    list(rules.values_list("pk", flat=True))
