"""Evaluating rules on rows that committed: read the samples, step each group's machine, and
write states, events and mails in one transaction per rule that also moves the rule's
watermark (`last_evaluated_row_id`, the claim of the rows evaluated).

Rows of one dataset become visible in row-id order on every warehouse: a load or an append
takes the table's write lock, numbers its rows from the table's largest id under it, and
commits and publishes the dataset's `last_row_id` before letting the lock go
(csvhub.warehouse.load.LoadSession). So every row up to the published `last_row_id` is
committed, and none committed later has a lower id: "the rows after the watermark up to
`last_row_id`" names exactly the rows not evaluated yet (docs/alarms.md).

Runs in a background job (csvhub.alarms.tasks), never in the request that added the rows.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime
from typing import Any

from django.db import connection, transaction
from django.db.models import F, Q
from django.utils import timezone

from csvhub.alarms import mails
from csvhub.alarms.errors import InvalidAlarmRule
from csvhub.alarms.machine import GroupState, Notice, Rule, Sample, State, Transition, silent, step
from csvhub.alarms.models import AlarmEvent, AlarmRule, AlarmState
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
# What an evaluation writes on a group's state (_store).
STATE_FIELDS = [
    "state",
    "since",
    "count",
    "last_sample_at",
    "last_notified_at",
    "late_rows",
    "last_seen_at",
    "samples",
    "last_value",
    "last_row_id",
]
# Stored states that get the same values are written by one UPDATE when at least this many do
# (see _states_write); the others, and new groups, by one upsert.
SHARED_UPDATE_ROWS = 4
SET_FIELDS = [name for name in STATE_FIELDS if name != "samples"]  # samples: added to
type _Values = tuple[tuple[object, ...], int]  # SET_FIELDS' values, and the samples added


@dataclass(frozen=True)
class GroupSample:
    group: str
    sample: Sample


@dataclass(frozen=True)
class GroupTransition:
    group: str
    transition: Transition


@dataclass(frozen=True)
class _StateWrite:
    """A group's state row as the evaluation leaves it, and how many samples it added."""

    row: AlarmState
    added: int


def rules_evaluate(*, dataset_id: str) -> int:
    """Evaluate every enabled rule of the dataset on the rows committed since the rule last
    evaluated (its watermark, `last_evaluated_row_id`) up to the dataset's published last row
    id; returns how many rule evaluations committed (none when another evaluation got there
    first: a duplicate job costs one metadata read).

    Many commits are so evaluated by one job, whichever of their jobs runs first.
    """
    dataset = Dataset.objects.filter(pk=dataset_id).first()
    upto = dataset.last_row_id if dataset is not None else None
    if dataset is None or upto is None:
        return 0
    pending = _behind(AlarmRule.objects.filter(dataset=dataset, enabled=True), upto)
    if not pending:
        alarm_evaluated("duplicate")
        return 0
    done = 0
    # A rule lost to another evaluation that moved its watermark first, or whose states
    # version an edit or the no-data sweep moved, is read again from where it is now: every
    # lost round means another evaluation made progress, or an edit (finite) or a sweep
    # (which fires a silent group once) came, so this ends.
    while pending:
        evaluated, lost = _rules_evaluate(dataset, pending, upto)
        done += evaluated
        pending = _behind(AlarmRule.objects.filter(pk__in=lost, enabled=True), upto) if lost else []
    return done


def _behind(rules: Iterable[AlarmRule], upto: int) -> list[AlarmRule]:
    return [rule for rule in rules if _watermark(rule) < upto]


def _watermark(rule: AlarmRule) -> int:
    return rule.last_evaluated_row_id or 0


@dataclass(frozen=True)
class _Watch:
    """A rule ready to evaluate: its machine and the columns it reads."""

    rule: AlarmRule
    machine: Rule
    columns: RuleColumns


