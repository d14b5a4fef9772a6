"""Ingestion: one upload's file, streamed from storage into its dataset's warehouse table.

The job is claimed with a conditional update (only one worker wins), the rows are loaded in one
warehouse transaction (csvhub.warehouse.load), and the dataset's metadata is updated in one
Django transaction afterwards. If the process dies between the two commits, the retried job
finds the load recorded in the warehouse and only applies the metadata.
"""

from __future__ import annotations

import logging
import time
from contextlib import ExitStack
from datetime import timedelta
from typing import IO, Any, TypedDict
from uuid import UUID

from django.conf import settings
from django.db import transaction
from django.db.models import F, Q, QuerySet
from django.utils import timezone

from csvhub.cleaning.reading import UploadCleaning, upload_cleaning
from csvhub.cleaning.services import upload_reading_record
from csvhub.csvread import (
    BadRow,
    Batch,
    Columns,
    CsvFormatError,
    CsvReader,
    LimitExceeded,
    ReadAgain,
    ReadLimits,
    open_csv,
)
from csvhub.csvread.child import (
    ChildCsvReader,
    ChildReaderFailed,
    ReaderOutOfMemory,
    open_csv_in_child,
)
from csvhub.csvread.convert import misfits
from csvhub.csvread.growing import FileAbandoned
from csvhub.csvread.rules import BatchRewriter, Reading, detect
from csvhub.datasets.arrivals import Arrival, arrival_get
from csvhub.datasets.errors import IngestFailed
from csvhub.datasets.models import Dataset, Reject, Upload, UploadMode, UploadState
from csvhub.datasets.signals import rows_loading
from csvhub.datasets.typed_writes import Publication, TypedWriter, load_apply
from csvhub.jobs.heartbeat import Heartbeat
from csvhub.metrics import ingest_progress, job_finished
from csvhub.schema import ColumnType, LoadResult
from csvhub.warehouse.engine import get_engine
from csvhub.warehouse.load import LoadSession

logger = logging.getLogger(__name__)

BATCH_ROWS = 20_000
# Rows held back before the table exists, so that columns empty in the first batch can still
# get their real type; past this many rows, still-empty columns start out as text.
TYPE_WAIT_ROWS = 100_000
# ... and at most about this much memory of them: held rows stay in this process (the web
# server, with the thread runner), whatever the reader child's memory limit.
TYPE_WAIT_BYTES = 64 * 1024 * 1024
# What a cell costs in memory besides its characters: a str object and a list slot.
CELL_OVERHEAD_BYTES = 64
PROGRESS_SECONDS = 1.0


def upload_ingest(*, upload_id: UUID | str) -> None:
    arrival = arrival_get(UUID(str(upload_id)))
    if arrival is None:
        _ingest(UUID(str(upload_id)), arriving=False)
    elif arrival.job_begins():  # else the upload was given up before this job started
        try:
            _ingest(arrival.upload_id, arriving=True)
        finally:
            arrival.job_ends()


def _ingest(upload_id: UUID, *, arriving: bool) -> None:
    upload = _claim(upload_id, arriving=arriving)
    if upload is None:
        return
    report = _ProgressReport(upload)
    with Heartbeat(
        lambda: _this_attempt(upload).update(heartbeat_at=timezone.now()), f"upload {upload.id}"
    ):
        try:
            _load(upload, report)
        except JobSuperseded:
            logger.warning("upload %s was taken over by another worker; this one stops", upload.id)
            return
        except IngestFailed as exc:
            _fail(upload, str(exc), report)
            return
        except Exception:
            logger.exception("ingestion of upload %s failed", upload.id)
            _fail(upload, "csvhub could not load this file because of an internal error.", report)
            raise


class JobSuperseded(Exception):
    """Another worker claimed this job (it thought this one dead): this one must stop and leave
    the job alone. Its warehouse work is safe either way: loads of one table are serialized and
    a committed load is found by the next attempt (LoadSession.previous_result)."""


