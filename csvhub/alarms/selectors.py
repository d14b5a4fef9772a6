"""Reading rules, their states and their events (the API and the dataset page)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from django.db.models import F, Q, QuerySet

from csvhub.accounts.models import Organization
from csvhub.alarms.errors import AlarmRuleNotFound
from csvhub.alarms.models import AlarmEvent, AlarmRule, AlarmState
from csvhub.datasets.models import Dataset


def alarm_rule_list(*, dataset: Dataset) -> QuerySet[AlarmRule]:
    return AlarmRule.objects.filter(dataset=dataset).select_related("dataset")


def alarm_rule_get(*, dataset: Dataset, rule_id: str) -> AlarmRule:
    found = None
    if rule_id.isdigit():
        found = alarm_rule_list(dataset=dataset).filter(pk=int(rule_id)).first()
    if found is None:
        raise AlarmRuleNotFound(f"No alarm rule {rule_id!r} on the dataset {dataset.slug!r}.")
    return found


def alarm_states(*, rule: AlarmRule) -> list[AlarmState]:
    return list(rule.states.order_by("group")[:500])


@dataclass(frozen=True)
class EventFilter:
    dataset: str | None = None  # slug
    rule: int | None = None
    state: str | None = None  # the state entered
    since: datetime | None = None
    until: datetime | None = None


def alarm_events(*, organization: Organization, where: EventFilter) -> QuerySet[AlarmEvent]:
    """The organization's events, newest first (by sample time, then id)."""
    events = AlarmEvent.objects.filter(rule__dataset__organization=organization)
    if where.dataset is not None:
        events = events.filter(rule__dataset__slug=where.dataset)
    if where.rule is not None:
        events = events.filter(rule_id=where.rule)
    if where.state is not None:
        events = events.filter(to_state=where.state)
    if where.since is not None:
        events = events.filter(at__gte=where.since)
    if where.until is not None:
        events = events.filter(at__lt=where.until)
    return events.select_related("rule__dataset", "mail").order_by("-at", "-id")


def datasets_behind() -> list[str]:
    """Datasets with an enabled rule whose watermark is below the dataset's published last row
    id: rows committed that no evaluation has covered yet (their evaluation was lost with a
    stopped process during its debounce, or the broker refused it)."""
    behind = AlarmRule.objects.filter(enabled=True, dataset__last_row_id__isnull=False).filter(
        Q(last_evaluated_row_id__isnull=True)
        | Q(last_evaluated_row_id__lt=F("dataset__last_row_id"))
    )
    return [str(pk) for pk in behind.values_list("dataset_id", flat=True).distinct()]
