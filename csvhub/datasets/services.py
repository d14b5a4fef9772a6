"""Writes to datasets and uploads: create, upload, delete, resume. Ingestion is in ingest.py."""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import replace
from datetime import datetime, timedelta
from pathlib import PurePath
from typing import Any
from uuid import UUID

from django.conf import settings
from django.contrib.auth.models import AnonymousUser, User
from django.core.files import File
from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.text import slugify

from csvhub.accounts.models import Organization
from csvhub.cleaning.services import reading_rules_check, reading_rules_set
from csvhub.datasets import selectors
from csvhub.datasets.arrivals import Arrival, arrival_count, arrival_register
from csvhub.datasets.errors import (
    DatasetError,
    DatasetNotDiscardable,
    DatasetNotFound,
    UploadTooLarge,
)
from csvhub.datasets.models import Dataset, Upload, UploadMode, UploadState
from csvhub.datasets.signals import (
    dataset_deletion_abandoned,
    send_rows_deleting,
    upload_arriving,
    upload_recording,
)
from csvhub.schema import DatasetSchema
from csvhub.selection.columns import ColumnResolver
from csvhub.warehouse import indexes as warehouse_indexes
from csvhub.warehouse.engine import get_dialect
from csvhub.warehouse.tables import table_drop

logger = logging.getLogger(__name__)

# Indexes on bigger tables are built by a background task; smaller ones within the request.
INLINE_INDEX_ROWS = 100_000
_CSV_SUFFIXES = re.compile(r"(\.(csv|tsv|txt|psv))?(\.gz)?$", re.IGNORECASE)

# Who creates or uploads: recorded when signed in (a token's user too); None from scripts.
type Uploader = User | AnonymousUser | None


def _signed_in(user: Uploader) -> User | None:
    return user if user is not None and user.is_authenticated else None


def dataset_name_from_filename(filename: str) -> str:
    """`titanic.csv` → `titanic`; `sales 2024.csv.gz` → `sales 2024`."""
    stem = _CSV_SUFFIXES.sub("", PurePath(filename).name).strip()
    return stem or "dataset"


def _unique_slug(organization: Organization, name: str) -> str:
    base = (slugify(name) or "dataset")[:70]
    taken = set(
        Dataset.objects.filter(organization=organization, slug__startswith=base).values_list(
            "slug", flat=True
        )
    )
    if base not in taken:
        return base
    suffix = 2
    while f"{base}-{suffix}" in taken:
        suffix += 1
    return f"{base}-{suffix}"


def dataset_create(*, organization: Organization, name: str, user: Uploader = None) -> Dataset:
    name = name.strip()
    if not name:
        raise DatasetError("A dataset needs a name.")
    with transaction.atomic():
        return Dataset.objects.create(
            organization=organization,
            name=name[:200],
            slug=_unique_slug(organization, name),
            created_by=_signed_in(user),
        )


# What a column's note may hold: {"description": "...", "unit": "..."}.
COLUMN_NOTES = ("description", "unit")
MAX_DESCRIPTION_CHARS = 5000
MAX_UNIT_CHARS = 40


def dataset_describe(
    *,
    dataset: Dataset,
    name: str | None = None,
    description: str | None = None,
    column_notes: Mapping[str, Mapping[str, str]] | None = None,
) -> Dataset:
    """Rename the dataset, describe it, describe its columns and give them units. Only what is
    given changes; the slug (the API's name) stays, so links and scripts keep working. Locked
    like a load's publish, so a load finishing meanwhile neither loses nor overwrites notes."""
    with transaction.atomic():
        current = Dataset.objects.select_for_update().get(pk=dataset.pk)
        if name is not None:
            current.name = _dataset_name(name)
        if description is not None:
            current.description = _capped_text(description, MAX_DESCRIPTION_CHARS, "description")
        if column_notes:
            current.schema = _with_notes(current.schema, column_notes)
        current.save(update_fields=["name", "description", "columns", "updated_at"])
    return current


def _dataset_name(name: str) -> str:
    name = name.strip()
    if not name:
        raise DatasetError("A dataset needs a name.")
    return _capped_text(name, 200, "name")