def _this_attempt(upload: Upload) -> QuerySet[Upload]:
    """The upload, as long as it is still this worker's attempt: every write of a running job
    goes through it, so that a worker thought dead (then revived elsewhere) writes nothing."""
    return Upload.objects.filter(pk=upload.pk, state=UploadState.RUNNING, attempts=upload.attempts)


def _claim(upload_id: UUID, *, arriving: bool = False) -> Upload | None:
    """Mark the job running if it is queued (or dead); return None when another worker has it.

    An upload still arriving has no stored file: only the job of the process receiving it
    (`arriving`) reads it, from the spool (see csvhub.datasets.arrivals)."""
    now = timezone.now()
    stale = now - timedelta(seconds=settings.CSVHUB_JOB_STALE_SECONDS)
    claimable = Upload.objects.filter(
        Q(state=UploadState.QUEUED) | Q(state=UploadState.RUNNING, heartbeat_at__lt=stale),
        pk=upload_id,
    )
    if not arriving:
        claimable = claimable.exclude(file="")
    claimed = claimable.update(
        state=UploadState.RUNNING,
        attempts=F("attempts") + 1,
        started_at=now,
        heartbeat_at=now,
        finished_at=None,
        error="",
    )
    if claimed != 1:
        return None
    return Upload.objects.select_related("dataset").get(pk=upload_id)


def _fail(upload: Upload, message: str, report: _ProgressReport) -> None:
    """Nothing of a failed upload was loaded (its staged rows were rolled back); its rejected
    rows are counted to the last one read, since they are kept for the user to see."""
    _this_attempt(upload).update(
        state=UploadState.FAILED,
        error=message,
        finished_at=timezone.now(),
        rows_loaded=0,
        rows_rejected=report.rejected,
    )
    job_finished(upload.id, kind="ingest", state="failed", started_at=upload.started_at)


def _load(
    upload: Upload, report: _ProgressReport | None = None, *, publish: bool = True
) -> LoadResult:
    """Load and publish the upload; without `publish`, the load commits alone (the tests of a
    worker dying between the two commits)."""
    report = report or _ProgressReport(upload)
    try:
        return _load_once(upload, report, publish=publish)
    except ReadAgain as again:  # the whole file chose another encoding: everything rolled back
        report.rejected = 0
        return _load_once(upload, report, again, publish=publish)


def _load_once(
    upload: Upload, report: _ProgressReport, again: ReadAgain | None = None, *, publish: bool
) -> LoadResult:
    """One reading of the file, published; a second one reads it in the encoding `again` names.

    The metadata is published while the table's lock is still held (its transaction commits
    right after the warehouse's), as JSON appends publish theirs: publishes follow the order of
    the warehouse commits, so an append landing after a replace is counted on top of the new
    rows, and a recount under the table's lock never finds rows committed but not counted."""
    Reject.objects.filter(upload=upload).delete()  # left by an attempt that died
    replace = upload.mode == UploadMode.REPLACE
    with LoadSession(
        get_engine(), upload.dataset.table_name, str(upload.id), replace=replace
    ) as load:
        result = load.previous_result() or _load_rows(upload, report, load, again)
        if publish:
            load.commit_with(transaction.atomic())
            _publish(upload, result)
    return result


