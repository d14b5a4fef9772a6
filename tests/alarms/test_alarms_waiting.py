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
    wait = evaluation_mark_waiting(dataset_id, now=100.0)
    assert wait is not None
    assert evaluation_mark_waiting(dataset_id, now=100.15) is None
    due = evaluation_due_in(dataset_id, wait, quiet=0.2, longest=2.0, now=100.2)
    assert due == pytest.approx(0.15)
    assert evaluation_due_in(dataset_id, wait, quiet=0.2, longest=2.0, now=100.4) == 0.0


def test_commits_that_never_pause_wait_at_most_the_max_delay(dataset_id) -> None:
    wait = evaluation_mark_waiting(dataset_id, now=100.0)
    assert wait is not None
    for step in range(1, 30):
        assert evaluation_mark_waiting(dataset_id, now=100.0 + step * 0.1) is None
    due = evaluation_due_in(dataset_id, wait, quiet=0.2, longest=2.0, now=101.5)
    assert due == pytest.approx(0.5)
    assert evaluation_due_in(dataset_id, wait, quiet=0.2, longest=2.0, now=102.9) == 0.0


def test_a_max_delay_below_the_quiet_delay_waits_the_quiet_delay(dataset_id) -> None:
    wait = evaluation_mark_waiting(dataset_id, now=100.0)
    assert wait is not None
    due = evaluation_due_in(dataset_id, wait, quiet=0.5, longest=0.0, now=100.0)
    assert due == pytest.approx(0.5)


def test_an_evaluation_no_longer_waiting_is_due_at_once(dataset_id) -> None:
    wait = evaluation_mark_waiting(dataset_id, now=100.0)
    assert wait is not None
    evaluation_started(dataset_id)
    assert evaluation_due_in(dataset_id, wait, quiet=0.2, longest=2.0, now=100.0) == 0.0
    assert evaluation_mark_waiting(dataset_id, now=100.1) is not None  # the next commit queues


def test_a_stale_wait_gives_way_to_the_one_that_replaced_it(dataset_id) -> None:
    """A wait older than STALE_SECONDS (its job never started) no longer holds back a new
    one; its sender then stops (None) rather than send the new one's evaluation, early or
    twice, and the new one keeps its own due time."""
    stale = evaluation_mark_waiting(dataset_id, now=100.0)
    assert stale is not None
    later = 100.0 + STALE_SECONDS + 1
    fresh = evaluation_mark_waiting(dataset_id, now=later)
    assert fresh is not None and fresh is not stale
    assert evaluation_due_in(dataset_id, stale, quiet=0.2, longest=2.0, now=later) is None
    due = evaluation_due_in(dataset_id, fresh, quiet=0.2, longest=2.0, now=later)
    assert due == pytest.approx(0.2)