def _rules_evaluate(dataset: Dataset, rules: list[AlarmRule], upto: int) -> tuple[int, list[int]]:
    """Evaluate `rules` up to row `upto`, one warehouse read per set of rules reading the same
    columns; the evaluations committed, and the rules lost to another evaluation."""
    done, lost = 0, []
    for columns, watches in _sharing_reads(dataset, rules, upto).items():
        start = min(_watermark(watch.rule) for watch in watches)
        for first in range(start + 1, upto + 1, SLICE_ROWS):
            last = min(first + SLICE_ROWS - 1, upto)
            now = timezone.now()
            rows = samples_read(
                sample_query(dataset, columns), first_row_id=first, last_row_id=last
            )
            samples = list(group_samples(rows, columns, now=now))
            behind = [w for w in watches if w.rule.pk not in lost and _watermark(w.rule) < last]
            claimed = _rules_commit(behind, samples, last, now)
            done += len(claimed)
            lost += [watch.rule.pk for watch in behind if watch.rule.pk not in claimed]
    return done, lost


def _sharing_reads(
    dataset: Dataset, rules: list[AlarmRule], upto: int
) -> dict[RuleColumns, list[_Watch]]:
    reads: dict[RuleColumns, list[_Watch]] = {}
    for rule in rules:
        rule.dataset = dataset  # the mails name it: not one query per rule
        try:
            columns = rule_columns(dataset.schema, rule)
            machine = rule_machine(rule, columns.value.type)
        except InvalidAlarmRule as broken:  # a column renamed or retyped since the rule was saved
            logger.warning("alarm rule %s skipped: %s", rule.pk, broken)
            # Its rows go unevaluated, as they always did; moving on keeps the next
            # evaluations from reading them again and again.
            _watermark_set(rule, upto)
            continue
        reads.setdefault(columns, []).append(_Watch(rule, machine, columns))
    return reads


def _watermark_set(rule: AlarmRule, upto: int) -> bool:
    """Move the rule's watermark from where this evaluation read it to `upto` (a rule that
    cannot be evaluated: its rows are skipped). A conditional UPDATE: of two evaluations that
    read the same watermark, one moves it and the other changes nothing."""
    seen = rule.last_evaluated_row_id
    claimed = AlarmRule.objects.filter(pk=rule.pk, last_evaluated_row_id=seen).update(
        last_evaluated_row_id=upto
    )
    if claimed:
        rule.last_evaluated_row_id = upto
    return bool(claimed)


def _rules_commit(
    watches: list[_Watch], samples: list[GroupSample], upto: int, now: datetime
) -> set[int]:
    """Claim each rule's rows after its watermark up to `upto` and apply their samples, all
    rules in one transaction (one commit, one turn of SQLite's write lock, not one per rule);
    the ids of the rules claimed. A rule another evaluation claimed first, or whose states
    changed since it was read (its `states_version` moved: the no-data sweep, an edit), gets
    nothing written here: it is read again from where it is now by rules_evaluate.

    The machines are stepped before the transaction, on the states as read (after the rule,
    so with its version or a newer one): the transaction holds only the claim and the writes.
    With SQLite metadata its write lock is what a request that appends rows waits for."""
    if not watches:
        return set()
    stepped = _rules_step(watches, samples, upto, now)
    seen = _seen(watches)
    with transaction.atomic():
        marks = _watermarks_lock([watch.rule for watch in watches])
        claimed = {pk: mark for pk, mark in seen.items() if marks.get(pk) == mark}
        _watermarks_move(watches, {pk: mark.watermark for pk, mark in claimed.items()}, upto)
        _write([rule for rule in stepped if rule.watch.rule.pk in claimed])
    for pk, mark in seen.items():
        alarm_evaluated(_outcome(mark, marks.get(pk), claimed=pk in claimed))
    return set(claimed)


@dataclass(frozen=True)
class _Mark:
    """A rule's claim as read: its watermark, and the version of its states."""

    watermark: int
    states_version: int


def _outcome(seen: _Mark, now: _Mark | None, *, claimed: bool) -> str:
    """The metric's outcome of one rule's evaluation: "evaluated"; "restepped" when its
    states version moved (a sweep or an edit: stepped again from there); else "duplicate"
    (another evaluation claimed the rows first, or the rule is gone)."""
    if claimed:
        return "evaluated"
    if now is not None and now.watermark == seen.watermark:
        return "restepped"
    return "duplicate"


