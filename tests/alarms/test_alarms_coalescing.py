"""Evaluations coalesce: one evaluation covers every row committed since each rule's watermark,
a duplicate job evaluates nothing, and each row is evaluated once whatever jobs run."""

from __future__ import annotations

import json
import time

import pytest
from django.db import transaction
from django.tasks import task_backends

from csvhub.alarms.evaluation import rules_evaluate
from csvhub.alarms.models import AlarmEvent, AlarmRule, AlarmState
from csvhub.metrics.definitions import metrics
from tests.alarms.helpers import rule_add, sensors_append, sensors_dataset
from tests.datasets.pipeline import api_client_for, make_org

pytestmark = pytest.mark.django_db(transaction=True)

THREADS = {"default": {"BACKEND": "csvhub.jobs.backends.ThreadBackend", "OPTIONS": {"threads": 2}}}


def _evaluations(outcome: str = "evaluated") -> float:
    found = metrics().registry.get_sample_value(
        "csvhub_alarm_evaluations_total", {"outcome": outcome}
    )
    return found or 0.0


def _paused(rule: AlarmRule, enabled: bool) -> None:
    # Straight to the row, not through the service (which moves the watermark on enabling):
    # the rows committed meanwhile stay for the next evaluation.
    AlarmRule.objects.filter(pk=rule.pk).update(enabled=enabled)


def _row(i: int) -> str:
    return f"s{i % 3},2026-01-01 00:{i:02d}:00,{40 if i % 10 == 9 else 20}\n"


def _watermark(rule: AlarmRule) -> int | None:
    return AlarmRule.objects.get(pk=rule.pk).last_evaluated_row_id


def test_one_evaluation_covers_thirty_commits_and_a_duplicate_evaluates_nothing(
    warehouse, smtp
) -> None:
    dataset = sensors_dataset(make_org())
    rule = rule_add(dataset)
    _paused(rule, False)  # 30 commits, none evaluated yet (as if their jobs were queued)
    for i in range(30):
        sensors_append(dataset, _row(i))
    _paused(rule, True)
    before = _evaluations()

    assert rules_evaluate(dataset_id=str(dataset.pk)) == 1
    assert rules_evaluate(dataset_id=str(dataset.pk)) == 0  # a duplicate job: nothing new

    assert _evaluations() - before == 1
    dataset.refresh_from_db()
    assert _watermark(rule) == dataset.last_row_id
    samples = {s.group: s.samples for s in AlarmState.objects.filter(rule=rule)}
    assert samples == {"s0": 10, "s1": 10, "s2": 10}
    # The rows at 00:09, 00:19 and 00:29 (s0, s1, s2) are too hot, each between two fine ones.
    fired = AlarmEvent.objects.filter(rule=rule, to_state="firing")
    assert sorted(e.group for e in fired) == ["s0", "s1", "s2"]


def test_a_crash_between_read_and_commit_leaves_the_rows_to_the_retry(warehouse, smtp) -> None:
    dataset = sensors_dataset(make_org())
    rule = rule_add(dataset)
    _paused(rule, False)
    sensors_append(dataset, "a,2026-01-01 00:01:00,45\n")
    _paused(rule, True)
    before = _watermark(rule)

    class Crash(Exception):
        pass

    def crash() -> None:
        raise Crash

    # The evaluation's transaction dies at its commit (on_commit callbacks run after it; a
    # failing savepoint-free atomic block around it rolls its writes back).
    with pytest.raises(Crash), transaction.atomic():
        rules_evaluate(dataset_id=str(dataset.pk))
        crash()
    assert _watermark(rule) == before and not AlarmEvent.objects.exists()

    assert rules_evaluate(dataset_id=str(dataset.pk)) == 1  # the retried job
    assert rules_evaluate(dataset_id=str(dataset.pk)) == 0
    assert [(e.group, e.to_state) for e in AlarmEvent.objects.all()] == [("a", "firing")]
    assert AlarmState.objects.get(rule=rule, group="a").samples == 1


