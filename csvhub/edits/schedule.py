"""The periodic job of bulk edits (csvhub.scheduling): forget journals past their retention."""

from __future__ import annotations

from datetime import datetime

from csvhub.scheduling import every, periodic


@periodic("edits.journal_expire", every(3600))
def journal_expire(now: datetime) -> None:
    from csvhub.edits.services import journals_expire

    journals_expire(now=now)
