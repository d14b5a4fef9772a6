"""The retention run: delete the original files and rows that are due, record what went.

A run judges ages by the `now` it is given (the scheduler's tick; tests pass any clock). It
first finishes what a run killed midway left (records whose `done` is False), then walks the
datasets whose rules keep something for a limited time, skipping those under a legal hold.

- A file: the record is written first, then the file leaves storage, then (in one transaction)
  the upload is marked deleted (its download answers 410) and the record done. A kill between
  two steps leaves a record the next run completes: the storage delete is idempotent, and
  nothing is counted twice.
- Rows: the record is written first, the rows before the cut go in chunks
  (csvhub.warehouse.retention), and the dataset's summary is recomputed from what remains,
  under the table's lock; the record is done when the summary is. A resumed run deletes what is
  still due (deleting "before the cut" twice deletes nothing more) and recomputes.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone

from csvhub.datasets.models import Dataset, Upload, UploadState
from csvhub.lifecycle import policies
from csvhub.lifecycle.models import (
    DatasetRetention,
    DeletionKind,
    RetentionDeletion,
    RetentionPolicy,
    RetentionRun,
    RunState,
)
from csvhub.lifecycle.quotas import reservations_sweep
from csvhub.schema import Column, ColumnStats, ColumnType, DatasetSchema
from csvhub.warehouse.retention import (
    EXTREME_TYPES,
    RANGE_TYPES,
    TableSummary,
    rows_delete_before,
    summary_locked,
)

logger = logging.getLogger(__name__)


# Called after each committed step (a file gone from storage, a chunk of rows deleted) with the
# step's record: tests stop a run there, as a kill would.
type Checkpoint = Callable[[RetentionDeletion], None]


def _no_checkpoint(deletion: RetentionDeletion) -> None:
    return


def retention_run(
    *, now: datetime | None = None, checkpoint: Checkpoint = _no_checkpoint
) -> RetentionRun:
    """Delete everything due at `now` (default: the current time); returns the run's record."""
    now = now or timezone.now()
    run = RetentionRun.objects.create(now=now)
    try:
        _finish_left_over(run, checkpoint)
        for dataset in _datasets_with_limits():
            _dataset_apply(run, dataset, now, checkpoint)
        reservations_sweep()
        run.state = RunState.SUCCEEDED
    except BaseException as failure:
        run.state, run.error = RunState.FAILED, f"{type(failure).__name__}: {failure}"[:2000]
        raise
    finally:
        _totals_save(run)
    return run


def _totals_save(run: RetentionRun) -> None:
    """The run's figures, from its finished deletions only: one it left unfinished is finished
    (and counted) by the run that resumes it."""
    mine = RetentionDeletion.objects.filter(run=run, done=True)
    files = mine.filter(kind=DeletionKind.FILE)
    run.files_deleted = files.count()
    run.bytes_freed = sum(files.values_list("bytes", flat=True))
    run.rows_deleted = sum(mine.filter(kind=DeletionKind.ROWS).values_list("rows", flat=True))
    run.finished_at = timezone.now()
    run.save()
    logger.info(
        "retention run %s %s: %d file(s), %d byte(s) freed, %d row(s) deleted",
        run.pk,
        run.state,
        run.files_deleted,
        run.bytes_freed,
        run.rows_deleted,
    )


def _datasets_with_limits() -> list[Dataset]:
    limited_orgs = RetentionPolicy.objects.filter(
        Q(keep_files_days__isnull=False) | Q(keep_rows_days__isnull=False)
    ).values("organization_id")
    overridden = DatasetRetention.objects.filter(
        Q(override_files=True) | Q(override_rows=True)
    ).values("dataset_id")
    held = policies.held_dataset_ids()
    chosen = Dataset.objects.filter(
        Q(organization_id__in=limited_orgs) | Q(id__in=overridden)
    ).select_related("organization")
    return [dataset for dataset in chosen.order_by("created_at") if dataset.id not in held]