def test_two_evaluators_with_the_same_reading_evaluate_the_rows_once(warehouse, smtp) -> None:
    """Two workers read the same rule and rows; the second's claim (the watermark's
    compare-and-set) finds it moved and writes nothing."""
    from csvhub.alarms import evaluation

    dataset = sensors_dataset(make_org())
    rule = rule_add(dataset)
    _paused(rule, False)
    sensors_append(dataset, "a,2026-01-01 00:01:00,45\nb,2026-01-01 00:01:00,46\n")
    _paused(rule, True)
    dataset.refresh_from_db()
    assert dataset.last_row_id is not None
    first = AlarmRule.objects.get(pk=rule.pk)
    second = AlarmRule.objects.get(pk=rule.pk)  # read before the first one commits

    assert evaluation._rules_evaluate(dataset, [first], dataset.last_row_id) == (1, [])
    assert evaluation._rules_evaluate(dataset, [second], dataset.last_row_id) == (0, [rule.pk])
    assert AlarmEvent.objects.count() == 2
    assert sum(s.samples for s in AlarmState.objects.filter(rule=rule)) == 2


def test_a_rule_enabled_again_watches_the_rows_from_then_on(warehouse, smtp) -> None:
    from csvhub.alarms.services import alarm_rule_update

    dataset = sensors_dataset(make_org())
    rule = rule_add(dataset)
    alarm_rule_update(rule=rule, data={"enabled": False})
    sensors_append(dataset, "a,2026-01-01 00:01:00,45\n")  # while paused: not evaluated
    alarm_rule_update(rule=AlarmRule.objects.get(pk=rule.pk), data={"enabled": True})
    sensors_append(dataset, "b,2026-01-01 00:02:00,46\n")
    assert [e.group for e in AlarmEvent.objects.all()] == ["b"]


def test_thread_runner_queues_one_evaluation_for_a_burst_of_appends(smtp, settings) -> None:
    dataset = sensors_dataset(make_org())
    rule = rule_add(dataset)
    client = api_client_for(dataset.organization)
    settings.TASKS = THREADS
    # Long enough for the burst below to commit before the evaluation starts.
    settings.CSVHUB_ALARM_EVALUATION_DELAY_SECONDS = 5.0
    runs_before = _runs()
    started = time.monotonic()
    for i in range(30):
        _post_row(client, dataset, i)
    assert time.monotonic() - started < 5.0, "the burst took longer than the debounce"
    _evaluated_all(rule, dataset)
    assert _runs() - runs_before == 1
    assert sum(s.samples for s in AlarmState.objects.filter(rule=rule)) == 30


def test_a_burst_longer_than_the_delay_is_evaluated_once_after_its_last_commit(
    smtp, settings
) -> None:
    """The delay is a pause of the dataset's commits, not a time after the first: appends
    0.1 s apart for longer than the delay are evaluated once, after the burst (fails with a
    delay counted from the first commit: an evaluation would run in the middle of it)."""
    dataset, rule, client = _streamed(settings, delay=1.0, max_delay=60.0)
    runs_before = _runs()
    started = time.monotonic()
    for i in range(15):
        _post_row(client, dataset, i)
        time.sleep(0.1)
    assert time.monotonic() - started > 1.5, "the burst must outlast the delay"
    assert _runs() == runs_before, "evaluated during the burst"
    _evaluated_all(rule, dataset)
    assert _runs() - runs_before == 1


def test_a_steady_stream_is_evaluated_every_max_delay(smtp, settings) -> None:
    """Commits that never pause for the delay are still evaluated: at the latest the max
    delay after the commit that queued the evaluation, not before (fails without the bound:
    the stream below would wait for its end; and with the delay taken for the bound)."""
    dataset, rule, client = _streamed(settings, delay=1.0, max_delay=2.0)
    runs_before = _runs()
    started = time.monotonic()
    runs_early = None
    for i in range(40):
        _post_row(client, dataset, i)
        time.sleep(0.1)
        if runs_early is None and time.monotonic() - started > 1.5:
            runs_early = _runs() - runs_before
    assert time.monotonic() - started > 4.0
    assert runs_early == 0, "sent after the quiet delay, not the max delay"
    assert _runs() - runs_before >= 1, "nothing evaluated during a 4 s stream"
    _evaluated_all(rule, dataset)
    assert sum(s.samples for s in AlarmState.objects.filter(rule=rule)) == 40


