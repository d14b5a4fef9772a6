"""The alarm state machine: pure Python, no Django, so every rule of it is testable as a table.

One machine per (rule, group). Each sample (a row's time and value) moves it:

    state      sample is …                         next state   notifies
    ok         out of range, `for` not yet met     pending      no
    ok         out of range, `for` met at once     firing       fire
    pending    out of range, `for` met             firing       fire
    pending    in range                            ok           no
    firing     clear, clear duration not yet met   resolving    no
    firing     clear, clear duration met at once   ok           resolve
    firing     not clear, `repeat_every` elapsed   firing       repeat
    (firing again within `repeat_every` of the group's last fire mail: recorded, no mail)
    resolving  clear, clear duration met           ok           resolve
    resolving  not clear                           firing       no
    any        no sample for `no_data` seconds     firing       fire (the no-data sweep)

"Out of range" is below `lower` or above `upper`; "clear" is within the clear thresholds
(hysteresis; they default to the firing thresholds), so a value dancing on a threshold that
sits between the two does not flap. A duration is seconds of sample time or a count of
consecutive rows.

Late samples: a sample older than the newest one the group has seen changes nothing (it is
counted): the state describes the newest sample, and a decision taken on newer data is never
re-taken on older data, so a late row never re-fires or re-resolves a past transition.
Samples that arrive together are sorted by time first, so only a sample that arrives after a
newer one was evaluated is late.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta
from decimal import Decimal

type Measure = int | Decimal | date | datetime


class State(enum.StrEnum):
    OK = "ok"
    PENDING = "pending"
    FIRING = "firing"
    RESOLVING = "resolving"


class Notice(enum.StrEnum):
    """Why a transition sends a mail (or none)."""

    NONE = ""
    FIRE = "fire"
    REPEAT = "repeat"
    RESOLVE = "resolve"
    NO_DATA = "no_data"
    LIMITED = "rate_limited"  # would fire, but the group had a fire mail within repeat_every


@dataclass(frozen=True)
class Duration:
    """How long a condition must hold: seconds of sample time, or consecutive rows (0 and 1
    row both mean "at once")."""

    seconds: int = 0
    rows: int = 0

    def met(self, *, since: datetime, at: datetime, count: int) -> bool:
        if self.rows:
            return count >= self.rows
        return at - since >= timedelta(seconds=self.seconds)


@dataclass(frozen=True)
class Rule:
    lower: Measure | None = None
    upper: Measure | None = None
    clear_lower: Measure | None = None  # default: lower
    clear_upper: Measure | None = None  # default: upper
    hold: Duration = Duration()  # the rule's `for`
    clear_hold: Duration = Duration()
    repeat_seconds: int | None = None  # None: never repeat
    notify_resolve: bool = True
    no_data_seconds: int | None = None

    def out_of_range(self, value: Measure) -> bool:
        return _below(value, self.lower) or _above(value, self.upper)

    def clear(self, value: Measure) -> bool:
        lower = self.lower if self.clear_lower is None else self.clear_lower
        upper = self.upper if self.clear_upper is None else self.clear_upper
        return not (_below(value, lower) or _above(value, upper))


def _below(value: Measure, bound: Measure | None) -> bool:
    return bound is not None and value < bound  # type: ignore[operator]


def _above(value: Measure, bound: Measure | None) -> bool:
    return bound is not None and value > bound  # type: ignore[operator]


@dataclass(frozen=True)
class GroupState:
    state: State = State.OK
    since: datetime | None = None  # when the current state (or its pending/resolving run) began
    count: int = 0  # consecutive samples of the current pending or resolving run
    last_sample_at: datetime | None = None  # the newest sample time seen
    last_notified_at: datetime | None = None  # the last fire or repeat mail (rate limit)
    late: int = 0  # samples that arrived older than last_sample_at


@dataclass(frozen=True)
class Sample:
    at: datetime
    value: Measure
    row_id: int | None = None


@dataclass(frozen=True)
class Transition:
    at: datetime
    before: State
    after: State
    notice: Notice
    value: Measure | None
    row_id: int | None


def step(rule: Rule, current: GroupState, sample: Sample) -> tuple[GroupState, Transition | None]:
    """The group's state after `sample`, and the transition it made (None: no change)."""
    if current.last_sample_at is not None and sample.at < current.last_sample_at:
        return replace(current, late=current.late + 1), None
    current = replace(current, last_sample_at=sample.at)
    handler = _HANDLERS[current.state]
    after, notice = handler(rule, current, sample)
    if after.state == current.state and notice is Notice.NONE:
        return after, None
    if notice is Notice.FIRE and not fire_allowed(rule, current.last_notified_at, sample.at):
        notice = Notice.LIMITED
    if notice in (Notice.FIRE, Notice.REPEAT):
        after = replace(after, last_notified_at=sample.at)
    transition = Transition(
        sample.at, current.state, after.state, notice, sample.value, sample.row_id
    )
    return after, transition


