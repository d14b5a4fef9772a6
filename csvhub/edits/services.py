"""Writes of bulk edits: preview, create, undo, take back an upload, expire journals.

An edit is checked whole before anything runs (the filters by csvhub.selection, the action by
edits.actions: a 400 and nothing changed), recorded, then run (edits.runs) within the call when
it is small, as a background job (edits.tasks) otherwise: in one warehouse transaction
(warehouse.edits), published in one Django transaction.

Other apps change stored rows through `edit_create` (cleaning applies a value map with
`{"set": {column: {"map": {...}}}}`).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.contrib.auth.models import AnonymousUser, User
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from csvhub.datasets.errors import DatasetError
from csvhub.datasets.models import Dataset, Upload, UploadMode, UploadState
from csvhub.datasets.signals import send_rows_deleting
from csvhub.edits.actions import DELETE, EditAction, action_parse
from csvhub.edits.errors import EditConflict
from csvhub.edits.models import Edit, EditKind, EditState
from csvhub.edits.runs import edit_claim, edit_execute, edit_fail, edit_target
from csvhub.edits.selections import Selection
from csvhub.schema import DatasetSchema, values
from csvhub.warehouse import edits as warehouse
from csvhub.warehouse.query import rows_count

logger = logging.getLogger(__name__)

PREVIEW_SAMPLES = 10
PURGE_BATCH = 500

type Editor = User | AnonymousUser | None


# -- preview ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class EditPreview:
    count: int
    columns: list[str]
    samples: list[dict[str, Any]]  # {"row_id", "before": {...}, "after": {...}} as JSON values


def edit_preview(
    *, dataset: Dataset, selection: Selection, action: EditAction, samples: int = PREVIEW_SAMPLES
) -> EditPreview:
    """How many rows the edit would change, and a few of them before and after."""
    target = edit_target(dataset, selection, action)
    found = warehouse.edit_preview(target, samples=samples)
    schema = dataset.schema
    return EditPreview(
        count=found.count,
        columns=action.columns or schema.names,
        samples=[
            {
                "row_id": sample.row_id,
                "before": _json_cells(schema, sample.before),
                "after": _json_cells(schema, sample.after),
            }
            for sample in found.samples
        ],
    )


def _json_cells(schema: DatasetSchema, cells: Mapping[str, str | None]) -> dict[str, Any]:
    return {
        name: None if text is None else values.json_of_text(schema.column(name).type)(text)
        for name, text in cells.items()
    }


def edit_create(
    *,
    dataset: Dataset,
    user: Editor,
    selection: Selection,
    action: EditAction | Mapping[str, Any],
    expected_count: int | None = None,
    upload: Upload | None = None,
) -> Edit:
    """Record the edit and run it: within the call when it selects at most
    CSVHUB_EDIT_INLINE_ROWS rows (the edit comes back succeeded), else as a background job
    (queued; follow it with GET …/edits/{id}/).

    `action` is an EditAction or its JSON (edits.actions: set constants or expressions, a
    value map, delete). Raises EditInvalid (400) for a bad selection or action, and
    EditConflict (409) when `expected_count` is given and another number of rows matches, and
    a legal hold's 409 for a delete on a held dataset (or a held upload's rows); either way
    nothing changed and no edit is recorded.
    """
    if not isinstance(action, EditAction):
        action = action_parse(dataset.schema, action)
    if action.deletes:  # a legal hold refuses it (409)
        send_rows_deleting(dataset=dataset, upload=upload, edit=True)
    target = edit_target(dataset, selection, action)
    edit = Edit.objects.create(
        dataset=dataset,
        created_by=_signed_in(user),
        kind=EditKind.DELETE if action.deletes else EditKind.UPDATE,
        selection=selection.to_json(),
        action=action.to_json(),
        columns=action.columns or dataset.schema.names,
        expected_count=expected_count,
        upload=upload,
    )
    if _runs_inline(dataset, target, expected_count):
        _run_inline(edit)
    else:
        transaction.on_commit(lambda: edit_enqueue(edit_id=edit.id))
    return edit


def _signed_in(user: Editor) -> User | None:
    return user if user is not None and user.is_authenticated else None


def _runs_inline(
    dataset: Dataset, target: warehouse.EditTarget, expected_count: int | None
) -> bool:
    limit = settings.CSVHUB_EDIT_INLINE_ROWS
    if expected_count is not None:  # the edit refuses any other count: no need to count first
        return expected_count <= limit
    if target.row_ids is not None:
        return target.row_ids[1] - target.row_ids[0] < limit
    if dataset.row_count <= limit:
        return True
    return rows_count(target.rows, cap=limit) <= limit


def _run_inline(edit: Edit) -> None:
    """Run the edit now; a refusal (400/409) removes its record again, nothing having changed."""
    claimed = edit_claim(edit.id)
    if claimed is None:
        return
    try:
        edit_execute(claimed)
    except DatasetError:
        edit.delete()
        raise
    except Exception:
        edit_fail(claimed, "csvhub could not apply this edit because of an internal error.")
        raise
    edit.refresh_from_db()


def edit_enqueue(*, edit_id: int) -> None:
    from csvhub.edits.tasks import run_edit

    run_edit.enqueue(edit_id)


def edits_resume() -> int:
    """Queue again the edits whose worker died (their heartbeat went stale); their warehouse
    transaction rolled back, so they run from the start (or find their marker and publish)."""
    cutoff = timezone.now() - timedelta(seconds=settings.CSVHUB_JOB_STALE_SECONDS)
    dead = Q(state=EditState.RUNNING) & (Q(heartbeat_at__lt=cutoff) | Q(heartbeat_at__isnull=True))
    Edit.objects.filter(dead, attempts__gte=settings.CSVHUB_JOB_MAX_ATTEMPTS).update(
        state=EditState.FAILED,
        finished_at=timezone.now(),
        error="The edit stopped without finishing too many times; nothing was changed.",
    )
    revived = list(Edit.objects.filter(dead).values_list("id", flat=True))
    for edit_id in revived:
        edit_enqueue(edit_id=edit_id)
    return len(revived)


# -- undo -----------------------------------------------------------------------------------------


def edit_undo(*, edit: Edit, user: Editor, force: bool = False) -> Edit:
    """Put back the old values of `edit` (deleted rows come back with their ids). Rows that
    later edits changed again are left alone and reported, unless `force`. Runs within the
    call when small, as a job otherwise, like any edit."""
    _check_undoable(edit)
    undo = Edit.objects.create(
        dataset=edit.dataset,
        created_by=_signed_in(user),
        kind=EditKind.UNDO,
        selection=edit.selection,
        action={"undo": edit.id, "force": force},
        columns=edit.columns,
        undoes=edit,
        force=force,
    )
    if (edit.rows_affected or 0) <= settings.CSVHUB_EDIT_INLINE_ROWS:
        _run_inline(undo)
    else:
        transaction.on_commit(lambda: edit_enqueue(edit_id=undo.id))
    return undo


def _check_undoable(edit: Edit) -> None:
    if edit.kind == EditKind.UNDO:
        raise EditConflict("An undo cannot be undone; make the edit again instead.")
    if edit.state != EditState.SUCCEEDED:
        raise EditConflict(f"Only a finished edit can be undone; this one is {edit.state}.")
    if edit.journal_expired:
        raise EditConflict(
            "This edit's old values are no longer kept (CSVHUB_EDIT_JOURNAL_DAYS), so it "
            "cannot be undone."
        )
    if edit.undos.exclude(state=EditState.FAILED).exists():
        raise EditConflict("This edit was undone already.")
    if _replaced_since(edit.dataset, edit.created_at):
        raise EditConflict(
            "The dataset's rows were replaced by an upload since this edit; its old values no "
            "longer belong to any row."
        )


def _replaced_since(dataset: Dataset, moment: datetime) -> bool:
    return Upload.objects.filter(
        dataset=dataset,
        mode=UploadMode.REPLACE,
        state=UploadState.SUCCEEDED,
        finished_at__gt=moment,
    ).exists()


def upload_rows_delete(*, upload: Upload, user: Editor) -> Edit:
    """Delete exactly the rows `upload` added, as a journaled edit (undo puts them back)."""
    dataset = upload.dataset
    if upload.state != UploadState.SUCCEEDED:
        raise EditConflict(f"Only a loaded upload can be taken back; this one is {upload.state}.")
    later_replace = Upload.objects.filter(
        dataset=dataset,
        mode=UploadMode.REPLACE,
        state=UploadState.SUCCEEDED,
        finished_at__gt=upload.finished_at,
    ).exclude(pk=upload.pk)
    if later_replace.exists():
        raise EditConflict("A later upload replaced the dataset's rows; these rows are gone.")
    taken = Edit.objects.filter(upload=upload, kind=EditKind.DELETE).exclude(state=EditState.FAILED)
    if any(not edit.undos.filter(state=EditState.SUCCEEDED).exists() for edit in taken):
        raise EditConflict("This upload's rows were taken back already.")
    ranges = warehouse.loads_row_ranges(table_name=dataset.table_name, upload_ids=[str(upload.id)])
    row_ids = ranges.get(str(upload.id))
    if row_ids is None:
        raise EditConflict("This upload added no rows; there is nothing to take back.")
    return edit_create(
        dataset=dataset,
        user=user,
        selection=Selection(row_ids=row_ids),
        action=DELETE,
        upload=upload,
    )


# -- journal retention ----------------------------------------------------------------------


def journals_expire(*, now: datetime | None = None) -> int:
    """Forget the journals of edits older than CSVHUB_EDIT_JOURNAL_DAYS; returns how many."""
    days = settings.CSVHUB_EDIT_JOURNAL_DAYS
    if not days:
        return 0
    cutoff = (now or timezone.now()) - timedelta(days=days)
    expired = 0
    while True:
        batch = list(
            Edit.objects.filter(created_at__lt=cutoff, journal_expired=False)
            .exclude(state__in=[EditState.QUEUED, EditState.RUNNING])
            .values_list("id", flat=True)[:PURGE_BATCH]
        )
        if not batch:
            return expired
        warehouse.journal_purge(edit_ids=batch)
        Edit.objects.filter(id__in=batch).update(journal_expired=True)
        expired += len(batch)