def _streamed(settings, *, delay: float, max_delay: float):
    """A dataset with a rule, its org's API client, the thread runner and these delays."""
    dataset = sensors_dataset(make_org())
    rule = rule_add(dataset)
    settings.TASKS = THREADS
    settings.CSVHUB_ALARM_EVALUATION_DELAY_SECONDS = delay
    settings.CSVHUB_ALARM_EVALUATION_MAX_DELAY_SECONDS = max_delay
    return dataset, rule, api_client_for(dataset.organization)


def _runs() -> float:
    return _evaluations() + _evaluations("duplicate")


def _post_row(client, dataset, i: int) -> None:
    answer = client.post(
        f"/api/v1/datasets/{dataset.slug}/rows/",
        json.dumps({"sensor": f"s{i % 3}", "at": f"2026-01-01 01:{i:02d}:00", "temperature": 20}),
        content_type="application/json",
    )
    assert answer.status_code == 201, answer.content


def _evaluated_all(rule: AlarmRule, dataset) -> None:
    """Wait until the rule has evaluated every row of the dataset, and the job threads idle."""
    dataset.refresh_from_db()
    deadline = time.monotonic() + 30
    while _watermark(rule) != dataset.last_row_id and time.monotonic() < deadline:
        time.sleep(0.05)
    task_backends["default"].wait()
    assert _watermark(rule) == dataset.last_row_id


def test_the_periodic_catch_up_evaluates_rows_whose_evaluation_was_lost(warehouse, smtp) -> None:
    """An evaluation waits in the committing process for its debounce: rows whose evaluation
    was lost there (the process stopped) are found behind the watermark and evaluated."""
    from django.utils import timezone

    from csvhub.alarms.schedule import evaluations_catch_up
    from csvhub.alarms.selectors import datasets_behind

    quiet = sensors_dataset(make_org("quiet"))
    rule_add(quiet)
    sensors_append(quiet, _row(1))  # evaluated at its commit: not behind
    dataset = sensors_dataset(make_org())
    rule = rule_add(dataset)
    _paused(rule, False)  # as if the process had stopped before sending the evaluations
    for i in range(10):
        sensors_append(dataset, _row(i))
    _paused(rule, True)
    assert datasets_behind() == [str(dataset.pk)]

    evaluations_catch_up(timezone.now())

    dataset.refresh_from_db()
    assert _watermark(rule) == dataset.last_row_id
    assert sum(s.samples for s in AlarmState.objects.filter(rule=rule)) == 10
    assert [e.group for e in AlarmEvent.objects.filter(rule=rule)] == ["s0"]
    assert datasets_behind() == []


def test_a_rule_claimed_elsewhere_is_left_out_and_the_others_commit(warehouse, smtp) -> None:
    """All rules of an evaluation commit in one transaction; a rule whose watermark another
    evaluation moved since it was read gets nothing written, the others their rows."""
    from csvhub.alarms import evaluation

    dataset = sensors_dataset(make_org())
    hot, hotter = rule_add(dataset, name="hot"), rule_add(dataset, name="hotter", upper="35")
    for rule in (hot, hotter):
        _paused(rule, False)
    sensors_append(dataset, "a,2026-01-01 00:01:00,45\nb,2026-01-01 00:01:00,46\n")
    for rule in (hot, hotter):
        _paused(rule, True)
    dataset.refresh_from_db()
    assert dataset.last_row_id is not None
    stale_hot = AlarmRule.objects.get(pk=hot.pk)  # read before another evaluation claims it
    assert evaluation._rules_evaluate(
        dataset, [AlarmRule.objects.get(pk=hot.pk)], dataset.last_row_id
    ) == (1, [])

    fresh_hotter = AlarmRule.objects.get(pk=hotter.pk)
    upto = dataset.last_row_id
    assert evaluation._rules_evaluate(dataset, [stale_hot, fresh_hotter], upto) == (1, [hot.pk])

    assert _watermark(hot) == _watermark(hotter) == upto
    assert sum(s.samples for s in AlarmState.objects.filter(rule=hot)) == 2  # not 4
    assert sum(s.samples for s in AlarmState.objects.filter(rule=hotter)) == 2
    fired = AlarmEvent.objects.filter(to_state="firing")
    assert sorted((e.rule_id, e.group) for e in fired) == sorted(
        [(hot.pk, "a"), (hot.pk, "b"), (hotter.pk, "a"), (hotter.pk, "b")]
    )


