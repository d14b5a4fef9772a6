"""When a waiting evaluation is due: after a pause of the dataset's commits, bounded by the
max delay after the commit that queued it (csvhub.alarms.waiting; times given, not slept)."""

from __future__ import annotations

import pytest

from csvhub.alarms.waiting import (
    STALE_SECONDS,
    evaluation_due_in,
    evaluation_mark_waiting,
    evaluation_started,
)


@pytest.fixture
def dataset_id():
    name = "waiting-test"
    evaluation_started(name)  # no mark left by another test
    yield name
    evaluation_started(name)


def test_each_commit_pushes_the_evaluation_back_by_the_quiet_delay(dataset_id) -> None:
    assert evaluation_mark_waiting(dataset_id, now=100.0)
    assert not evaluation_mark_waiting(dataset_id, now=100.15)
    assert evaluation_due_in(dataset_id, quiet=0.2, longest=2.0, now=100.2) == pytest.approx(0.15)
    assert evaluation_due_in(dataset_id, quiet=0.2, longest=2.0, now=100.4) == 0.0


def test_commits_that_never_pause_wait_at_most_the_max_delay(dataset_id) -> None:
    assert evaluation_mark_waiting(dataset_id, now=100.0)
    for step in range(1, 30):
        assert not evaluation_mark_waiting(dataset_id, now=100.0 + step * 0.1)
    assert evaluation_due_in(dataset_id, quiet=0.2, longest=2.0, now=101.5) == pytest.approx(0.5)
    assert evaluation_due_in(dataset_id, quiet=0.2, longest=2.0, now=102.9) == 0.0


def test_a_max_delay_below_the_quiet_delay_waits_the_quiet_delay(dataset_id) -> None:
    assert evaluation_mark_waiting(dataset_id, now=100.0)
    assert evaluation_due_in(dataset_id, quiet=0.5, longest=0.0, now=100.0) == pytest.approx(0.5)


def test_an_evaluation_no_longer_waiting_is_due_at_once(dataset_id) -> None:
    assert evaluation_mark_waiting(dataset_id, now=100.0)
    evaluation_started(dataset_id)
    assert evaluation_due_in(dataset_id, quiet=0.2, longest=2.0, now=100.0) == 0.0
    assert evaluation_mark_waiting(dataset_id, now=100.1)  # the next commit queues another


def test_a_stale_mark_no_longer_holds_back_a_new_evaluation(dataset_id) -> None:
    assert evaluation_mark_waiting(dataset_id, now=100.0)
    assert evaluation_mark_waiting(dataset_id, now=100.0 + STALE_SECONDS + 1)
