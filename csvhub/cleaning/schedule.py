"""The periodic job of scheduled recipes (csvhub.scheduling): re-apply the due ones."""

from __future__ import annotations

from datetime import datetime

from csvhub.scheduling import every, periodic


@periodic("cleaning.recipes_due", every(60), lease_seconds=600)
def recipes_due(now: datetime) -> None:
    from csvhub.cleaning.services import recipes_run_due

    recipes_run_due(now=now)