def _load_rows(
    upload: Upload, report: _ProgressReport, load: LoadSession, again: ReadAgain | None
) -> LoadResult:
    previous_rows = (
        Dataset.objects.filter(pk=upload.dataset_id).values_list("row_count", flat=True).first()
    )
    if not Dataset.objects.filter(pk=upload.dataset_id).exists():
        raise IngestFailed("The dataset was deleted while this file was waiting.")
    arrival = arrival_get(upload.id)
    with _original(upload, arrival) as stream, ExitStack() as stack:
        try:
            reader = _open_reader(stream, upload, stack, again, arriving=arrival is not None)
            loader = _RowLoader(load, reader, upload, report)
            result = loader.run()
            if arrival is not None:
                arrival.wait_stored()  # nothing is published before the original is stored
        except FileAbandoned as exc:
            raise _not_arrived(exc) from None
        except LimitExceeded as exc:
            setting = _LIMIT_SETTINGS.get(exc.limit)
            limit = f" The limit is set by {setting}." if setting else ""
            raise IngestFailed(f"{exc}{limit}") from None
        except CsvFormatError as exc:  # unreadable from the start, or broken part way
            raise IngestFailed(str(exc)) from None
        except ReaderOutOfMemory:
            raise IngestFailed(_out_of_memory_message()) from None
        except ChildReaderFailed as exc:  # after its ReaderOutOfMemory subclass
            if isinstance(exc.__cause__, FileAbandoned):
                raise _not_arrived(exc.__cause__) from None
            raise
    upload_reading_record(upload=upload, reading=loader.reading, first=previous_rows == 0)
    # Before the commit, so that a receiver refusing the rows (a quota) loads nothing.
    rows_loading.send(sender=None, upload=upload, rows=load.rows_written)
    load.finish(result)
    return result


def _original(upload: Upload, arrival: Arrival | None) -> IO[bytes]:
    """The uploaded file: the spool as it grows while the upload arrives, else the stored file."""
    if arrival is not None:
        return arrival.open()  # type: ignore[return-value]  # a RawIOBase: read() is all used
    return upload.file.open("rb")


def _not_arrived(abandoned: FileAbandoned) -> IngestFailed:
    return IngestFailed(f"The file did not arrive whole ({abandoned}), so nothing was loaded.")


_LIMIT_SETTINGS = {
    "max_decompressed_bytes": "CSVHUB_MAX_DECOMPRESSED_BYTES",
    "max_decompression_ratio": "CSVHUB_MAX_DECOMPRESSION_RATIO",
}


class _ReadOptions(TypedDict):
    """What open_csv and open_csv_in_child both take, beside the stream."""

    filename: str
    encoding: str | None
    encoding_reason: str
    max_decompressed_bytes: int | None
    max_decompression_ratio: int | None
    limits: ReadLimits


def _open_reader(
    stream: IO[bytes],
    upload: Upload,
    stack: ExitStack,
    again: ReadAgain | None,
    *,
    arriving: bool = False,
) -> CsvReader | ChildCsvReader:
    """Files are parsed in a child process with a memory limit, beside inference and loading in
    this one: a file that needs too much memory fails its upload instead of this process (the
    web server with the thread runner). Only an operator who raised
    CSVHUB_CHILD_READER_MIN_BYTES has small files read here, without the limit."""
    options: _ReadOptions = {
        "filename": upload.original_name,
        "encoding": again.encoding if again else None,
        "encoding_reason": again.reason if again else "",
        "max_decompressed_bytes": settings.CSVHUB_MAX_DECOMPRESSED_BYTES,
        "max_decompression_ratio": settings.CSVHUB_MAX_DECOMPRESSION_RATIO,
        "limits": read_limits(),
    }
    # An upload still arriving has no size yet: the child reads it, as it reads any file.
    if upload.size < settings.CSVHUB_CHILD_READER_MIN_BYTES and not arriving:
        return open_csv(stream, **options)
    return stack.enter_context(
        open_csv_in_child(
            stream,
            batch_rows=BATCH_ROWS,
            memory_limit=settings.CSVHUB_READER_MEMORY_LIMIT_BYTES or None,
            **options,
        )
    )


def _out_of_memory_message() -> str:
    limit = settings.CSVHUB_READER_MEMORY_LIMIT_BYTES
    allowed = (
        f"the {limit / 1024**2:,.0f} MiB the reader is allowed (CSVHUB_READER_MEMORY_LIMIT_BYTES)"
        if limit
        else "the server could give its reader"
    )
    return (
        f"The file needs more memory than {allowed}; it probably has extremely long lines or "
        "fields. Nothing was loaded. Check the file, or split it into smaller files."
    )