def _capped_text(text: str, limit: int, what: str) -> str:
    if len(text) > limit:
        raise DatasetError(f"The {what} has {len(text):,} characters; at most {limit:,}.")
    return text.strip()


def _with_notes(schema: DatasetSchema, notes: Mapping[str, Mapping[str, str]]) -> DatasetSchema:
    resolver = ColumnResolver(schema)
    changed = {column.name: column for column in schema}
    for written, note in notes.items():
        column = resolver.get(written, role="column note")
        unknown = set(note) - set(COLUMN_NOTES)
        if unknown:
            raise DatasetError(
                f"A column note has {', '.join(COLUMN_NOTES)}; not {sorted(unknown)}."
            )
        changed[column.name] = replace(
            changed[column.name],
            description=_capped_text(
                note.get("description", changed[column.name].description),
                MAX_DESCRIPTION_CHARS,
                "description",
            ),
            unit=_capped_text(note.get("unit", changed[column.name].unit), MAX_UNIT_CHARS, "unit"),
        )
    return DatasetSchema(tuple(changed.values()), schema.stats)


def dataset_delete_check(*, dataset: Dataset) -> None:
    """Raise the DatasetError (a legal hold's 409) that refuses deleting the dataset; when
    none does, the deletion is claimed (csvhub.lifecycle.holds): no hold can be placed after."""
    send_rows_deleting(dataset=dataset)


def dataset_delete(*, dataset: Dataset) -> None:
    """Remove the dataset's warehouse table, its stored files and its metadata; refused
    (nothing deleted) while the dataset or one of its uploads is on legal hold.

    The table goes first (it waits for a load in progress to commit), so that a failure
    midway leaves metadata that still points at what remains and the delete can be retried.
    """
    dataset_delete_check(dataset=dataset)
    try:
        table_drop(table_name=dataset.table_name)
    except BaseException:
        dataset_deletion_abandoned.send(sender=None, dataset=dataset)  # nothing was dropped
        raise
    for upload in dataset.uploads.all():
        _delete_stored_file(upload)
    dataset.delete()


def datasets_delete(*, datasets: Iterable[Dataset]) -> None:
    """Delete several datasets, all or none: a legal hold on one refuses them all, and once
    they are all claimed (in one transaction) no hold can be placed on any of them, so the
    deletions that follow never stop half-way at a new hold."""
    chosen = list(datasets)
    with transaction.atomic():
        for dataset in chosen:
            dataset_delete_check(dataset=dataset)
    for done, dataset in enumerate(chosen):
        try:
            dataset_delete(dataset=dataset)
        except BaseException:
            for waiting in chosen[done + 1 :]:
                dataset_deletion_abandoned.send(sender=None, dataset=waiting)
            raise


def dataset_discard(*, dataset: Dataset) -> None:
    """Delete a dataset that holds nothing (see selectors.dataset_discardable), without the
    confirmation a delete asks for: a failed first upload leaves such a dataset behind, shown as
    failed with its reason until it is discarded. Refused (409) once it has rows or an upload
    waiting or loading, so that one click never deletes data."""
    current = Dataset.objects.prefetch_related("uploads").get(pk=dataset.pk)
    if not selectors.dataset_discardable(current):
        raise DatasetNotDiscardable(
            f"{current.name} has rows or files still loading; only a dataset whose uploads all "
            "failed can be discarded. Delete it instead."
        )
    dataset_delete(dataset=current)


def _delete_stored_file(upload: Upload) -> None:
    if upload.file.name:
        upload.file.storage.delete(upload.file.name)


