"""The alarms' periodic job (csvhub.scheduling): the no-data sweep.

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
