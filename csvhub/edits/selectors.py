"""Reads of bulk edits: a dataset's edit history, one edit."""

from __future__ import annotations

from django.db.models import QuerySet

from csvhub.datasets.models import Dataset
from csvhub.edits.errors import EditNotFound
from csvhub.edits.models import Edit


def edit_list(*, dataset: Dataset) -> QuerySet[Edit]:
    """Newest first, with who made them and what undid them."""
    return (
        Edit.objects.filter(dataset=dataset)
        .select_related("dataset", "created_by", "undoes", "upload")
        .prefetch_related("undos")
    )


def edit_get(*, dataset: Dataset, edit_id: str | int) -> Edit:
    try:
        return edit_list(dataset=dataset).get(pk=int(edit_id))
    except (Edit.DoesNotExist, ValueError):
        raise EditNotFound(f"No edit {edit_id} in this dataset.") from None


def edit_undone_by(edit: Edit) -> Edit | None:
    """The undo that took this edit back (None while it stands)."""
    for undo in edit.undos.all():
        if undo.state != "failed":
            return undo
    return None
