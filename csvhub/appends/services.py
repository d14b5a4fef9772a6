"""Appending rows given as JSON to a dataset: one warehouse transaction, then its metadata.

The rows go through a LoadSession like an upload's (csvhub.warehouse.load): the same per-table
lock (appends and uploads to one dataset take turns), the same widening and typed writes
(csvhub.datasets.typed_writes), the same publication of the result to the dataset's metadata
(row count, row ids, column stats: merged, so they stay exact without a scan). A request is
all or nothing: any error before the commit rolls every row back.

The metadata is published while the table's lock is still held: its transaction opens before
the warehouse commits and commits right after, holding the dataset's row. So a recount of the
table (an edit's, a retention run's: both take the table's lock, then the dataset's row) never
sees an append's rows without its count, and publishes follow the order of the warehouse
commits (an append after a replace is counted on top of the new rows; one before it, replaced).

With an `Idempotency-Key`, the load is recorded under the key's load id in the warehouse's
commit, and the first answer is kept on the key (AppendKey): a retry, or the same request sent
twice at once, waits for the table's lock, finds the load done, and answers as the first did.
"""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

from csvhub.appends.batch import AppendBatch, batch_for_new_table, batch_for_table
from csvhub.appends.models import AppendKey
from csvhub.appends.payload import Payload
from csvhub.csvread import Columns
from csvhub.datasets.errors import DatasetError, DatasetNotFound
from csvhub.datasets.models import Dataset
from csvhub.datasets.typed_writes import Publication, TypedWriter, load_publish
from csvhub.lifecycle.quotas import check_rows
from csvhub.schema import DatasetSchema, LoadResult
from csvhub.warehouse.engine import get_engine
from csvhub.warehouse.load import LoadSession, loads_forget

MAX_KEY_LENGTH = 255
# Rows an append into an existing table reads, widens for and sends at a time: the server
# stores one chunk while the next is inferred and encoded (a 10,000-row batch sent whole was
# stored only after every value had been read, one wait after the other).
CHUNK_ROWS = 2_000


class IdempotencyKeyReused(DatasetError):
    status_code = 409


@dataclass(frozen=True, slots=True)
class AppendAnswer:
    """What POST …/rows/ answers (201), the same on every retry with the request's key."""

    body: dict[str, Any]
    replayed: bool = False


def rows_append(
    *, dataset: Dataset, payload: Payload, idempotency_key: str = "", fingerprint: str = ""
) -> AppendAnswer:
    """Append the payload's rows to the dataset, all or none; see the module docstring."""
    if not idempotency_key:
        return _write(
            dataset, payload, str(uuid.uuid4()), _publish_unkeyed(dataset), recorded=False
        )
    key = _claim(dataset, idempotency_key, fingerprint)
    if key.response is not None:
        return AppendAnswer(key.response, replayed=True)
    try:
        return _write(
            dataset, payload, str(key.load_id), lambda r: _publish_once(key, r), recorded=True
        )
    except DatasetError:  # nothing written: the key is free for a corrected request
        AppendKey.objects.filter(pk=key.pk, response__isnull=True).delete()
        raise


def _publish_unkeyed(dataset: Dataset) -> Callable[[LoadResult], AppendAnswer]:
    def publish(result: LoadResult) -> AppendAnswer:
        load_publish(dataset_id=dataset.pk, result=result, how=Publication(origin="append"))
        return AppendAnswer(answer_body(result))

    return publish


def request_fingerprint(content_type: str, body: bytes) -> str:
    return hashlib.sha256(content_type.encode() + b"\n" + body).hexdigest()


def answer_body(result: LoadResult) -> dict[str, Any]:
    """The answer: rows appended, their row ids as an inclusive range, widened columns."""
    first, last = result.row_id_range or (None, None)
    return {
        "rows_appended": result.rows_loaded,
        "row_ids": {"first": first, "last": last},
        "type_changes": [change.to_json() for change in result.type_changes],
        "columns": [column.name for column in result.columns],
    }


# -- the warehouse ----------------------------------------------------------------------------


def _write(
    dataset: Dataset,
    payload: Payload,
    load_id: str,
    publish: Callable[[LoadResult], AppendAnswer],
    *,
    recorded: bool,
) -> AppendAnswer:
    """Write the rows and `publish` them: the metadata's transaction commits right after the
    warehouse's (rolled back with it when the warehouse's commit fails); see the docstring."""
    with LoadSession(get_engine(), dataset.table_name, load_id, recorded=recorded) as load:
        result = load.previous_result()  # the same key's request, already written
        if result is None:
            result = _write_new(dataset, payload, load)
        load.commit_with(transaction.atomic())
        return publish(result)


def _write_new(dataset: Dataset, payload: Payload, load: LoadSession) -> LoadResult:
    labels = _labels(dataset)  # under the table's lock: a concurrent upload's, published
    if load.columns is None:
        batch = batch_for_new_table(payload)
    else:
        batch = batch_for_table(payload, load.columns, labels)
    result = _write_batch(load, batch)
    # Before the commit, under the table's lock: rows past the organization's quota are
    # refused (409, nothing written). Appends to one dataset are checked one after another;
    # appends to two datasets of one organization racing each other can pass it by one
    # request's rows (uploads reserve their rows; an append commits at once).
    with transaction.atomic():
        check_rows(dataset.organization, adding=result.rows_loaded)
    load.finish(result)
    return result