def uploads_create(
    *,
    organization: Organization,
    files: Iterable[File[bytes]],
    dataset_slug: str | None = None,
    user: Uploader = None,
    mode: UploadMode = UploadMode.APPEND,
    reading_rules: Mapping[str, Any] | None = None,
) -> list[Upload]:
    """Store each file and queue its ingestion; without a dataset, each file makes a new one.

    `reading_rules` (csvhub.cleaning) are set on each file's dataset before its upload is
    queued, so this file and the later ones read with them.

    With `mode=replace`, the one file's rows become the dataset's contents: the dataset named
    by `dataset_slug`, or else the one the file's name gives (`sales.csv` → `sales`), so that
    uploading a corrected file again replaces it instead of making `sales-2`."""
    files = list(files)
    if not files:
        raise DatasetError("Send at least one CSV file in a multipart part named 'file'.")
    if mode == UploadMode.REPLACE and len(files) > 1:
        raise DatasetError("mode=replace takes one file: the dataset's rows become its rows.")
    if mode == UploadMode.REPLACE and not get_dialect().replaces_atomically:
        raise DatasetError(
            "mode=replace needs a SQLite or PostgreSQL warehouse; on this MySQL/MariaDB "
            "warehouse, delete the dataset and upload the file again."
        )
    for file in files:
        upload_size_check(file=file)
    if reading_rules:
        reading_rules_check(reading_rules)  # before any dataset is made: nothing to undo
    upload_arriving.send(
        sender=None, organization=organization, sizes=[file.size or 0 for file in files]
    )
    target = _dataset_for_append(organization, dataset_slug) if dataset_slug else None
    if mode == UploadMode.REPLACE and target is None:
        target = _dataset_named_like(organization, files[0])
    if mode == UploadMode.REPLACE and target is not None:
        send_rows_deleting(dataset=target, replace=True)  # its rows go: a legal hold refuses
    uploads = []
    for file in files:
        dataset = target or dataset_create(
            organization=organization, name=dataset_name_from_filename(file.name or ""), user=user
        )
        if reading_rules:
            reading_rules_set(dataset=dataset, changes=reading_rules)
        uploads.append(upload_create(dataset=dataset, file=file, user=user, mode=mode))
    return uploads


def _dataset_named_like(organization: Organization, file: File[bytes]) -> Dataset | None:
    """The dataset a file of this name created (its slug, without a `-2` suffix), if any."""
    slug = (slugify(dataset_name_from_filename(file.name or "")) or "dataset")[:70]
    return Dataset.objects.filter(organization=organization, slug=slug).first()


def _dataset_for_append(organization: Organization, slug: str) -> Dataset:
    try:
        return Dataset.objects.get(organization=organization, slug=slug)
    except Dataset.DoesNotExist:
        raise DatasetNotFound(f"No dataset with slug {slug!r}.") from None


def upload_size_check(*, file: File[bytes]) -> None:
    """A 413 for a file over CSVHUB_MAX_UPLOAD_BYTES; callers that create a dataset for the
    file check first, so that a refused file leaves nothing to undo."""
    limit = settings.CSVHUB_MAX_UPLOAD_BYTES
    if file.size is not None and file.size > limit:
        raise UploadTooLarge(
            f"{file.name} is {file.size:,} bytes; the largest upload accepted is {limit:,} bytes "
            "(CSVHUB_MAX_UPLOAD_BYTES). Split the file or compress it as .csv.gz."
        )


def upload_create(
    *,
    dataset: Dataset,
    file: File[bytes],
    user: Uploader = None,
    mode: UploadMode = UploadMode.APPEND,
    record: Callable[[Upload], None] | None = None,
    enqueue: bool = True,
) -> Upload:
    """Stream the file into storage, record the upload, and queue its ingestion after commit.

    The file is written before the database transaction so that no transaction stays open
    while gigabytes move; an upload whose row never commits leaves an orphan file at worst.
    `record` runs in the transaction that saves the upload (a scheduled import records where
    the file came from, so both commit or neither); `enqueue=False` leaves the ingestion to
    the caller.
    """
    if record is not None:  # a scheduled import: no uploads_create checked it first
        upload_arriving.send(sender=None, organization=dataset.organization, sizes=[file.size or 0])
    upload = Upload(
        dataset=dataset,
        original_name=PurePath(file.name or "").name[:255],
        size=file.size or 0,
        uploaded_by=_signed_in(user),
        mode=mode,
    )
    upload.file.save(upload.original_name, file, save=False)
    try:
        with transaction.atomic():
            upload_recording.send(sender=None, upload=upload)
            upload.save()
            if record is not None:
                record(upload)
            if enqueue:
                transaction.on_commit(lambda: upload_enqueue(upload_id=upload.id))
    except BaseException:
        _delete_stored_file(upload)
        raise
    return upload


