"""Retention with a controllable clock: originals deleted and answering 410, rows before the
cut deleted with summaries left exact, legal holds respected, a killed run resumed."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from csvhub.datasets.models import Dataset, Upload
from csvhub.lifecycle.models import RetentionDeletion, RetentionRun, RunState
from csvhub.lifecycle.policies import hold_create, override_update, policy_update
from csvhub.lifecycle.retention import retention_run
from tests.datasets.pipeline import upload, warehouse_rows

pytestmark = pytest.mark.django_db(transaction=True)

DAY = timedelta(days=1)
# Readings a week apart, the oldest first; with the clock at NOW and 90 days kept, the first
# six (130 .. 95 days old) go and the other four (88 .. 67) stay. Empty cells are kept by retention.
NOW = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)
READINGS = [
    (NOW - timedelta(days=130 - 7 * i), f"{10 + i * 1.25:.2f}", f"n{i}" * (i % 3 + 1))
    for i in range(10)
]


def _csv(rows) -> str:
    """Every type: a timestamp, a decimal, text, a boolean, an integer and a date."""
    lines = ["measured_at,value,note,ok,count,day"]
    for at, value, note in rows:
        ok = "true" if len(note) % 2 else "false"
        lines.append(f"{at:%Y-%m-%d %H:%M:%S},{value},{note},{ok},{len(note) * 7},{at:%Y-%m-%d}")
    lines.append(",99.50,,,,")  # no time: no age, never deleted
    return "\n".join(lines) + "\n"


def _aged(upload_: Upload, days: int) -> None:
    """Make the upload have succeeded `days` before NOW."""
    Upload.objects.filter(pk=upload_.pk).update(finished_at=NOW - days * DAY)


# -- original files ----------------------------------------------------------------------------


def test_original_past_retention_is_deleted_and_answers_410(storage, acme, acme_admin):
    old = upload(acme, "old.csv", "a\n1\n")
    new = upload(acme, "new.csv", "a\n2\n")
    _aged(old, 31)
    _aged(new, 29)
    policy_update(organization=acme, changes={"keep_files_days": 30})
    stored = old.file.name
    assert old.file.storage.exists(stored)

    run = retention_run(now=NOW)

    assert not old.file.storage.exists(stored)
    assert new.file.storage.exists(new.file.name)
    response = acme_admin.get(f"/api/v1/uploads/{old.id}/file")
    assert response.status_code == 410
    assert "deleted on 2026-06-01" in response.json()["detail"]
    assert "kept 30 days" in response.json()["detail"]
    assert acme_admin.get(f"/api/v1/uploads/{new.id}/file").status_code == 200
    run.refresh_from_db()
    assert (run.state, run.files_deleted, run.bytes_freed) == ("succeeded", 1, old.size)
    assert Dataset.objects.get(slug="old").row_count == 1  # the rows stay


def test_files_kept_forever_by_default(acme):
    old = upload(acme, "old.csv", "a\n1\n")
    _aged(old, 10_000)

    run = retention_run(now=NOW)

    assert old.file.storage.exists(old.file.name)
    assert run.files_deleted == 0


def test_dataset_override_keeps_files_its_organization_would_delete(acme):
    kept = upload(acme, "kept.csv", "a\n1\n")
    gone = upload(acme, "gone.csv", "a\n1\n")
    _aged(kept, 40)
    _aged(gone, 40)
    policy_update(organization=acme, changes={"keep_files_days": 30})
    override_update(dataset=kept.dataset, changes={"keep_files_days": None})

    retention_run(now=NOW)

    assert Upload.objects.get(pk=kept.pk).original_deleted_at is None
    assert Upload.objects.get(pk=gone.pk).original_deleted_at is not None


# -- rows --------------------------------------------------------------------------------------


def _summary(dataset: Dataset):
    dataset.refresh_from_db()
    stats = {
        name: (s.nulls, s.non_null, s.min_value, s.max_value, s.value_type)
        for name, s in dataset.schema.stats.items()
    }
    return dataset.row_count, stats


def test_rows_before_the_cut_go_and_summaries_stay_exact(warehouse, acme, settings):
    settings.CSVHUB_RETENTION_CHUNK_ROWS = 2  # several chunks
    loaded = upload(acme, "meters.csv", _csv(READINGS))
    dataset = loaded.dataset
    policy_update(organization=acme, changes={"keep_rows_days": 90, "rows_column": "measured_at"})

    run = retention_run(now=NOW)

    kept = READINGS[6:]
    # The same rows uploaded fresh: their summary is what retention's must be.
    fresh = upload(acme, "fresh.csv", _csv(kept)).dataset
    assert _summary(dataset) == _summary(fresh)
    assert warehouse_rows(dataset) == warehouse_rows(fresh)
    dataset.refresh_from_db()
    # Row ids 1..11 were given in file order; 7..11 remain.
    assert (dataset.first_row_id, dataset.last_row_id) == (7, 11)
    run.refresh_from_db()
    assert (run.state, run.rows_deleted) == (RunState.SUCCEEDED, 6)
    (deletion,) = RetentionDeletion.objects.filter(run=run)
    assert (deletion.kind, deletion.rows, deletion.done) == ("rows", 6, True)


def test_a_second_run_at_the_same_time_deletes_nothing_more(warehouse, acme):
    dataset = upload(acme, "meters.csv", _csv(READINGS)).dataset
    policy_update(organization=acme, changes={"keep_rows_days": 90, "rows_column": "measured_at"})
    retention_run(now=NOW)
    before = _summary(dataset)

    again = retention_run(now=NOW)

    assert again.rows_deleted == 0
    assert _summary(dataset) == before


def test_rows_of_a_date_column_go_by_day(warehouse, acme):
    dataset = upload(acme, "days.csv", "day,n\n2026-01-01,1\n2026-03-03,2\n2026-03-04,3\n").dataset
    override_update(dataset=dataset, changes={"keep_rows_days": 90, "rows_column": "day"})

    retention_run(now=datetime(2026, 6, 1, 23, 0, tzinfo=UTC))  # cut: 2026-03-03

    dataset.refresh_from_db()
    assert dataset.row_count == 2
    assert dataset.schema.stats["day"].min_value == "2026-03-03"
    assert dataset.schema.stats["n"].min_value == "2"


# -- holds -------------------------------------------------------------------------------------


def test_a_dataset_on_hold_keeps_its_files_and_rows(warehouse, acme):
    loaded = upload(acme, "meters.csv", _csv(READINGS))
    _aged(loaded, 400)
    policy_update(
        organization=acme,
        changes={"keep_files_days": 30, "keep_rows_days": 90, "rows_column": "measured_at"},
    )
    hold_create(organization=acme, dataset=loaded.dataset, reason="matter 12")

    run = retention_run(now=NOW)

    assert loaded.file.storage.exists(loaded.file.name)
    assert Dataset.objects.get(pk=loaded.dataset.pk).row_count == 11
    assert (run.files_deleted, run.rows_deleted) == (0, 0)


def test_an_upload_on_hold_keeps_its_file_only(storage, acme):
    held = upload(acme, "a.csv", "a\n1\n")
    other = upload(acme, "a.csv", "a\n2\n", dataset="a")
    _aged(held, 40)
    _aged(other, 40)
    policy_update(organization=acme, changes={"keep_files_days": 30})
    hold_create(organization=acme, upload=held, reason="audit")

    retention_run(now=NOW)

    assert held.file.storage.exists(held.file.name)
    assert not other.file.storage.exists(other.file.name)


# -- killed midway -----------------------------------------------------------------------------


class Killed(BaseException):
    """What a kill looks like to the run: it stops at once, between two committed steps."""


def _kill_after(steps: int):
    seen = []

    def checkpoint(deletion: RetentionDeletion) -> None:
        seen.append(deletion.pk)
        if len(seen) == steps:
            raise Killed

    return checkpoint


def test_a_run_killed_between_chunks_is_resumed_exactly(warehouse, acme, settings):
    settings.CSVHUB_RETENTION_CHUNK_ROWS = 2
    dataset = upload(acme, "meters.csv", _csv(READINGS)).dataset
    policy_update(organization=acme, changes={"keep_rows_days": 90, "rows_column": "measured_at"})

    with pytest.raises(Killed):
        retention_run(now=NOW, checkpoint=_kill_after(1))  # after the first chunk (2 rows)

    dataset.refresh_from_db()
    assert dataset.row_count == 11  # the summary is not recomputed yet: the record says so
    (left,) = RetentionDeletion.objects.filter(done=False)
    assert left.rows == 2

    resumed = retention_run(now=NOW + DAY)

    fresh = upload(acme, "fresh.csv", _csv(READINGS[6:])).dataset
    assert _summary(dataset) == _summary(fresh)
    left.refresh_from_db()
    assert (left.done, left.rows, left.run_id) == (True, 6, resumed.id)
    assert RetentionDeletion.objects.count() == 1  # finished under its record, not a new one
    resumed.refresh_from_db()
    assert (resumed.state, resumed.rows_deleted) == ("succeeded", 6)
    killed = RetentionRun.objects.exclude(pk=resumed.pk).get()
    assert killed.rows_deleted == 0  # counted once, by the run that finished it


def test_a_run_killed_after_deleting_a_file_finishes_it_once(storage, acme, acme_admin):
    first = upload(acme, "a.csv", "a\n1\n")
    second = upload(acme, "b.csv", "a\n2\n")
    _aged(first, 40)
    _aged(second, 40)
    policy_update(organization=acme, changes={"keep_files_days": 30})

    with pytest.raises(Killed):
        retention_run(now=NOW, checkpoint=_kill_after(1))  # the file gone, not yet marked

    assert not first.file.storage.exists(first.file.name)
    assert RetentionDeletion.objects.filter(done=False).count() == 1

    resumed = retention_run(now=NOW)

    assert acme_admin.get(f"/api/v1/uploads/{first.id}/file").status_code == 410
    assert acme_admin.get(f"/api/v1/uploads/{second.id}/file").status_code == 410
    assert RetentionDeletion.objects.filter(kind="file").count() == 2
    resumed.refresh_from_db()
    assert (resumed.files_deleted, resumed.bytes_freed) == (2, first.size + second.size)


# -- the periodic job --------------------------------------------------------------------------


def test_the_scheduler_runs_retention_with_its_clock(acme, settings):
    from csvhub.scheduling.ticks import tick

    old = upload(acme, "old.csv", "a\n1\n")
    _aged(old, 31)
    policy_update(organization=acme, changes={"keep_files_days": 30})
    every = timedelta(seconds=settings.CSVHUB_RETENTION_EVERY_SECONDS)

    assert tick(now=NOW - every, names=["lifecycle.retention"]) == []  # first sight plans it
    assert tick(now=NOW, names=["lifecycle.retention"]) == ["lifecycle.retention"]

    run = RetentionRun.objects.get()
    assert (run.now, run.files_deleted) == (NOW, 1)