def _labels(dataset: Dataset) -> dict[str, str]:
    found = Dataset.objects.filter(pk=dataset.pk).values_list("columns", flat=True).first()
    if found is None:
        raise DatasetNotFound("The dataset was deleted while the rows were being appended.")
    return {column.name: column.label for column in DatasetSchema.from_json(found)}


def _write_batch(load: LoadSession, batch: AppendBatch) -> LoadResult:
    writer = TypedWriter(load, batch.names)
    if load.columns is None:
        # The dataset's first rows: its columns come from them.
        writer.observe(batch.columns.summarize())
        writer.create_table()
        writer.write(batch.columns)
        writer.settle_provisional_types()
        return writer.result(batch.labels)
    load.set_write_order(batch.names)
    streams = load.stores_while_caller_reads and batch.columns.row_count > CHUNK_ROWS
    if not (streams and _written_as_read(writer, batch.columns)):
        _write_whole(writer, batch.columns)
    return writer.result(batch.labels)


def _written_as_read(writer: TypedWriter, columns: Columns) -> bool:
    """Each chunk observed, then written while the next is observed (the engine stores one
    while the next is read, instead of waiting for the whole batch's inference): the sensor
    case, a stream whose values fit the stored columns. False, with nothing written, nothing
    observed and the table as it was, when a chunk needs a wider column: rows converted for
    the narrower type would not be stored as sent (1.5 as 1.50 once the column is text), and
    a first chunk's widening would convert the stored rows a second time when a later chunk
    widened again. The batch is then written whole, as before."""
    for chunk in _chunks(columns):
        if writer.widens(writer.observe(chunk.summarize())):
            writer.load.take_back_rows()
            writer.forget_observations()
            return False
        writer.write(chunk, writer.tracker.last_observation)
    return True


def _write_whole(writer: TypedWriter, columns: Columns) -> None:
    # The whole batch is observed and the columns widened before any row is written: a
    # column widened by a later chunk (to text, say) would otherwise hold the earlier
    # chunks' values as converted ("1.5" as "1.50"), not as sent.
    writer.widen_to(writer.observe(columns.summarize()))
    if columns.row_count <= CHUNK_ROWS:
        writer.write(columns, writer.tracker.last_observation)
        return
    for chunk in _chunks(columns):
        writer.write(chunk)  # converted cell by cell: the observation is the batch's


def _chunks(columns: Columns) -> Iterator[Columns]:
    """The batch in runs of CHUNK_ROWS rows."""
    for start in range(0, columns.row_count, CHUNK_ROWS):
        yield Columns([cells[start : start + CHUNK_ROWS] for cells in columns.values])


# -- idempotency keys --------------------------------------------------------------------------


def _claim(dataset: Dataset, key: str, fingerprint: str) -> AppendKey:
    """The key's record, made on its first use (or again once expired)."""
    if len(key) > MAX_KEY_LENGTH:
        raise DatasetError(f"The Idempotency-Key is longer than {MAX_KEY_LENGTH} characters.")
    _forget_expired(dataset)
    expires = timezone.now() + timedelta(seconds=settings.CSVHUB_APPEND_KEY_TTL_SECONDS)
    try:
        with transaction.atomic():
            claimed, _ = AppendKey.objects.get_or_create(
                dataset=dataset,
                key=key,
                defaults={"fingerprint": fingerprint, "expires_at": expires},
            )
    except IntegrityError:  # the same key's request, sent at the same moment, made it first
        claimed = AppendKey.objects.get(dataset=dataset, key=key)
    if claimed.fingerprint != fingerprint:
        raise IdempotencyKeyReused(
            "This Idempotency-Key was used for another request to this dataset (with another "
            "body); use a new key for new rows."
        )
    return claimed


def _forget_expired(dataset: Dataset) -> None:
    expired = AppendKey.objects.filter(dataset=dataset, expires_at__lt=timezone.now())
    load_ids = [str(load_id) for load_id in expired.values_list("load_id", flat=True)[:1000]]
    if load_ids:
        loads_forget(get_engine(), load_ids)
        AppendKey.objects.filter(load_id__in=load_ids).delete()


def _publish_once(key: AppendKey, result: LoadResult) -> AppendAnswer:
    """Publish the key's load unless a concurrent retry of it already did, in the caller's
    transaction (_write's)."""
    locked = AppendKey.objects.select_for_update().get(pk=key.pk)
    if locked.response is not None:
        return AppendAnswer(locked.response, replayed=True)
    load_publish(dataset_id=key.dataset_id, result=result, how=Publication(origin="append"))
    locked.response = answer_body(result)
    locked.save(update_fields=["response"])
    return AppendAnswer(locked.response)