def _dataset_apply(
    run: RetentionRun, dataset: Dataset, now: datetime, checkpoint: Checkpoint
) -> None:
    rules = policies.rules_for(dataset)
    if rules.keep_files_days is not None:
        for upload in _files_due(dataset, now - timedelta(days=rules.keep_files_days)):
            _file_delete(run, upload, rules.keep_files_days, checkpoint)
    if rules.keep_rows_days is not None:
        column = dataset.schema.get(rules.rows_column)
        if column is not None and column.type in RANGE_TYPES:
            cut = now - timedelta(days=rules.keep_rows_days)
            _rows_delete(run, dataset, column, cut, checkpoint)


# -- files -----------------------------------------------------------------------------------


def _files_due(dataset: Dataset, before: datetime) -> list[Upload]:
    held = policies.held_upload_ids()
    due = dataset.uploads.filter(
        state=UploadState.SUCCEEDED, finished_at__lt=before, original_deleted_at__isnull=True
    ).exclude(file="")
    return [upload for upload in due if upload.id not in held]


def _file_delete(run: RetentionRun, upload: Upload, days: int, checkpoint: Checkpoint) -> None:
    deletion = RetentionDeletion.objects.create(
        run=run,
        kind=DeletionKind.FILE,
        organization_id=upload.dataset.organization_id,
        dataset=upload.dataset,
        upload=upload,
        description=f"original file {upload.original_name} of {upload.dataset.name}"[:500],
        bytes=upload.size,
    )
    note = (
        f"The original file {upload.original_name} was deleted on {run.now:%Y-%m-%d} under the "
        f"retention policy (original files are kept {days} days after their upload). The rows "
        "loaded from it are still in the dataset."
    )
    _file_finish(deletion, upload, note[:300], run.now, checkpoint)


def _file_finish(
    deletion: RetentionDeletion,
    upload: Upload,
    note: str,
    now: datetime,
    checkpoint: Checkpoint,
) -> None:
    if upload.file.name:
        upload.file.storage.delete(upload.file.name)  # a missing file is no error
    checkpoint(deletion)
    with transaction.atomic():
        Upload.objects.filter(pk=upload.pk, original_deleted_at__isnull=True).update(
            file="", original_deleted_at=now, original_deleted_note=note
        )
        RetentionDeletion.objects.filter(pk=deletion.pk).update(done=True)


# -- rows ------------------------------------------------------------------------------------


def _rows_delete(
    run: RetentionRun, dataset: Dataset, column: Column, cut: datetime, checkpoint: Checkpoint
) -> None:
    bound: Any = cut.date() if column.type is ColumnType.DATE else cut
    deletion = RetentionDeletion.objects.create(
        run=run,
        kind=DeletionKind.ROWS,
        organization_id=dataset.organization_id,
        dataset=dataset,
        description=f"rows of {dataset.name} whose {column.name} is before {bound}"[:500],
        cut=cut,
        column=column.name,
    )
    _rows_finish(deletion, dataset, column, checkpoint, fresh=True)


def _rows_finish(
    deletion: RetentionDeletion,
    dataset: Dataset,
    column: Column,
    checkpoint: Checkpoint,
    *,
    fresh: bool,
) -> None:
    """Delete the rows due and recompute the summary. A left-over (`fresh=False`) recomputes
    even when nothing more was due: its killed run may have deleted rows it never counted."""
    assert deletion.cut is not None
    bound: Any = deletion.cut.date() if column.type is ColumnType.DATE else deletion.cut
    deleted = 0
    for count in rows_delete_before(
        table_name=dataset.table_name,
        fields=dataset.schema.columns,
        column=column,
        cut=bound,
        chunk_rows=settings.CSVHUB_RETENTION_CHUNK_ROWS,
    ):
        deleted += count
        RetentionDeletion.objects.filter(pk=deletion.pk).update(rows=F("rows") + count)
        checkpoint(deletion)
    if fresh and not deleted:  # nothing was due: nothing to record, the summary is right
        RetentionDeletion.objects.filter(pk=deletion.pk).delete()
        return
    if summary_refresh(dataset=dataset):
        RetentionDeletion.objects.filter(pk=deletion.pk).update(done=True)


