"""Running an edit: claim it, apply it in the warehouse, publish it (the job's body, and the
body of an edit run within its request). csvhub.edits.services records edits and decides where
they run; csvhub.edits.tasks runs them in the background.

The dataset's summaries (row count, row id range, the changed columns' statistics) are counted
again under the table's write lock and brought up to date in one short Django transaction
while the dataset's row is locked, so no load's rows are counted twice or missed (see _publish).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import timedelta
from uuid import UUID

from django.conf import settings
from django.db import transaction
from django.db.models import F, Q, QuerySet
from django.utils import timezone

from csvhub.datasets.errors import DatasetError
from csvhub.datasets.models import Dataset, Upload, UploadState
from csvhub.edits.actions import DELETE, EditAction, action_parse
from csvhub.edits.errors import EditConflict, EditInvalid
from csvhub.edits.models import Edit, EditKind, EditState
from csvhub.edits.selections import Selection
from csvhub.edits.summaries import stats_after_update
from csvhub.jobs.heartbeat import Heartbeat
from csvhub.schema import ColumnStats, DatasetSchema
from csvhub.warehouse import edits as warehouse

logger = logging.getLogger(__name__)

PROGRESS_SECONDS = 1.0


def edit_target(dataset: Dataset, selection: Selection, action: EditAction) -> warehouse.EditTarget:
    if not dataset.schema:
        raise EditInvalid("This dataset has no rows yet; there is nothing to edit.")
    return warehouse.EditTarget(
        rows=selection.row_set(dataset),
        changes=action.warehouse_changes(),
        row_ids=selection.row_ids,
    )


# -- create and run ---------------------------------------------------------------------------


def edit_run(*, edit_id: int) -> None:
    """The job: claim the edit, apply it, publish it; a refusal fails it with its message."""
    edit = edit_claim(edit_id)
    if edit is None:
        return
    try:
        edit_execute(edit)
    except EditSuperseded:
        logger.warning("edit %s was taken over by another worker; this one stops", edit_id)
    except DatasetError as refused:
        edit_fail(edit, str(refused))
    except Exception:
        logger.exception("edit %s failed", edit_id)
        edit_fail(edit, "csvhub could not apply this edit because of an internal error.")
        raise


class EditSuperseded(Exception):
    """Another worker claimed this edit (it thought this one dead): this one stops and leaves
    it alone. Its warehouse transaction rolls back, or, committed, is found by the next attempt
    through its marker and published once."""


def this_attempt(edit: Edit) -> QuerySet[Edit]:
    """The edit, as long as it is still this worker's attempt: every write of a running edit
    goes through it, so that a worker thought dead (then revived elsewhere) writes nothing."""
    return Edit.objects.filter(pk=edit.pk, state=EditState.RUNNING, attempts=edit.attempts)


def edit_claim(edit_id: int) -> Edit | None:
    """Mark the edit running if it is queued (or its worker died) and return it as claimed
    (its attempt number fences its writes); None if another worker has it."""
    now = timezone.now()
    stale = now - timedelta(seconds=settings.CSVHUB_JOB_STALE_SECONDS)
    claimed = Edit.objects.filter(
        Q(state=EditState.QUEUED) | Q(state=EditState.RUNNING, heartbeat_at__lt=stale),
        pk=edit_id,
    ).update(
        state=EditState.RUNNING,
        attempts=F("attempts") + 1,
        started_at=now,
        heartbeat_at=now,
        error="",
    )
    if claimed != 1:
        return None
    return Edit.objects.select_related("dataset").get(pk=edit_id)


def edit_fail(edit: Edit, message: str) -> None:
    this_attempt(edit).update(state=EditState.FAILED, error=message, finished_at=timezone.now())


def edit_execute(edit: Edit) -> None:
    """Apply and publish a claimed edit, its heartbeat kept fresh meanwhile (waiting for the
    table's lock or a long statement writes no progress)."""
    beat = Heartbeat(
        lambda: this_attempt(edit).update(heartbeat_at=timezone.now()), f"edit {edit.pk}"
    )
    with beat:
        dataset = Dataset.objects.get(pk=edit.dataset_id)
        progress = _Progress(edit)
        if edit.kind == EditKind.UNDO:
            assert edit.undoes is not None
            restored = warehouse.edit_restore(_restore_target(dataset, edit.undoes, edit))
            outcome = _Outcome(restored.rows, restored.conflicts, restored.conflict_row_ids)
        else:
            outcome = _apply(dataset, edit, progress)
        _publish(edit, outcome)


def _apply(dataset: Dataset, edit: Edit, progress: _Progress) -> _Outcome:
    selection = Selection.from_json(edit.selection)
    action = DELETE if edit.kind == EditKind.DELETE else action_parse(dataset.schema, edit.action)
    try:
        applied = warehouse.edit_apply(
            edit_target(dataset, selection, action),
            edit_id=edit.id,
            expected_count=edit.expected_count,
            chunk_rows=settings.CSVHUB_EDIT_CHUNK_ROWS,
            progress=progress.send,
        )
    except warehouse.CountChanged as changed:
        raise EditConflict(
            f"The filter now matches {changed.count:,} rows, not the {edit.expected_count:,} "
            "expected; nothing was changed. Preview the edit again and confirm its new count."
        ) from None
    return _Outcome(applied.rows, before=applied.before, after=applied.after)


@dataclass(frozen=True)
class _Outcome:
    rows: int
    conflicts: int = 0
    conflict_row_ids: list[int] | None = None
    # An update's changed cells before and after (None: count the summaries again).
    before: Mapping[str, ColumnStats] | None = None
    after: Mapping[str, ColumnStats] | None = None


class _Progress:
    """Rows journaled so far, written to the edit at most once a second (with a heartbeat)."""

    def __init__(self, edit: Edit) -> None:
        self.edit = edit
        self.last = 0.0  # the first chunk's count is written at once: the job has started

    def send(self, rows: int) -> None:
        now = time.monotonic()
        if now - self.last < PROGRESS_SECONDS:
            return
        self.last = now
        if not this_attempt(self.edit).update(rows_done=rows, heartbeat_at=timezone.now()):
            raise EditSuperseded()  # inside the warehouse transaction: it rolls back


def _publish(edit: Edit, outcome: _Outcome) -> None:
    """Bring the dataset's summaries up to date and finish the edit.

    A recount is read under the table's write lock, outside the metadata's transaction, and
    published (the dataset's row locked) before the lock is let go: loads and JSON appends
    publish their own counts before they let go of it (datasets.ingest, appends.services), so
    the table then holds no rows committed but not counted, but for those of a load whose
    worker died between its two commits: an upload still pending, whose rows are left out
    since its retry adds them (typed_writes.load_apply merges its counts and statistics).
    """
    table_name = Dataset.objects.get(pk=edit.dataset_id).table_name
    with warehouse.summary_lock(table_name=table_name) as locked:
        schema, pending = _settled(edit.dataset_id)
        excluded = locked.loads_row_ranges(pending)
        columns = [name for name in edit.columns if schema.get(name) is not None]
        known = {} if excluded else _updated_stats(schema, columns, outcome)
        summary = None
        if len(known) < len(columns) or edit.kind != EditKind.UPDATE:
            summary = locked.summary(
                schema.columns,
                [name for name in columns if name not in known],
                list(excluded.values()),
            )
            known.update(summary.stats)
        _publish_summaries(edit, outcome, known, summary)


def _settled(dataset_id: UUID) -> tuple[DatasetSchema, list[str]]:
    """The dataset's schema and its uploads not yet published, read once the dataset's row is
    ours: a load between its warehouse commit and its metadata's holds that row until it has
    published, and none can start while the table's lock is held; so the uploads pending now
    stay pending (their worker died) until this edit has published."""
    with transaction.atomic():
        dataset = Dataset.objects.select_for_update().get(pk=dataset_id)
        pending = Upload.objects.filter(dataset=dataset).exclude(state=UploadState.SUCCEEDED)
        return dataset.schema, [str(pk) for pk in pending.values_list("id", flat=True)]


def _publish_summaries(
    edit: Edit,
    outcome: _Outcome,
    stats: Mapping[str, ColumnStats],
    summary: warehouse.TableSummary | None,
) -> None:
    """Write the counts and finish the edit, in one transaction (the dataset's row locked)."""
    with transaction.atomic():
        dataset = Dataset.objects.select_for_update().get(pk=edit.dataset_id)
        if not this_attempt(edit).select_for_update().exists():
            # Taken over: the new attempt finds this edit's marker and publishes it once.
            logger.warning("edit %s was taken over by another worker before publishing", edit.pk)
            return
        if summary is not None:
            dataset.row_count = summary.row_count
            dataset.first_row_id = summary.first_row_id
            dataset.last_row_id = summary.last_row_id
        # The columns as they are now (a label may have changed meanwhile; a type cannot
        # without a load, which waits for the table's lock).
        dataset.schema = _with_stats(dataset.schema, stats)
        dataset.save()
        this_attempt(edit).update(
            state=EditState.SUCCEEDED,
            finished_at=timezone.now(),
            rows_done=outcome.rows,
            rows_affected=outcome.rows,
            conflicts=outcome.conflicts,
            conflict_row_ids=outcome.conflict_row_ids or [],
            error="",
        )


def _updated_stats(
    schema: DatasetSchema, columns: list[str], outcome: _Outcome
) -> dict[str, ColumnStats]:
    """The statistics an update's own cells tell exactly (the others are counted again)."""
    if outcome.before is None or outcome.after is None:
        return {}
    found = {}
    for name in columns:
        updated = stats_after_update(
            schema.stats_of(name),
            outcome.before[name],
            outcome.after[name],
            schema.column(name).type,
        )
        if updated is not None:
            found[name] = updated
    return found


def _with_stats(schema: DatasetSchema, stats: Mapping[str, ColumnStats]) -> DatasetSchema:
    merged = dict(schema.stats)
    merged.update(stats)
    columns = tuple(
        replace(column, nullable=column.nullable or stats[column.name].nulls > 0)
        if column.name in stats
        else column
        for column in schema.columns
    )
    return DatasetSchema(columns, merged)


def _restore_target(dataset: Dataset, edit: Edit, undo: Edit) -> warehouse.RestoreTarget:
    later = Edit.objects.filter(dataset=dataset, id__gt=edit.id, state=EditState.SUCCEEDED)
    # Edits undone since, and the undos of edits after this one, cancel out: not conflicts.
    undone = set(
        Edit.objects.filter(undoes__in=later, state=EditState.SUCCEEDED).values_list(
            "undoes_id", flat=True
        )
    )
    counted = [
        pk
        for pk, undoes_id in later.values_list("id", "undoes_id")
        if pk not in undone and not (undoes_id is not None and undoes_id > edit.id)
    ]
    return warehouse.RestoreTarget(
        table_name=dataset.table_name,
        fields=dataset.schema.columns,
        edit_id=edit.id,
        undo_id=undo.id,
        columns=tuple(edit.columns),
        deleted=edit.kind == EditKind.DELETE,
        later_edit_ids=tuple(counted),
        force=undo.force,
    )


# -- taking an upload back ---------------------------------------------------------------------
