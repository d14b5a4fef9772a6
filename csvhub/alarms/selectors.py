"""Reading rules, their states and their events (the API and the dataset page)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from django.db.models import QuerySet

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