def summary_refresh(*, dataset: Dataset) -> bool:
    """Make the dataset's row count, row id range and column stats those of its table now;
    False (nothing changed) while a load it holds is committed but not yet published."""
    fields = Dataset.objects.get(pk=dataset.pk).schema.columns
    locked = summary_locked(table_name=dataset.table_name, fields=fields)
    with locked as summary, transaction.atomic():
        current = Dataset.objects.select_for_update().get(pk=dataset.pk)
        unpublished = Upload.objects.filter(id__in=summary.loaded_uploads).exclude(
            state=UploadState.SUCCEEDED
        )
        if current.schema.columns != fields or unpublished.exists():
            return False
        _summary_apply(current, summary)
    return True


def _summary_apply(dataset: Dataset, summary: TableSummary) -> None:
    old = dataset.schema
    stats = {
        column.name: _stats_kept(old.stats.get(column.name), summary.stats[column.name], column)
        for column in old.columns
    }
    dataset.schema = DatasetSchema(old.columns, stats)
    dataset.row_count = summary.row_count
    dataset.first_row_id, dataset.last_row_id = summary.first_row_id, summary.last_row_id
    dataset.save(
        update_fields=["columns", "stats", "row_count", "first_row_id", "last_row_id", "updated_at"]
    )


def _stats_kept(old: ColumnStats | None, new: ColumnStats, column: Column) -> ColumnStats:
    """The recomputed stats. Extremes are kept for numbers, dates and timestamps only; other
    columns keep the type their extremes would be written in. A typed column keeps its lengths
    as written (the table holds values, not how they were written): bounds of what remains."""
    if column.type in EXTREME_TYPES:
        value_type = new.value_type
    elif column.type is ColumnType.TEXT:
        value_type = None if old is None or old.value_type in EXTREME_TYPES else old.value_type
    else:
        value_type = old.value_type if old is not None else None
    lengths = (new.min_length, new.max_length)
    if column.type is not ColumnType.TEXT and old is not None and new.non_null:
        lengths = (old.min_length, old.max_length)
    return ColumnStats(
        new.nulls, new.non_null, new.min_value, new.max_value, *lengths, value_type=value_type
    )


# -- resuming --------------------------------------------------------------------------------


def _finish_left_over(run: RetentionRun, checkpoint: Checkpoint) -> None:
    """Complete the deletions a killed run left unfinished, under their own records, which move
    to this run (it counts them; the killed run never did)."""
    left = list(RetentionDeletion.objects.filter(done=False).exclude(run=run).select_related("run"))
    RetentionDeletion.objects.filter(pk__in=[d.pk for d in left]).update(run=run)
    for deletion in left:
        if deletion.kind == DeletionKind.FILE:
            _file_left_over(deletion, checkpoint)
        else:
            _rows_left_over(deletion, checkpoint)


def _file_left_over(deletion: RetentionDeletion, checkpoint: Checkpoint) -> None:
    upload = Upload.objects.filter(id=deletion.upload_id).first() if deletion.upload_id else None
    if upload is None:  # deleted with its dataset meanwhile: nothing left to do
        RetentionDeletion.objects.filter(pk=deletion.pk).update(done=True)
        return
    note = (
        f"The original file {upload.original_name} was deleted on {deletion.run.now:%Y-%m-%d} "
        "under the retention policy. The rows loaded from it are still in the dataset."
    )
    _file_finish(deletion, upload, note, deletion.run.now, checkpoint)


def _rows_left_over(deletion: RetentionDeletion, checkpoint: Checkpoint) -> None:
    dataset = (
        Dataset.objects.filter(id=deletion.dataset_id).first() if deletion.dataset_id else None
    )
    if dataset is None:
        RetentionDeletion.objects.filter(pk=deletion.pk).update(done=True)
        return
    column = dataset.schema.get(deletion.column)
    if (
        column is None or column.type not in RANGE_TYPES
    ):  # the column went (a replace): the summary is all that is left to fix
        if summary_refresh(dataset=dataset):
            RetentionDeletion.objects.filter(pk=deletion.pk).update(done=True)
        return
    _rows_finish(deletion, dataset, column, checkpoint, fresh=False)
