"""Signals other apps listen to, so that datasets never imports them (alarms, usage, ...).

`rows_committed` is sent after a transaction that added rows to a dataset has committed (an
upload's publish, a JSON append): receivers may enqueue work that reads those rows. It is sent
from `transaction.on_commit`, never inside the writing transaction, so a receiver's failure or
slowness cannot undo or delay the write.

Arguments: `dataset_id` (the dataset's UUID), `row_id_range` ((first, last) row ids,
inclusive, of the rows added), `origin`: "upload", "append", or "replace" when the rows
replaced the dataset's contents (row ids then start over: a receiver keeping track of the ids
it has seen must forget them).

`upload_arriving` is sent before anything of an upload is stored (quotas refuse it there):
arguments `organization` and `sizes` (bytes of each file arriving). `upload_recording` is sent
inside the transaction that records an upload whose file is stored, before the row is saved
(argument `upload`): a receiver that raises undoes it, file included (quotas check again
there, under a lock, so that uploads arriving together cannot pass a limit together).
`rows_loading` is sent inside a load's warehouse transaction, before it commits: arguments
`upload` and `rows` (the rows the load writes: added to the dataset's, or for a replace, all it
will hold). All three are sent with `send`, not `send_robust`: a receiver refuses by raising
a DatasetError (IngestFailed for `rows_loading`), which the API answers as a 4xx and a load
turns into a failed upload.

`rows_deleting` is sent before a person's request deletes data, nothing deleted yet: a
dataset (arguments `dataset`, `upload` None), one upload's rows taken back (`dataset` and
`upload`), rows by a bulk delete edit (`dataset`, `upload` None, `edit` True), or every row
by an upload with mode=replace (`dataset`, `replace` True). Sent with
`send`: a receiver refuses by raising a DatasetError (legal holds answer 409).
"""

from __future__ import annotations

from typing import TYPE_CHECKING
from uuid import UUID

from django.dispatch import Signal

if TYPE_CHECKING:
    from csvhub.datasets.models import Dataset, Upload

rows_committed = Signal()
upload_arriving = Signal()
upload_recording = Signal()
rows_loading = Signal()
rows_deleting = Signal()
# A dataset deletion that passed rows_deleting's check stopped before dropping anything (its
# table could not be dropped, or an earlier dataset of the same bulk delete failed): what
# the check reserved for the deletion is released. Sent with `dataset`.
dataset_deletion_abandoned = Signal()


def send_rows_committed(*, dataset_id: UUID, row_id_range: tuple[int, int], origin: str) -> None:
    rows_committed.send(
        sender=None, dataset_id=dataset_id, row_id_range=row_id_range, origin=origin
    )


def send_rows_deleting(
    *, dataset: Dataset, upload: Upload | None = None, edit: bool = False, replace: bool = False
) -> None:
    rows_deleting.send(sender=None, dataset=dataset, upload=upload, edit=edit, replace=replace)