def arrivals_enabled() -> bool:
    """Whether loads may start while their upload arrives: only where the job runs on another
    thread of the process receiving the body (the thread runner). A Celery worker cannot read
    its spool; a job run inline would wait for the body it is itself keeping from arriving."""
    from django.tasks import task_backends

    # The thread runner says so (csvhub.jobs.backends.ThreadBackend); importing its class here
    # would close an import cycle (backends -> csvhub.celery -> this module).
    threads_here = getattr(task_backends["default"], "runs_jobs_in_this_process", False)
    return bool(settings.CSVHUB_LOAD_WHILE_ARRIVING) and threads_here


def upload_may_begin_arriving() -> bool:
    """One load at a time per process starts while its upload arrives: it holds a job thread
    for as long as the body takes, and a slow client must not hold them all."""
    return arrivals_enabled() and arrival_count() == 0


def upload_begin_arriving(
    *, organization: Organization, user: Uploader, file_name: str, spool_path: str
) -> Arrival:
    """Start loading a file whose body is still arriving into a new dataset named after it: the
    dataset and the upload are recorded (its size and stored file once it has arrived, see
    upload_arrived) and the job reads the spool as it grows. The request keeps the upload with
    upload_arrived, or gives it up with upload_arrival_give_up: nothing of it is left then."""
    upload_arriving.send(sender=None, organization=organization, sizes=[0])
    dataset = dataset_create(
        organization=organization, name=dataset_name_from_filename(file_name), user=user
    )
    upload = Upload(
        dataset=dataset,
        original_name=PurePath(file_name).name[:255],
        uploaded_by=_signed_in(user),
        heartbeat_at=timezone.now(),  # alive while the body arrives (see uploads_resume)
    )
    with transaction.atomic():
        upload_recording.send(sender=None, upload=upload)
        upload.save()
    arrival = Arrival(upload.id, spool_path, lambda: _arriving(upload.id))
    arrival_register(arrival)
    upload_enqueue(upload_id=upload.id)
    return arrival


def _arriving(upload_id: UUID) -> None:
    Upload.objects.filter(pk=upload_id, file="").update(heartbeat_at=timezone.now())


def upload_arrived(*, arrival: Arrival, file: File[bytes]) -> Upload:
    """Keep an upload that arrived whole while it loaded: the checks uploads_create makes on a
    file, then the file stored and recorded, and only then may its job publish."""
    upload = Upload.objects.select_related("dataset__organization").get(pk=arrival.upload_id)
    upload_size_check(file=file)
    organization = upload.dataset.organization
    upload_arriving.send(sender=None, organization=organization, sizes=[file.size or 0])
    stored = Upload(pk=upload.pk, dataset=upload.dataset, size=file.size or 0)
    stored.file.save(upload.original_name, file, save=False)
    try:
        with transaction.atomic():
            upload_recording.send(sender=None, upload=stored)
            Upload.objects.filter(pk=upload.pk).update(size=stored.size, file=stored.file.name)
    except BaseException:
        _delete_stored_file(stored)
        raise
    arrival.stored()
    upload.refresh_from_db()
    return upload


def upload_arrival_give_up(*, arrival: Arrival, reason: str) -> None:
    """Delete what an upload given up while it arrived made (its job stopped first): its row,
    its stored file if any, and its dataset while that holds nothing else."""
    arrival.give_up(reason)
    upload = Upload.objects.select_related("dataset").filter(pk=arrival.upload_id).first()
    if upload is None:
        return
    _delete_stored_file(upload)
    dataset = upload.dataset
    upload.delete()
    if not dataset.uploads.exists() and not dataset.row_count:
        dataset_delete(dataset=dataset)


def upload_enqueue(*, upload_id: UUID) -> None:
    from csvhub.datasets.tasks import ingest_upload

    ingest_upload.enqueue(str(upload_id))