def test_a_state_the_sweep_moved_after_the_read_is_stepped_again_not_overwritten(
    warehouse, smtp, monkeypatch
) -> None:
    """The machines are stepped before the evaluation's transaction; the no-data sweep fires a
    group in between (it takes the rule's lock but moves no watermark). The evaluation must
    find the state changed and step that rule again from the firing state: written over, the
    group would read "ok" with its last event saying "firing" and no resolve ever sent."""
    from datetime import timedelta

    from django.utils import timezone

    from csvhub.alarms import evaluation

    dataset = sensors_dataset(make_org())
    rule = rule_add(dataset, no_data_seconds=60)
    sensors_append(dataset, "a,2026-01-01 00:01:00,20\n")  # group a: ok, seen now
    _paused(rule, False)
    sensors_append(dataset, "a,2026-01-01 00:02:00,21\n")
    _paused(rule, True)
    stepped_first = evaluation._rules_step
    swept, in_transaction = [], []

    def sweep_after_the_first_read(*args, **kwargs):
        in_transaction.append(transaction.get_connection().in_atomic_block)
        stepped = stepped_first(*args, **kwargs)
        if not swept:
            swept.append(evaluation.no_data_sweep(now=timezone.now() + timedelta(seconds=61)))
        return stepped

    monkeypatch.setattr(evaluation, "_rules_step", sweep_after_the_first_read)

    assert rules_evaluate(dataset_id=str(dataset.pk)) == 1
    assert swept == [1]
    assert in_transaction == [False, False]  # stepped outside the write lock, both times
    moves = list(
        AlarmEvent.objects.filter(rule=rule, group="a")
        .order_by("id")
        .values_list("from_state", "to_state", "value")
    )
    assert moves == [("ok", "firing", ""), ("firing", "ok", "21")]
    assert AlarmState.objects.get(rule=rule, group="a").state == "ok"
    assert AlarmState.objects.get(rule=rule, group="a").samples == 2


def test_a_rule_edited_after_the_read_is_stepped_again_by_its_new_thresholds(
    warehouse, smtp, monkeypatch
) -> None:
    """An edit between the evaluation's stepping and its claim (the threshold raised above the
    value) moves the rule's states version: the evaluation claims nothing by the old rule, reads
    the rule again and steps the group by the new one (fails without the version: the group
    fires by a threshold the rule no longer has)."""
    from csvhub.alarms import evaluation
    from csvhub.alarms.services import alarm_rule_update

    dataset = sensors_dataset(make_org())
    rule = rule_add(dataset)  # upper 30
    _paused(rule, False)
    sensors_append(dataset, "a,2026-01-01 00:01:00,45\n")
    _paused(rule, True)
    stepped_first = evaluation._rules_step
    edited: list[bool] = []

    def edit_after_the_first_read(*args, **kwargs):
        stepped = stepped_first(*args, **kwargs)
        if not edited:
            alarm_rule_update(rule=AlarmRule.objects.get(pk=rule.pk), data={"upper": "50"})
            edited.append(True)
        return stepped

    monkeypatch.setattr(evaluation, "_rules_step", edit_after_the_first_read)
    restepped = _evaluations("restepped")

    assert rules_evaluate(dataset_id=str(dataset.pk)) == 1
    assert edited == [True]
    assert _evaluations("restepped") - restepped == 1
    assert not AlarmEvent.objects.filter(rule=rule).exists()
    assert AlarmState.objects.get(rule=rule, group="a").state == "ok"
    assert AlarmState.objects.get(rule=rule, group="a").samples == 1


