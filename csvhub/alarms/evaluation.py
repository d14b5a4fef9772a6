"""Evaluating rules on rows that committed: read the samples, step each group's machine, and
write states, events and mails in one transaction that also claims the row range.

Runs in a background job (csvhub.alarms.tasks), never in the request that added the rows.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime

from django.db import IntegrityError, transaction
from django.utils import timezone

from csvhub.alarms import mails
from csvhub.alarms.errors import InvalidAlarmRule
from csvhub.alarms.machine import GroupState, Notice, Rule, Sample, State, Transition, silent, step
from csvhub.alarms.models import AlarmEvent, AlarmRange, AlarmRule, AlarmState
from csvhub.alarms.rules import RuleColumns, measure_parse, rule_columns, rule_machine, sample_query
from csvhub.datasets.models import Dataset
from csvhub.metrics.hooks import alarm_evaluated
from csvhub.schema import ColumnType, values
from csvhub.warehouse.samples import SampleRow, samples_read

logger = logging.getLogger(__name__)

# Row ids read per query: an upload of millions of rows is evaluated in slices of this many.
SLICE_ROWS = 50_000
GROUP_LENGTH = 300
FIRED = (Notice.FIRE, Notice.LIMITED)


@dataclass(frozen=True)
class GroupSample:
    group: str
    sample: Sample


@dataclass(frozen=True)
class GroupTransition:
    group: str
    transition: Transition


def rules_evaluate(*, dataset_id: str, first_row_id: int, last_row_id: int) -> int:
    """Evaluate every enabled rule of the dataset on the committed rows first..last; returns
    how many rules evaluated them (a range already evaluated counts as none)."""
    dataset = Dataset.objects.filter(pk=dataset_id).first()
    if dataset is None:
        return 0
    done = 0
    for rule in AlarmRule.objects.filter(dataset=dataset, enabled=True):
        for start in range(first_row_id, last_row_id + 1, SLICE_ROWS):
            end = min(start + SLICE_ROWS - 1, last_row_id)
            done += rule_evaluate(rule=rule, dataset=dataset, first_row_id=start, last_row_id=end)
    return done


def rule_evaluate(*, rule: AlarmRule, dataset: Dataset, first_row_id: int, last_row_id: int) -> int:
    try:
        columns = rule_columns(dataset.schema, rule)
        machine = rule_machine(rule, columns.value.type)
    except InvalidAlarmRule as broken:  # a column renamed or retyped since the rule was saved
        logger.warning("alarm rule %s skipped: %s", rule.pk, broken)
        return 0
    now = timezone.now()
    rows = samples_read(
        sample_query(dataset, columns), first_row_id=first_row_id, last_row_id=last_row_id
    )
    samples = list(group_samples(rows, columns, now=now))
    with transaction.atomic():
        if not _claim(rule, first_row_id, last_row_id):
            alarm_evaluated("duplicate")
            return 0
        # Evaluations of other ranges of this rule wait here (PostgreSQL, MySQL; SQLite already
        # serialized them at the claim's write): each reads the states the previous wrote.
        locked = AlarmRule.objects.select_for_update().get(pk=rule.pk)
        _apply(rule, machine, samples, now)
        # Ranges may be evaluated out of order: the highest row id seen stays.
        highest = max(last_row_id, locked.last_evaluated_row_id or 0)
        AlarmRule.objects.filter(pk=rule.pk).update(last_evaluated_row_id=highest)
    alarm_evaluated("evaluated")
    return 1


def _claim(rule: AlarmRule, first_row_id: int, last_row_id: int) -> bool:
    try:
        with transaction.atomic():
            AlarmRange.objects.create(rule=rule, first_row_id=first_row_id, last_row_id=last_row_id)
    except IntegrityError:
        return False
    return True


def group_samples(
    rows: Iterable[SampleRow], columns: RuleColumns, *, now: datetime
) -> Iterable[GroupSample]:
    """The rows as samples of their group, in the order read (time, then row id). Rows with
    an empty value say nothing about the threshold and are left out; a row without a time
    (no time column, or an empty cell) is taken at `now`, when it was evaluated."""
    for row in rows:
        if row.value is None:
            continue
        value = measure_parse(columns.value.type, row.value, field=columns.value.name)
        at = _sample_time(columns, row.time, now)
        group = (row.group or "")[:GROUP_LENGTH]
        yield GroupSample(group, Sample(at=at, value=value, row_id=row.row_id))


def _sample_time(columns: RuleColumns, text: str | None, now: datetime) -> datetime:
    if columns.time is None or text is None:
        return now
    parsed = measure_parse(columns.time.type, text, field=columns.time.name)
    if isinstance(parsed, datetime):
        return parsed
    assert isinstance(parsed, date)
    return datetime(parsed.year, parsed.month, parsed.day, tzinfo=UTC)


def machines_run(
    machine: Rule, states: dict[str, GroupState], samples: Iterable[GroupSample]
) -> tuple[list[GroupTransition], dict[str, Sample]]:
    """Step each group's state through its samples (in place); the transitions made, and
    each group's newest sample."""
    transitions: list[GroupTransition] = []
    newest: dict[str, Sample] = {}
    for item in samples:
        current = states.get(item.group, GroupState())
        states[item.group], made = step(machine, current, item.sample)
        newest[item.group] = item.sample
        if made is not None:
            transitions.append(GroupTransition(item.group, made))
    return transitions, newest