def read_limits() -> ReadLimits:
    """The reader's bounds on one record and one batch, from the settings."""
    return ReadLimits(
        record_chars=settings.CSVHUB_MAX_RECORD_SIZE,
        record_lines=settings.CSVHUB_MAX_RECORD_LINES,
        batch_chars=settings.CSVHUB_MAX_BATCH_SIZE,
    )


class _RowLoader:
    """Streams batches from the reader into the load session, widening types as values demand
    (csvhub.datasets.typed_writes); holds the first batches back until the types are known."""

    def __init__(
        self,
        load: LoadSession,
        reader: CsvReader | ChildCsvReader,
        upload: Upload,
        report: _ProgressReport,
    ) -> None:
        self.load = load
        self.reader = reader
        self.upload = upload
        self.names = [column.name for column in reader.columns]
        self.writer = TypedWriter(load, self.names)
        self.held: list[Batch] = []  # batches read before the table exists
        self.held_rows = 0
        self.held_bytes = 0
        self.rows_seen = 0
        self.first_reject = ""
        self.report = report
        # Reading rules and the recipe (csvhub.cleaning): decided on the first batch.
        self.cleaning: UploadCleaning = upload_cleaning(upload.dataset)
        self.reading = Reading()
        self.rewriter: BatchRewriter | None = None
        self.held_types = self.cleaning.held_types(self.names)
        self.writer.held_types = self.held_types  # a type rule decides the table's types

    def run(self) -> LoadResult:
        if self.load.columns is not None:
            _check_header(self.load.columns, self.reader)
            self.load.set_write_order(self.names)
        for batch in self.reader.batches(BATCH_ROWS):
            self._take(batch)
        if self.load.columns is None:
            self._create_table()
        self.writer.settle_provisional_types()
        self._check_reject_share()
        self.report.send(rows=self.load.rows_written, force=True)
        return self._result()

    def _take(self, batch: Batch) -> None:
        _check_row_limit(batch.rows_seen)  # before anything of the batch is written
        self._quarantine(batch)
        self.rows_seen = batch.rows_seen
        if batch.row_count:
            self._take_rows(batch)
        self.report.send(rows=self.load.rows_written, bytes_read=batch.bytes_read)

    def _take_rows(self, batch: Batch) -> None:
        batch = self._cleaned(batch)
        if not batch.row_count:
            return
        types = self.writer.observe(batch.columns)
        if self.load.columns is None:
            self.held.append(batch)
            self.held_rows += batch.row_count
            self.held_bytes += _memory_estimate(batch.columns.values)
            if (
                all(t is not None for t in types)
                or self.held_rows >= TYPE_WAIT_ROWS
                or self.held_bytes >= TYPE_WAIT_BYTES
            ):
                self._create_table()
        else:
            self.writer.widen_to(types, lambda index, stored: _cause(batch, index, stored))
            self.writer.write(batch.columns, self.writer.tracker.last_observation)

    def _cleaned(self, batch: Batch) -> Batch:
        """The batch through the recipe and the reading rules, less the rows whose values do
        not fit a type the rules hold (they go to the rejects, with their lines)."""
        if self.rewriter is None:
            self.reading = detect(
                self.cleaning.rules.reading, batch.columns, self.reader.delimiter, self.names
            )
            self.rewriter = self.cleaning.rewriter(self.reading, self.names)
        columns = self.rewriter.rewrite(batch.columns) if self.rewriter.active else batch.columns
        bad = self._screen(columns, batch)
        if bad:
            columns = columns.without_rows(set(bad))
        if columns is batch.columns:
            return batch
        return Batch(
            None,
            batch.bad_rows,
            batch.bytes_read,
            batch.rows_seen,
            columns=columns,
            chars=batch.chars,
        )

    def _screen(self, columns: Columns, batch: Batch) -> list[int]:
        """Rows with a value that does not fit its held type, recorded as rejects."""
        bad: dict[int, str] = {}
        for index, held in self._held_types().items():
            for position in misfits(held, columns.cells(index)):
                value = columns.cells(index)[position]
                bad.setdefault(position, f"{self.names[index]}: {value[:80]!r} is not a {held}")
        if not bad:
            return []
        lines = _lines(batch, sorted(bad))
        rejects = [
            BadRow(lines[position], f"{reason} (reading rules)", self._row_text(columns, position))
            for position, reason in sorted(bad.items())
        ]
        self._quarantine(Batch([], rejects, batch.bytes_read, batch.rows_seen))
        return sorted(bad)

    def _held_types(self) -> dict[int, ColumnType]:
        """Column types the rules hold: set by a type rule, or stored ones in strict mode."""
        held = dict(self.held_types)
        if self.cleaning.rules.strict and self.load.columns is not None:
            for index, name in enumerate(self.names):
                if name not in self.writer.provisional and index not in held:
                    held[index] = self.load.columns[name]
        return {i: kind for i, kind in held.items() if kind is not ColumnType.TEXT}

    def _row_text(self, columns: Columns, position: int) -> str:
        cells = [columns.cells(index)[position] for index in range(columns.width)]
        return self.reader.delimiter.join(cells)[:1000]

    def _create_table(self) -> None:
        self.writer.create_table()
        held, self.held = self.held, []
        self.held_rows = self.held_bytes = 0
        for batch in held:
            self.writer.write(batch.columns)

    def _quarantine(self, batch: Batch) -> None:
        if not batch.bad_rows:
            return
        if not self.first_reject:
            first = batch.bad_rows[0]
            self.first_reject = f"line {first.line}: {first.reason}"
        room = max(settings.CSVHUB_MAX_STORED_REJECTS - self.report.rejected, 0)
        Reject.objects.bulk_create(
            Reject(upload=self.upload, line=bad.line, reason=bad.reason[:500], text=bad.text)
            for bad in batch.bad_rows[:room]
        )
        self.report.rejected += len(batch.bad_rows)

    def _check_reject_share(self) -> None:
        total = self.rows_seen
        rejected = self.report.rejected
        limit = settings.CSVHUB_MAX_REJECT_RATIO
        if total and rejected / total > limit:
            raise IngestFailed(
                f"{rejected:,} of {total:,} rows could not be read "
                f"({rejected / total:.1%}, more than the {limit:.0%} allowed), so nothing "
                f"was loaded. First problem: {self.first_reject}. See the rejected rows, fix "
                "the file and upload it again."
            )

    def _result(self) -> LoadResult:
        return self.writer.result(
            {c.name: c.label for c in self.reader.columns},
            rows_rejected=self.report.rejected,
            encoding=self.reader.encoding,
            encoding_reason=self.reader.encoding_reason,
            delimiter=self.reader.delimiter,
        )