@pytest.mark.parametrize("rules", [2, 8])
def test_an_evaluation_costs_the_same_queries_whatever_the_number_of_rules(rules, smtp) -> None:
    """The rules sharing a read are claimed, read and written together: one transaction
    whose statements do not grow with the rules (each rule's own transaction and statements
    made appends wait on SQLite's write lock and the web process's GIL)."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    dataset = sensors_dataset(make_org())
    watched = [rule_add(dataset, name=f"hot {i}", upper=str(50 + i)) for i in range(rules)]
    for rule in watched:
        _paused(rule, False)
    sensors_append(dataset, "a,2026-01-01 00:01:00,25\nb,2026-01-01 00:01:00,26\n")
    for rule in watched:
        _paused(rule, True)

    with CaptureQueriesContext(connection) as queries:
        assert rules_evaluate(dataset_id=str(dataset.pk)) == rules

    writes = [q["sql"] for q in queries.captured_queries if not q["sql"].startswith("SELECT")]
    # The watermarks' UPDATE, the states' upsert, and the transaction's BEGIN and COMMIT.
    assert len(writes) <= 4, writes
    assert sum(s.samples for s in AlarmState.objects.all()) == 2 * rules


def test_rules_that_leave_a_group_alike_are_updated_together_and_the_others_alone(
    warehouse, smtp
) -> None:
    """Four rules leave group a ok with the same values (one UPDATE for them); the fifth, firing,
    keeps its own: each row ends as if written alone."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    dataset = sensors_dataset(make_org())
    hot = rule_add(dataset, name="hot", upper="30")
    calm = [rule_add(dataset, name=f"calm {i}", upper=str(50 + i)) for i in range(4)]
    sensors_append(dataset, "a,2026-01-01 00:01:00,40\n")
    with CaptureQueriesContext(connection) as queries:
        sensors_append(dataset, "a,2026-01-01 00:02:00,41\nb,2026-01-01 00:02:00,20\n")
    smtp.inbox.wait_for(1)
    table = AlarmState._meta.db_table
    shared = [
        q["sql"]
        for q in queries.captured_queries
        if q["sql"].startswith("UPDATE") and table in q["sql"] and "samples" in q["sql"]
    ]
    assert len(shared) == 1, shared  # the four calm rules' rows of group a, together

    dataset.refresh_from_db()
    for rule in [hot, *calm]:
        state = AlarmState.objects.get(rule=rule, group="a")
        assert (state.samples, state.last_value) == (2, "41")
        assert state.last_row_id == dataset.last_row_id - 1
        assert state.state == ("firing" if rule == hot else "ok")
        assert AlarmState.objects.get(rule=rule, group="b").samples == 1
    assert [(e.rule_id, e.to_state) for e in AlarmEvent.objects.all()] == [(hot.pk, "firing")]


def test_a_dataset_deletion_locks_its_rules_before_it_deletes_their_states(smtp) -> None:
    """An evaluation locks a rule, then writes its states; Django deletes a dataset's alarm
    states and events before its rules. The deletion must take the rules first, in id order
    (as evaluations do), or the two would lock the same rows in opposite orders."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from csvhub.datasets.services import dataset_delete

    dataset = sensors_dataset(make_org())
    rules = [rule_add(dataset, name=f"hot {i}") for i in range(3)]
    sensors_append(dataset, "a,2026-01-01 00:01:00,45\n")
    assert AlarmState.objects.filter(rule__in=rules).count() == 3

    with CaptureQueriesContext(connection) as caught:
        dataset_delete(dataset=dataset)

    touching = [q["sql"] for q in caught.captured_queries if '"alarms_' in q["sql"]]
    first_delete = next(i for i, sql in enumerate(touching) if sql.startswith("DELETE"))
    # Django's own collecting SELECT orders the rules by the model's ordering (created_at
    # first); the lock orders them by id alone (SQLite, the metadata database of the tests,
    # leaves FOR UPDATE out of the SQL).
    in_id_order = [
        sql
        for sql in touching[:first_delete]
        if sql.startswith("SELECT")
        and 'FROM "alarms_alarmrule"' in sql
        and "created_at" not in sql.partition("ORDER BY")[2]
        and sql.partition("ORDER BY")[2]
    ]
    assert in_id_order, touching[: first_delete + 1]
    assert not AlarmRule.objects.filter(pk__in=[rule.pk for rule in rules]).exists()
