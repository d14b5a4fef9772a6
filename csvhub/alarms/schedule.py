"""The alarms' periodic jobs (csvhub.scheduling): the no-data sweep, and the catch-up of
evaluations that were queued but never sent.

It ticks where every periodic job ticks: in each `csvhub serve` process with the thread runner
(the embedded default), in each `csvhub worker` with Celery; the database claim of
csvhub.scheduling makes one of them run each occurrence.
"""

from __future__ import annotations

from datetime import datetime

from csvhub.scheduling import every, periodic


@periodic("alarms.no_data_sweep", every(30), lease_seconds=300)
def no_data_sweep(now: datetime) -> None:
    from csvhub.alarms.evaluation import no_data_sweep as sweep

    sweep(now=now)


@periodic("alarms.evaluations_catch_up", every(30), lease_seconds=300)
def evaluations_catch_up(now: datetime) -> None:
    """Queue an evaluation of every dataset whose rules are behind its committed rows. An
    evaluation waits in the committing process for its debounce (csvhub.alarms.queue); a stop
    in that moment, or a broker refusing the send, would otherwise leave the rows unevaluated
    until the dataset's next commit, which a sensor that went quiet never sends."""
    from csvhub.alarms.queue import evaluation_queue
    from csvhub.alarms.selectors import datasets_behind

    for dataset_id in datasets_behind():
        evaluation_queue(dataset_id)