def _seen(watches: list[_Watch]) -> dict[int, _Mark]:
    """Each rule's mark as this evaluation read it (its rows are those after the watermark)."""
    return {
        watch.rule.pk: _Mark(_watermark(watch.rule), watch.rule.states_version) for watch in watches
    }


def _watermarks_lock(rules: list[AlarmRule]) -> dict[int, _Mark]:
    """Lock the rules' rows, in id order, in the caller's transaction (PostgreSQL, MySQL;
    SQLite's write lock, taken when the transaction begins, serializes all writers), so that
    evaluations of one rule, the no-data sweep and edits take turns on its states; their
    marks as they are under the lock."""
    locked = AlarmRule.objects.select_for_update().filter(pk__in=[r.pk for r in rules])
    fields = ("pk", "last_evaluated_row_id", "states_version")
    return {
        pk: _Mark(mark or 0, version)
        for pk, mark, version in locked.order_by("pk").values_list(*fields)
    }


def _watermarks_move(watches: list[_Watch], claimed: dict[int, int], upto: int) -> None:
    """Move the claimed rules' watermarks from the one each had to `upto`: the claim of the
    rows in between. Still conditional on them: a claim the lock did not protect fails loudly
    (and rolls back) rather than evaluate rows twice."""
    for mark in set(claimed.values()):
        ids = [pk for pk, had in claimed.items() if had == mark]
        moved = (
            AlarmRule.objects.filter(pk__in=ids)
            .filter(_watermark_is(mark))
            .update(last_evaluated_row_id=upto)
        )
        if moved != len(ids):
            raise RuntimeError(f"alarm rules {ids}: watermarks moved under the evaluation's lock")
    for watch in watches:
        if watch.rule.pk in claimed:
            watch.rule.last_evaluated_row_id = upto


def _watermark_is(mark: int) -> Q:
    """Rules whose watermark is `mark` (0 stands for none yet, as _watermark reads it)."""
    if mark:
        return Q(last_evaluated_row_id=mark)
    return Q(last_evaluated_row_id__isnull=True) | Q(last_evaluated_row_id=0)


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


@dataclass(frozen=True)
class _RuleStep:
    """One rule's groups stepped through its samples: the state rows to write, and the events
    of the transitions made (neither saved yet)."""

    watch: _Watch
    states: list[_StateWrite]
    events: list[AlarmEvent]


def _rules_step(
    watches: list[_Watch], samples: list[GroupSample], upto: int, now: datetime
) -> list[_RuleStep]:
    """Step every rule's groups through its samples (those after the watermark it was read
    with) from the stored states (one query for all rules), without writing anything."""
    batches = {
        watch.rule.pk: [
            item for item in samples if _watermark(watch.rule) < (item.sample.row_id or 0) <= upto
        ]
        for watch in watches
    }
    watches = [watch for watch in watches if batches[watch.rule.pk]]
    stored = _states_read(watches, batches)
    return [
        _RuleStep(
            watch, *_rule_step(watch, stored.get(watch.rule.pk, {}), batches[watch.rule.pk], now)
        )
        for watch in watches
    ]


def _states_read(
    watches: list[_Watch], batches: dict[int, list[GroupSample]]
) -> dict[int, dict[str, AlarmState]]:
    """The stored states of the groups the samples name, of every rule: one query."""
    groups = sorted({item.group for samples in batches.values() for item in samples})
    found = AlarmState.objects.filter(
        rule_id__in=[watch.rule.pk for watch in watches], group__in=groups
    ).order_by()
    stored: dict[int, dict[str, AlarmState]] = {}
    for row in found:
        stored.setdefault(row.rule_id, {})[row.group] = row
    return stored