def _cause(batch: Batch, index: int, stored: ColumnType) -> tuple[int | None, str | None]:
    """The line and value of the batch's first cell that does not fit `stored`."""
    cells = batch.columns.cells(index)
    found = misfits(stored, cells, first_only=True)
    if not found:
        return None, None  # e.g. more fraction digits than the stored scale
    return _lines(batch, found)[found[0]], cells[found[0]]


def _lines(batch: Batch, positions: list[int]) -> dict[int, int]:
    """The file line of good rows at `positions` (ascending) of the batch. Lines are counted
    one per record after the header (line 1), skipping the batch's bad rows: exact unless
    a quoted cell holds a line break or blank lines are skipped (docs/cleaning.md)."""
    before = batch.rows_seen - batch.row_count - len(batch.bad_rows)
    bad_lines = iter(sorted(bad.line for bad in batch.bad_rows))
    next_bad = next(bad_lines, None)
    lines: dict[int, int] = {}
    skipped = 0
    for position in positions:
        line = 2 + before + position + skipped
        while next_bad is not None and next_bad <= line:
            skipped += 1
            line += 1
            next_bad = next(bad_lines, None)
        lines[position] = line
    return lines


def _check_row_limit(rows_seen: int) -> None:
    limit = settings.CSVHUB_MAX_ROWS_PER_UPLOAD
    if limit and rows_seen > limit:
        raise IngestFailed(
            f"This file has more than {limit:,} rows, more than csvhub takes in one upload, so "
            "nothing was loaded. Split it into smaller files. The limit is set by "
            "CSVHUB_MAX_ROWS_PER_UPLOAD."
        )


