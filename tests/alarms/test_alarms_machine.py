"""The alarm state machine, table-driven: a rule, a sequence of samples (seconds, value) and
the transitions expected, as (second, from, to, notice)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from csvhub.alarms.machine import (
    Duration,
    GroupState,
    Notice,
    Rule,
    Sample,
    State,
    silent,
    step,
)

T0 = datetime(2026, 1, 1, tzinfo=UTC)
OK, PENDING, FIRING, RESOLVING = State.OK, State.PENDING, State.FIRING, State.RESOLVING
FIRE, REPEAT, RESOLVE, NONE, LIMITED = (
    Notice.FIRE,
    Notice.REPEAT,
    Notice.RESOLVE,
    Notice.NONE,
    Notice.LIMITED,
)

HIGH = Rule(upper=Decimal(30))
CASES = [
    ("fires at once without a duration", HIGH, [(0, 20), (1, 31)], [(1, OK, FIRING, FIRE)]),
    ("a value on the threshold is in range", HIGH, [(0, 30)], []),
    ("lower threshold", Rule(lower=Decimal(0)), [(0, -1)], [(0, OK, FIRING, FIRE)]),
    (
        "resolves at once when back in range",
        HIGH,
        [(0, 31), (1, 29)],
        [(0, OK, FIRING, FIRE), (1, FIRING, OK, RESOLVE)],
    ),
    (
        "for 60 seconds: pending, then firing once the minute is over",
        Rule(upper=Decimal(30), hold=Duration(seconds=60)),
        [(0, 31), (30, 32), (60, 33)],
        [(0, OK, PENDING, NONE), (60, PENDING, FIRING, FIRE)],
    ),
    (
        "for 60 seconds: back in range within the minute fires nothing",
        Rule(upper=Decimal(30), hold=Duration(seconds=60)),
        [(0, 31), (30, 20), (70, 31)],
        [(0, OK, PENDING, NONE), (30, PENDING, OK, NONE), (70, OK, PENDING, NONE)],
    ),
    (
        "three consecutive rows",
        Rule(upper=Decimal(30), hold=Duration(rows=3)),
        [(0, 31), (1, 31), (2, 29), (3, 31), (4, 31), (5, 31)],
        [
            (0, OK, PENDING, NONE),
            (2, PENDING, OK, NONE),
            (3, OK, PENDING, NONE),
            (5, PENDING, FIRING, FIRE),
        ],
    ),
    (
        "hysteresis: dancing between the clear and firing thresholds does not flap",
        Rule(upper=Decimal(30), clear_upper=Decimal(25)),
        [(0, 31), (1, 29), (2, 31), (3, 28), (4, 24)],
        [(0, OK, FIRING, FIRE), (4, FIRING, OK, RESOLVE)],
    ),
    (
        "clear duration: resolving, back to firing, then resolved",
        Rule(upper=Decimal(30), clear_hold=Duration(seconds=10)),
        [(0, 31), (1, 20), (5, 31), (6, 20), (16, 20)],
        [
            (0, OK, FIRING, FIRE),
            (1, FIRING, RESOLVING, NONE),
            (5, RESOLVING, FIRING, NONE),
            (6, FIRING, RESOLVING, NONE),
            (16, RESOLVING, OK, RESOLVE),
        ],
    ),
    (
        "no resolve notice when the rule does not want one",
        Rule(upper=Decimal(30), notify_resolve=False),
        [(0, 31), (1, 20)],
        [(0, OK, FIRING, FIRE), (1, FIRING, OK, NONE)],
    ),
    (
        "repeat every 60 s while firing",
        Rule(upper=Decimal(30), repeat_seconds=60),
        [(0, 31), (30, 31), (60, 31), (90, 31), (120, 35)],
        [(0, OK, FIRING, FIRE), (60, FIRING, FIRING, REPEAT), (120, FIRING, FIRING, REPEAT)],
    ),
    (
        "never repeat",
        HIGH,
        [(0, 31), (600, 31), (6000, 31)],
        [(0, OK, FIRING, FIRE)],
    ),
    (
        "rate limit: firing again within repeat_every is recorded without a mail",
        Rule(upper=Decimal(30), repeat_seconds=300),
        [(0, 31), (10, 20), (20, 31), (400, 20), (500, 31)],
        [
            (0, OK, FIRING, FIRE),
            (10, FIRING, OK, RESOLVE),
            (20, OK, FIRING, LIMITED),
            (400, FIRING, OK, RESOLVE),
            (500, OK, FIRING, FIRE),
        ],
    ),
    (
        "a late row changes nothing, however far out of range",
        Rule(upper=Decimal(30)),
        [(10, 20), (5, 99), (11, 21)],
        [],
    ),
    (
        "a late in-range row does not resolve a firing alarm",
        Rule(upper=Decimal(30)),
        [(10, 31), (5, 20)],
        [(10, OK, FIRING, FIRE)],
    ),
    (
        "samples of equal time are not late",
        Rule(upper=Decimal(30)),
        [(10, 20), (10, 31)],
        [(10, OK, FIRING, FIRE)],
    ),
]


@pytest.mark.parametrize(
    ("rule", "samples", "expected"), [c[1:] for c in CASES], ids=[c[0] for c in CASES]
)
def test_machine(rule, samples, expected) -> None:
    state = GroupState()
    made = []
    for row_id, (second, value) in enumerate(samples):
        at = T0 + timedelta(seconds=second)
        state, transition = step(rule, state, Sample(at, Decimal(value), row_id))
        if transition is not None:
            assert transition.at == at
            assert transition.row_id == row_id
            made.append((second, transition.before, transition.after, transition.notice))
    assert made == expected


def test_late_rows_are_counted() -> None:
    state = GroupState()
    for second in (10, 5, 3, 11):
        state, _ = step(HIGH, state, Sample(T0 + timedelta(seconds=second), Decimal(1)))
    assert state.late == 2
    assert state.last_sample_at == T0 + timedelta(seconds=11)


def test_timestamp_thresholds() -> None:
    rule = Rule(upper=datetime(2026, 1, 1, 12, tzinfo=UTC))
    _, transition = step(rule, GroupState(), Sample(T0, datetime(2026, 1, 2, tzinfo=UTC)))
    assert transition is not None and transition.notice is FIRE


NO_DATA = Rule(upper=Decimal(30), no_data_seconds=60)
SILENCES = [
    ("quiet for less than the limit", NO_DATA, OK, 59, None),
    ("quiet for the limit fires", NO_DATA, OK, 60, (OK, FIRING, Notice.NO_DATA)),
    ("a pending group fires too", NO_DATA, PENDING, 61, (PENDING, FIRING, Notice.NO_DATA)),
    ("a firing group fires once", NO_DATA, FIRING, 3600, None),
    ("no limit, no sweep", HIGH, OK, 86400, None),
]


@pytest.mark.parametrize(
    ("rule", "state", "quiet", "expected"), [c[1:] for c in SILENCES], ids=[c[0] for c in SILENCES]
)
def test_no_data(rule, state, quiet, expected) -> None:
    now = T0 + timedelta(seconds=quiet)
    after, transition = silent(rule, GroupState(state=state), last_seen_at=T0, now=now)
    if expected is None:
        assert transition is None and after.state is state
        return
    assert (transition.before, transition.after, transition.notice) == expected
    assert after.state is FIRING and after.since == now


def test_data_coming_back_resolves_a_no_data_alarm() -> None:
    fired, _ = silent(NO_DATA, GroupState(), last_seen_at=T0, now=T0 + timedelta(minutes=5))
    _, transition = step(NO_DATA, fired, Sample(T0 + timedelta(minutes=6), Decimal(20)))
    assert transition is not None
    assert (transition.before, transition.after, transition.notice) == (FIRING, OK, RESOLVE)