def _write(steps: list[_RuleStep]) -> None:
    """Write the claimed rules' states in few statements, then their events and mails."""
    _states_write([write for rule in steps for write in rule.states])
    _events_write([event for rule in steps for event in rule.events])
    for rule in steps:
        mails.events_notify(rule.watch.rule, rule.events)


def _rule_step(
    watch: _Watch, stored: dict[str, AlarmState], samples: list[GroupSample], now: datetime
) -> tuple[list[_StateWrite], list[AlarmEvent]]:
    """One rule's groups stepped through its samples: their state rows to write, and the
    events of the transitions made (not saved yet)."""
    rule, value_type = watch.rule, watch.columns.value.type
    groups = sorted({item.group for item in samples})
    states = {group: state_of(row) for group, row in stored.items()}
    counts: dict[str, int] = {}
    for item in samples:
        counts[item.group] = counts.get(item.group, 0) + 1
    transitions, newest = machines_run(watch.machine, states, samples)
    rows = [stored.get(group) or AlarmState(rule=rule, group=group) for group in groups]
    for row in rows:
        _store(row, states[row.group], newest[row.group], value_type, now, counts[row.group])
    writes = [_StateWrite(row, counts[row.group]) for row in rows]
    return writes, [_event(rule, item, value_type) for item in transitions]


def _events_write(events: list[AlarmEvent]) -> None:
    """Every event of the evaluation, with its id set: each event's id is its mail's
    idempotency key. One INSERT where the database returns the ids of a bulk insert
    (PostgreSQL, SQLite, MariaDB), else one per event (MySQL)."""
    if connection.features.can_return_rows_from_bulk_insert:
        AlarmEvent.objects.bulk_create(events)
        return
    for event in events:
        event.save()


def _states_write(writes: list[_StateWrite]) -> None:
    """Every group's state, in few statements: with the thread runner this runs in the web
    process, and its statements are what the appends wait for (the GIL, and SQLite's write
    lock). Rules that watch the same column see the same samples, and most of them leave a
    group in the same state (ok, nothing pending): their rows get the same values, written by
    one UPDATE per set of values (`samples` moved by the count added). The rest go in one
    upsert: Django's bulk_create prepares every value of every row in Python, the largest part
    of an evaluation with 20 rules (measured: docs/performance.md); its bulk_update would
    build a CASE per field and row, slower still."""
    alike: dict[_Values | None, list[AlarmState]] = {}  # None: new rows, upserted
    for write in writes:
        values = _shared_values(write) if write.row.pk is not None else None
        alike.setdefault(values, []).append(write.row)
    upserted = []
    for key, rows in alike.items():
        if key is not None and len(rows) >= SHARED_UPDATE_ROWS:
            _states_update([row.pk for row in rows], key)
        else:
            upserted += rows
    _states_upsert(upserted)


def _shared_values(write: _StateWrite) -> _Values:
    """What an UPDATE writes on the row: its state fields but `samples`, and the count added."""
    return tuple(getattr(write.row, name) for name in SET_FIELDS), write.added


def _states_update(ids: list[int], key: _Values) -> None:
    values: dict[str, Any] = dict(zip(SET_FIELDS, key[0], strict=True))
    AlarmState.objects.filter(pk__in=ids).update(samples=F("samples") + key[1], **values)


def _states_upsert(rows: list[AlarmState]) -> None:
    """The rows in one INSERT ... ON CONFLICT DO UPDATE, its values bound."""
    if not rows:
        return
    # MySQL/MariaDB name no conflict target (ON DUPLICATE KEY UPDATE takes any unique key).
    targeted = connection.features.supports_update_conflicts_with_target
    AlarmState.objects.bulk_create(
        rows,
        update_conflicts=True,
        unique_fields=["rule", "group"] if targeted else None,
        update_fields=STATE_FIELDS,
    )


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
            rule_states_changed(rule.pk)
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


def rule_states_changed(rule_id: int) -> None:
    """The rule's states changed outside an evaluation (under its lock): an evaluation that
    stepped them as they were claims nothing, and steps them again."""
    AlarmRule.objects.filter(pk=rule_id).update(states_version=F("states_version") + 1)


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