def _memory_estimate(columns: list[list[str]]) -> int:
    """About the memory a batch's cells take. Inference has split them already (a column still
    empty is why the batch is held), so counting costs no copy."""
    return sum(sum(map(len, cells)) + CELL_OVERHEAD_BYTES * len(cells) for cells in columns)


def _check_header(existing: dict[str, ColumnType], reader: CsvReader | ChildCsvReader) -> None:
    names = {column.name for column in reader.columns}
    missing = [name for name in existing if name not in names]
    unexpected = [c.label for c in reader.columns if c.name not in existing]
    if missing or unexpected:
        parts = []
        if missing:
            parts.append(f"missing columns: {', '.join(missing)}")
        if unexpected:
            parts.append(f"unexpected columns: {', '.join(unexpected)}")
        raise IngestFailed(
            "The file's header does not match the dataset's columns ("
            + "; ".join(parts)
            + "). Appending needs the same columns, in any order."
        )


class _ProgressReport:
    """Writes progress to the upload row at most once a second; notices a deleted upload.

    `rejected` counts the rows quarantined so far, written or not: a failure writes it too
    (see _fail), so that the count of a failed upload is exact.
    """

    def __init__(self, upload: Upload) -> None:
        self.upload = upload
        self.last = 0.0
        self.rejected = 0

    def send(self, *, rows: int, bytes_read: int | None = None, force: bool = False) -> None:
        ingest_progress(self.upload.id, rows=rows, bytes_read=bytes_read, rejected=self.rejected)
        now = time.monotonic()
        if not force and now - self.last < PROGRESS_SECONDS:
            return
        self.last = now
        fields: dict[str, Any] = {"rows_loaded": rows, "rows_rejected": self.rejected}
        fields["heartbeat_at"] = timezone.now()
        if bytes_read is not None:
            fields["bytes_read"] = bytes_read
        if _this_attempt(self.upload).update(**fields):
            return
        if Upload.objects.filter(pk=self.upload.pk).exists():
            raise JobSuperseded()
        raise IngestFailed("The upload was deleted while it was loading.")


def _publish(upload: Upload, result: LoadResult) -> None:
    """Apply a load to the dataset's metadata (typed_writes.load_apply) and finish the job,
    in the caller's transaction (committed right after the load's)."""
    replace = upload.mode == UploadMode.REPLACE
    how = Publication(replace=replace, origin="replace" if replace else "upload")
    dataset = Dataset.objects.select_for_update().get(pk=upload.dataset_id)
    if not _this_attempt(upload).select_for_update().exists():
        # Another attempt took the job over: it finds this load committed and publishes
        # it once (publishing here too would count its rows twice).
        logger.warning("upload %s was taken over by another worker before publishing", upload.id)
        return
    load_apply(dataset=dataset, result=result, how=how)
    _this_attempt(upload).update(
        state=UploadState.SUCCEEDED,
        finished_at=timezone.now(),
        bytes_read=F("size"),  # recorded once the upload arrived, if it was still arriving
        rows_loaded=result.rows_loaded,
        rows_rejected=result.rows_rejected,
        type_changes=[change.to_json() for change in result.type_changes],
        encoding=result.encoding,
        encoding_reason=result.encoding_reason[:300],
        delimiter=result.delimiter,
        error="",
    )
    transaction.on_commit(
        lambda: job_finished(
            upload.id, kind="ingest", state="succeeded", started_at=upload.started_at
        )
    )