def _from_ok(rule: Rule, current: GroupState, sample: Sample) -> tuple[GroupState, Notice]:
    if not rule.out_of_range(sample.value):
        return current, Notice.NONE
    pending = replace(current, state=State.PENDING, since=sample.at, count=1)
    return _maybe_fire(rule, pending, sample)


def _from_pending(rule: Rule, current: GroupState, sample: Sample) -> tuple[GroupState, Notice]:
    if not rule.out_of_range(sample.value):
        return replace(current, state=State.OK, since=sample.at, count=0), Notice.NONE
    return _maybe_fire(rule, replace(current, count=current.count + 1), sample)


def _maybe_fire(rule: Rule, pending: GroupState, sample: Sample) -> tuple[GroupState, Notice]:
    assert pending.since is not None
    if not rule.hold.met(since=pending.since, at=sample.at, count=pending.count):
        return pending, Notice.NONE
    firing = replace(pending, state=State.FIRING, since=sample.at, count=0)
    return firing, Notice.FIRE


def _from_firing(rule: Rule, current: GroupState, sample: Sample) -> tuple[GroupState, Notice]:
    if rule.clear(sample.value):
        resolving = replace(current, state=State.RESOLVING, since=sample.at, count=1)
        return _maybe_resolve(rule, resolving, sample)
    if _repeat_due(rule, current, sample.at):
        return current, Notice.REPEAT
    return current, Notice.NONE


def _from_resolving(rule: Rule, current: GroupState, sample: Sample) -> tuple[GroupState, Notice]:
    if not rule.clear(sample.value):
        return replace(current, state=State.FIRING, since=sample.at, count=0), Notice.NONE
    return _maybe_resolve(rule, replace(current, count=current.count + 1), sample)


def _maybe_resolve(rule: Rule, resolving: GroupState, sample: Sample) -> tuple[GroupState, Notice]:
    assert resolving.since is not None
    if not rule.clear_hold.met(since=resolving.since, at=sample.at, count=resolving.count):
        return resolving, Notice.NONE
    ok = replace(resolving, state=State.OK, since=sample.at, count=0)
    return ok, Notice.RESOLVE if rule.notify_resolve else Notice.NONE


def _repeat_due(rule: Rule, current: GroupState, at: datetime) -> bool:
    if rule.repeat_seconds is None or current.last_notified_at is None:
        return False
    return at - current.last_notified_at >= timedelta(seconds=rule.repeat_seconds)


_HANDLERS = {
    State.OK: _from_ok,
    State.PENDING: _from_pending,
    State.FIRING: _from_firing,
    State.RESOLVING: _from_resolving,
}


def silent(
    rule: Rule, current: GroupState, *, last_seen_at: datetime, now: datetime
) -> tuple[GroupState, Transition | None]:
    """The no-data check at `now`: a group that has sent nothing since `last_seen_at` for the
    rule's `no_data_seconds` fires (once: a firing group stays firing until data comes back
    and clears it)."""
    if rule.no_data_seconds is None or current.state is State.FIRING:
        return current, None
    if now - last_seen_at < timedelta(seconds=rule.no_data_seconds):
        return current, None
    firing = replace(current, state=State.FIRING, since=now, count=0, last_notified_at=now)
    return firing, Transition(now, current.state, State.FIRING, Notice.NO_DATA, None, None)


def fire_allowed(rule: Rule, last_mail_at: datetime | None, at: datetime) -> bool:
    """The rate limit: at most one fire mail per group per `repeat_every` (a group that fires,
    resolves and fires again within it gets its events, not a second mail)."""
    if rule.repeat_seconds is None or last_mail_at is None:
        return True
    return at - last_mail_at >= timedelta(seconds=rule.repeat_seconds)
