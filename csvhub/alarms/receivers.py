"""Rows committed to a dataset (csvhub.datasets.signals) queue an alarm evaluation.

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

from django.dispatch import receiver

from csvhub.alarms.models import AlarmRule
from csvhub.datasets.signals import rows_committed


@receiver(rows_committed, dispatch_uid="alarms.rows_committed")
def rows_committed_evaluate(*, dataset_id: UUID, **_: Any) -> None:
    if not AlarmRule.objects.filter(dataset_id=dataset_id, enabled=True).exists():
        return
    from csvhub.alarms.queue import evaluation_queue

    evaluation_queue(str(dataset_id))
