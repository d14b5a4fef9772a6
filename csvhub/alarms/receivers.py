"""Rows committed to a dataset (csvhub.datasets.signals) queue an alarm evaluation.

The signal comes from `transaction.on_commit` of the writing request or job; this only looks
whether the dataset has an enabled rule and enqueues a task, so the writer waits for neither
the warehouse read nor the mails.
"""

from __future__ import annotations

from typing import Any
from uuid import UUID

from django.dispatch import receiver

from csvhub.alarms.models import AlarmRange, AlarmRule
from csvhub.datasets.signals import rows_committed


@receiver(rows_committed, dispatch_uid="alarms.rows_committed")
def rows_committed_evaluate(
    *, dataset_id: UUID, row_id_range: tuple[int, int], origin: str, **_: Any
) -> None:
    if not AlarmRule.objects.filter(dataset_id=dataset_id, enabled=True).exists():
        return
    from csvhub.alarms.tasks import alarms_evaluate

    if origin == "replace":
        # The table started over, and its row ids with it: the claims of the old rows' ranges
        # would make the new rows look evaluated already.
        AlarmRange.objects.filter(rule__dataset_id=dataset_id).delete()
    first, last = row_id_range
    alarms_evaluate.enqueue(str(dataset_id), first, last)