def uploads_resume(*, all_running_are_dead: bool = False, requeue_waiting: bool = True) -> int:
    """Queue again the jobs a crash left behind; returns how many were queued.

    A running job whose heartbeat stopped longer than CSVHUB_JOB_STALE_SECONDS ago is dead
    (with the thread runner, every running job is dead when the server starts: see
    uploads_revive). Jobs past CSVHUB_JOB_MAX_ATTEMPTS are failed instead of retried forever.
    At start-up, waiting jobs are queued again too, since their queue message may have died
    with the old process; a job queued twice runs once (see ingest._claim).
    """
    revived = uploads_revive(all_running_are_dead=all_running_are_dead)
    waiting = Upload.objects.filter(state=UploadState.QUEUED).exclude(file="")
    if not requeue_waiting:
        waiting = waiting.filter(id__in=revived)
    queued = list(waiting.values_list("id", flat=True))
    for upload_id in queued:
        upload_enqueue(upload_id=upload_id)
    if queued:
        logger.info("queued %d upload(s) again after a restart", len(queued))
    return len(queued)


def uploads_revive(*, all_running_are_dead: bool) -> list[UUID]:
    """Mark the dead running jobs waiting again (failed past CSVHUB_JOB_MAX_ATTEMPTS) without
    queuing them; returns the ids of those marked waiting.

    `csvhub serve` with the thread runner calls it once with `all_running_are_dead` before its
    workers start, since no other process runs its jobs; its workers then queue every waiting
    job at start (uploads_resume). A worker cannot do it itself: another worker of the same
    server may already be running one of them."""
    cutoff = timezone.now() - timedelta(seconds=settings.CSVHUB_JOB_STALE_SECONDS)
    _arrivals_sweep(cutoff)
    dead = Q(state=UploadState.RUNNING) & ~Q(file="")
    if not all_running_are_dead:
        dead &= Q(heartbeat_at__lt=cutoff) | Q(heartbeat_at__isnull=True)
    exhausted = Upload.objects.filter(dead, attempts__gte=settings.CSVHUB_JOB_MAX_ATTEMPTS)
    exhausted.update(
        state=UploadState.FAILED,
        finished_at=timezone.now(),
        error="The ingestion stopped without finishing too many times; upload the file again.",
    )
    revived = list(Upload.objects.filter(dead).values_list("id", flat=True))
    Upload.objects.filter(dead, id__in=revived).update(state=UploadState.QUEUED)
    return revived


def _arrivals_sweep(cutoff: datetime) -> None:
    """Give up the uploads that were arriving in a process that died: recorded without a
    stored file, their request no longer says they are alive (see upload_begin_arriving)."""
    orphans = Upload.objects.filter(
        Q(heartbeat_at__lt=cutoff) | Q(heartbeat_at__isnull=True),
        file="",
        original_deleted_at__isnull=True,  # not an original that retention deleted
        state__in=(UploadState.QUEUED, UploadState.RUNNING, UploadState.FAILED),
    ).select_related("dataset")
    for upload in orphans:
        logger.warning("upload %s stopped arriving (its process died): deleted", upload.id)
        dataset = upload.dataset
        upload.delete()
        if not dataset.uploads.exists() and not dataset.row_count:
            try:
                dataset_delete(dataset=dataset)
            except DatasetError as refused:  # a legal hold: the empty dataset stays
                logger.warning("empty dataset %s kept: %s", dataset.pk, refused)


def index_create(*, dataset: Dataset, columns: list[str]) -> tuple[dict[str, Any], str]:
    """Build an index on the columns, now or in the background; returns the index and what
    happened: "exists", "built" or "queued" (its status then is "queued")."""
    if not dataset.schema:
        raise DatasetError("This dataset has no rows yet; upload a file before indexing it.")
    chosen = ColumnResolver(dataset.schema).index_columns(columns)
    names = [column.name for column in chosen]
    table_name = dataset.table_name
    existing = warehouse_indexes.index_find(table_name=table_name, columns=names)
    if existing is not None and existing.status is not warehouse_indexes.IndexStatus.FAILED:
        return selectors.index_json(existing), "exists"
    if dataset.row_count > INLINE_INDEX_ROWS:
        from csvhub.datasets.tasks import build_index

        build_index.enqueue(str(dataset.id), names)
        name = warehouse_indexes.index_name(table_name, names)
        return {"name": name, "columns": names, "status": "queued"}, "queued"
    info = warehouse_indexes.index_create(table_name=table_name, fields=chosen)
    return selectors.index_json(info), "built"