def _apply(rule: AlarmRule, machine: Rule, samples: list[GroupSample], now: datetime) -> None:
    groups = sorted({item.group for item in samples})
    stored = {s.group: s for s in AlarmState.objects.filter(rule=rule, group__in=groups)}
    states = {group: state_of(row) for group, row in stored.items()}
    counts: dict[str, int] = {}
    for item in samples:
        counts[item.group] = counts.get(item.group, 0) + 1
    transitions, newest = machines_run(machine, states, samples)
    value_type = machine_type(rule)
    for group in groups:
        row = stored.get(group) or AlarmState(rule=rule, group=group)
        _store(row, states[group], newest[group], value_type, now, counts[group])
    # One by one, not bulk_create: each event's id is its mail's idempotency key, and
    # bulk_create leaves ids unset on some databases. Transitions are few per evaluation.
    events = [_event(rule, item, value_type) for item in transitions]
    for event in events:
        event.save()
    mails.events_notify(rule, events)


def machine_type(rule: AlarmRule) -> ColumnType:
    return rule_columns(rule.dataset.schema, rule).value.type


def state_of(row: AlarmState) -> GroupState:
    return GroupState(
        state=State(row.state),
        since=row.since,
        count=row.count,
        last_sample_at=row.last_sample_at,
        last_notified_at=row.last_notified_at,
        late=row.late_rows,
    )


def _store(
    row: AlarmState,
    state: GroupState,
    newest: Sample,
    value_type: ColumnType,
    now: datetime,
    samples: int,
) -> None:
    row.state, row.since, row.count = state.state.value, state.since, state.count
    row.last_sample_at, row.last_notified_at = state.last_sample_at, state.last_notified_at
    row.late_rows = state.late
    row.last_seen_at = now
    row.samples += samples
    row.last_value = measure_text(value_type, newest.value)
    row.last_row_id = max(row.last_row_id or 0, newest.row_id or 0)
    row.save()


def measure_text(value_type: ColumnType, value: object) -> str:
    """A value of the watched column as its canonical text ("" for none)."""
    return "" if value is None else values.text(value_type, value)  # type: ignore[arg-type]


def _event(rule: AlarmRule, item: GroupTransition, value_type: ColumnType) -> AlarmEvent:
    made = item.transition
    return AlarmEvent(
        rule=rule,
        group=item.group,
        at=made.at,
        value=measure_text(value_type, made.value),
        row_id=made.row_id,
        from_state=made.before.value,
        to_state=made.after.value,
        notice=made.notice.value,
    )


def no_data_sweep(*, now: datetime) -> int:
    """Fire every group of a no-data rule that has sent nothing for its `no_data_seconds`;
    returns how many fired. Each group is claimed with a conditional UPDATE (its state and
    last_seen_at unchanged), so of two sweeps one fires it."""
    fired = 0
    rules = AlarmRule.objects.filter(enabled=True, no_data_seconds__isnull=False)
    for rule in rules.select_related("dataset"):
        try:
            machine = rule_machine(rule, rule_columns(rule.dataset.schema, rule).value.type)
        except InvalidAlarmRule:
            continue
        fired += _sweep_rule(rule, machine, now)
    return fired


def _sweep_rule(rule: AlarmRule, machine: Rule, now: datetime) -> int:
    fired = 0
    for row in rule.states.exclude(state=State.FIRING.value).exclude(last_seen_at=None):
        assert row.last_seen_at is not None
        after, made = silent(machine, state_of(row), last_seen_at=row.last_seen_at, now=now)
        if made is None:
            continue
        with transaction.atomic():
            # The rule's lock, as evaluations take it: a sweep and an evaluation of one rule
            # never interleave their writes to a group's state.
            AlarmRule.objects.select_for_update().filter(pk=rule.pk).first()
            claimed = AlarmState.objects.filter(
                pk=row.pk, state=row.state, last_seen_at=row.last_seen_at
            ).update(
                state=after.state.value,
                since=after.since,
                count=0,
                last_notified_at=after.last_notified_at,
            )
            if not claimed:
                continue
            event = AlarmEvent.objects.create(
                rule=rule,
                group=row.group,
                at=now,
                from_state=made.before.value,
                to_state=made.after.value,
                notice=made.notice.value,
            )
            mails.events_notify(rule, [event])
            fired += 1
    return fired


def rule_preview(
    *, dataset: Dataset, rule: AlarmRule, limit: int
) -> tuple[int, list[GroupTransition], int, ColumnType]:
    """A dry run over the stored rows (at most `limit`): how many transitions fired, the
    transitions in order, and how many rows were read."""
    columns = rule_columns(dataset.schema, rule)
    machine = replace(rule_machine(rule, columns.value.type), no_data_seconds=None)
    rows = samples_read(sample_query(dataset, columns), limit=limit)
    samples = list(group_samples(rows, columns, now=timezone.now()))
    transitions, _ = machines_run(machine, {}, samples)
    fired = sum(1 for item in transitions if item.transition.notice in FIRED)
    return fired, transitions, len(rows), columns.value.type
