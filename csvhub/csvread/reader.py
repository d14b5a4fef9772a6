"""Reading a CSV upload as batches of rows, in bounded memory, quarantining bad records."""

import csv
import os
import re
from bisect import bisect_right
from collections.abc import Iterator
from dataclasses import dataclass, field
from itertools import chain, islice
from typing import BinaryIO

from csvhub.csvread import decoding
from csvhub.csvread.columns import Columns
from csvhub.csvread.dialect import detect_delimiter
from csvhub.csvread.errors import CsvFormatError, LimitExceeded
from csvhub.csvread.header import Column, columns_from_header

try:
    from csvhub.csvread import _splitter
except ImportError:  # built without a C compiler: the csv module reads instead
    _splitter = None  # type: ignore[assignment]

FIELD_SIZE_LIMIT = 64 * 1024 * 1024
MAX_COLUMNS = 1600  # PostgreSQL's limit for a table
BAD_ROW_TEXT_LIMIT = 1000
_LINE_BREAK = re.compile(r"\r\n|\r|\n")


@dataclass(frozen=True)
class BadRow:
    line: int  # physical line where the record starts; the header is line 1
    reason: str
    text: str  # the record as written, at most 1000 characters


class Batch:
    """Good rows (each exactly len(columns) raw strings), bad rows, and progress.

    The good rows are held as rows or as Columns, whichever the batch was made from; the other
    layout is made on first use.
    """

    def __init__(
        self,
        rows: list[list[str]] | None,
        bad_rows: list[BadRow],
        bytes_read: int,  # from the uploaded stream so far (compressed bytes for gzip)
        rows_seen: int,  # data records so far, good and bad; blank lines are not records
        *,
        columns: Columns | None = None,
    ) -> None:
        if (rows is None) == (columns is None):
            raise ValueError("give either rows or columns")
        self._rows = rows
        self._columns = columns
        self.bad_rows = bad_rows
        self.bytes_read = bytes_read
        self.rows_seen = rows_seen

    @property
    def rows(self) -> list[list[str]]:
        if self._rows is None:
            assert self._columns is not None
            self._rows = self._columns.rows()
        return self._rows

    @property
    def columns(self) -> Columns:
        if self._columns is None:
            assert self._rows is not None
            # A batch of bad rows only has no good rows to take the width from: it has no
            # columns either, which row_count (0) tells callers.
            width = len(self._rows[0]) if self._rows else 0
            self._columns = Columns.from_rows(self._rows, width)
        return self._columns

    @property
    def row_count(self) -> int:
        return len(self._rows) if self._rows is not None else len(self.columns)


def splitter_enabled() -> bool:
    """Whether records are split by the C splitter (csvread/_splitter.c) rather than the csv
    module; CSVHUB_CSV_SPLITTER=python turns it off (the two give the same batches)."""
    return _splitter is not None and os.environ.get("CSVHUB_CSV_SPLITTER", "c") != "python"


def open_csv(
    stream: BinaryIO,
    *,
    filename: str | None = None,
    encoding: str | None = None,
    encoding_reason: str = "",
    max_decompressed_bytes: int | None = None,
    max_decompression_ratio: int | None = None,
) -> "CsvReader":
    """Detect compression, encoding and delimiter, and read the header.

    `encoding` skips detection (given with its `encoding_reason`, after a ReadAgain). Raises
    CsvFormatError when the file cannot be read as CSV at all.
    """
    source, counting = decoding.open_source(
        stream,
        filename,
        max_decompressed_bytes=max_decompressed_bytes,
        max_decompression_ratio=max_decompression_ratio,
    )
    sample = decoding.read_sample(source)
    if not sample.strip():
        raise CsvFormatError("The file is empty. Upload a CSV file with a header line.")
    text = decoding.TextDecoder(source, sample, encoding=encoding, reason=encoding_reason)
    # Only the sample's start is sniffed.
    head = text.start()[: 2 * decoding.SAMPLE_SIZE // 16]
    return CsvReader(
        text=text,
        counting=counting,
        delimiter=detect_delimiter(head.lstrip("\ufeff")),
        compressed=source is not counting,
    )


class CsvReader:
    """An open CSV upload: its detected format, its columns, and its rows in batches."""

    def __init__(
        self,
        *,
        text: decoding.TextDecoder,
        counting: decoding.CountingStream,
        delimiter: str,
        compressed: bool,
    ) -> None:
        self.delimiter = delimiter
        self.compressed = compressed
        self._counting = counting
        self._text = text
        self._blocks = text.blocks()
        self._log = _BlockLog()
        self._splitter = None
        self._csv = None
        if splitter_enabled():
            self._splitter = _splitter.Reader(self._texts(), delimiter, FIELD_SIZE_LIMIT)
        else:
            csv.field_size_limit(FIELD_SIZE_LIMIT)  # process-wide; the default 128 KiB is low
            self._csv = csv.reader(
                chain.from_iterable(self._lines()), delimiter=delimiter, quotechar='"', strict=False
            )
        self._rows_seen = 0
        self.columns: list[Column] = columns_from_header(self._header())

    @property
    def encoding(self) -> str:
        """The encoding read in; final once the batches are read to the end."""
        return self._text.encoding

    @property
    def encoding_reason(self) -> str:
        """Why `encoding` was chosen, in a few words; final with it."""
        return self._text.reason

    def batches(self, size: int = 20_000) -> Iterator[Batch]:
        """Batches of up to `size` records, until the end of the file.

        Raises CsvFormatError if the stream breaks off (e.g. damaged gzip data).
        """
        if size < 1:
            raise ValueError("batch size must be positive")
        while True:
            batch = self._next_batch(size)
            if batch is None:
                return
            if batch.row_count or batch.bad_rows:
                yield batch

    @property
    def _line_num(self) -> int:
        """Lines read to their end so far."""
        reader = self._splitter or self._csv
        assert reader is not None
        return reader.line_num

    def _lines(self) -> Iterator[list[str]]:
        """Each block's lines, logging where each block starts for quoting bad records."""
        for text in self._texts():
            yield decoding.split_lines(text)

    def _texts(self) -> Iterator[str]:
        for text, marked in self._blocks:
            self._log.add(_Block(self._line_num + 1, text, marked))
            yield text

    def _header(self) -> list[str]:
        record = None
        try:
            record = next((record for record in self._records() if not _is_blank(record)), None)
            header = None if record is None else self._check_header(record)
        except LimitExceeded:  # a ValueError too, with its own message
            raise
        except (csv.Error, ValueError) as error:  # ValueError: the splitter's field limit
            raise CsvFormatError(f"The header line cannot be read: {error}.") from error
        except decoding.GZIP_ERRORS as error:
            raise decoding.corrupt_gzip(error) from error
        if record is None or header is None:
            raise CsvFormatError("The file is empty. Upload a CSV file with a header line.")
        _check_header_bytes(record, self.encoding)
        return header

    def _records(self) -> Iterator[list[str]]:
        if self._csv is not None:
            yield from self._csv
            return
        assert self._splitter is not None
        while (record := self._splitter.read_record()) is not None:
            yield record[0]

    @staticmethod
    def _check_header(record: list[str]) -> list[str]:
        if not any(cell.strip("\ufeff \t\r\n") for cell in record):
            raise CsvFormatError(
                "The first line has no column names. Put a header line with the names of the "
                "columns at the top of the file."
            )
        if len(record) > MAX_COLUMNS:
            raise CsvFormatError(
                f"The file has {len(record)} columns; csvhub takes at most {MAX_COLUMNS}. "
                "Split it into several files."
            )
        return [decoding.printable(cell) for cell in record]

    def _next_batch(self, size: int) -> Batch | None:
        first_line = self._line_num + 1
        self._log.forget_before(first_line)
        if self._splitter is not None:
            return self._next_split_batch(size, first_line)
        records: list[list[str]] = []
        error = None
        try:
            # On an error, list.extend keeps the records read before it (CPython appends in
            # place), so only the broken record is lost, and quarantined below.
            records.extend(islice(self._csv, size))
        except csv.Error as exc:
            error = _csv_problem(str(exc))
        except decoding.GZIP_ERRORS as exc:
            raise decoding.corrupt_gzip(exc) from exc
        if not records and error is None:
            return None
        rows, bad_rows = self._sort(records, first_line, error)
        return self._batch(rows, bad_rows)

    def _batch(
        self, rows: list[list[str]] | None, bad_rows: list[BadRow], columns: Columns | None = None
    ) -> Batch:
        good = len(rows) if rows is not None else len(columns or ())
        self._rows_seen += good + len(bad_rows)
        if rows is None and columns is None:
            rows = []
        return Batch(rows, bad_rows, self._counting.bytes_read, self._rows_seen, columns=columns)

    def _next_split_batch(self, size: int, first_line: int) -> Batch | None:
        """The splitter's batch: good records as columns, the others with their lines."""
        assert self._splitter is not None
        width = len(self.columns)
        try:
            batch = self._splitter.read_batch(size, width)
        except decoding.GZIP_ERRORS as exc:
            raise decoding.corrupt_gzip(exc) from exc
        if batch is None:
            return None
        parts, good, others, error, summaries = batch
        columns = Columns.from_joined(parts, good, summaries) if good else None
        problem = None if error is None else _csv_problem(error[2])
        if self._log.marked:  # rare: each good row is looked at for undecodable bytes
            records = _in_file_order(columns.rows() if columns else [], others)
            return self._batch(*self._sort(records, first_line, problem))
        bad_rows = [
            self._bad_row(first, last, reason)
            for _, first, last, fields in others
            if (reason := self._problem(fields, width))
        ]
        if error is not None:
            bad_rows.append(self._bad_row(error[0], error[1], problem))
        return self._batch(None, bad_rows, columns)

    def _sort(
        self, records: list[list[str]], first_line: int, error: str | None
    ) -> tuple[list[list[str]], list[BadRow]]:
        """Good rows and bad rows, in one C-speed check when the whole batch is good.

        `error` says why the record after `records` could not be read; it ends on the line
        read last."""
        width = len(self.columns)
        if error is None and not self._log.marked and set(map(len, records)) == {width}:
            return records, []
        one_line_each = error is None and self._line_num - first_line + 1 == len(records)
        rows, bad_rows = [], []
        line = first_line
        for record in records:
            span = 1 if one_line_each else _lines_spanned(record)
            reason = self._problem(record, width)
            if reason is None:
                rows.append(record)
            elif reason:
                bad_rows.append(self._bad_row(line, line + span - 1, reason))
            line += span
        if error is not None:
            bad_rows.append(self._bad_row(line, self._line_num, error))
        return rows, bad_rows

    def _problem(self, record: list[str], width: int) -> str | None:
        """Why a record is bad; '' for a blank line (skipped); None for a good row."""
        if len(record) != width:
            return "" if _is_blank(record) else f"expected {width} fields, found {len(record)}"
        if self._log.marked and (marked := decoding.MARKED.search("\t".join(record))):
            if marked.group() == "\x00":
                return "NUL characters: this looks like binary data"
            return f"bytes that are not valid {self.encoding}"
        return None

    def _bad_row(self, first: int, last: int, reason: str) -> BadRow:
        text = self._log.text(first, last, BAD_ROW_TEXT_LIMIT).rstrip("\r\n")
        return BadRow(first, reason, decoding.printable(text)[:BAD_ROW_TEXT_LIMIT])


def _check_header_bytes(record: list[str], encoding: str) -> None:
    """Column names are not rows to reject: one with undecodable bytes fails the upload rather
    than become a name with U+FFFD in it."""
    for position, cell in enumerate(record, 1):
        if decoding.UNDECODED.search(cell):
            raise CsvFormatError(
                f"The header cell of column {position} ({decoding.printable(cell)[:40]!r}) "
                f"holds bytes that are not valid {encoding}, the encoding of the rest of the "
                "file. Save the file again as CSV UTF-8 and upload it again."
            )


def _is_blank(record: list[str]) -> bool:
    return not record or (len(record) == 1 and record[0].isspace())


def _lines_spanned(record: list[str]) -> int:
    """Physical lines a parsed record took: one plus the line breaks inside quoted fields."""
    text = "\t".join(record)
    return 1 + text.count("\n") + text.count("\r") - text.count("\r\n")


def _csv_problem(error: str) -> str:
    if "field larger than field limit" in error:
        size = FIELD_SIZE_LIMIT // (1024 * 1024)
        return f"a field longer than {size} MiB; often a quote that is never closed"
    return f"unreadable record: {error}"


def _in_file_order(
    rows: list[list[str]], others: list[tuple[int, int, int, list[str]]]
) -> list[list[str]]:
    """The splitter's good rows and other records merged back into one list, in file order."""
    records: list[list[str]] = []
    good = iter(rows)
    for index, _, _, fields in others:
        records.extend(islice(good, index - len(records)))
        records.append(fields)
    records.extend(good)
    return records


@dataclass
class _Block:
    first_line: int
    text: str
    marked: bool  # holds undecodable bytes or NULs
    _starts: list[int] = field(default_factory=list)

    def line_starts(self) -> list[int]:
        """Offsets where each line starts, plus the end: computed only to quote a bad record."""
        if not self._starts:
            self._starts = [0, *(m.end() for m in _LINE_BREAK.finditer(self.text))]
            if self._starts[-1] != len(self.text):
                self._starts.append(len(self.text))
        return self._starts


class _BlockLog:
    """The decoded blocks of the current batch, to quote bad records as written."""

    def __init__(self) -> None:
        self._blocks: list[_Block] = []

    def add(self, block: _Block) -> None:
        self._blocks.append(block)

    @property
    def marked(self) -> bool:
        return any(block.marked for block in self._blocks)

    def forget_before(self, line: int) -> None:
        """Drop the blocks that end before `line`; the last block is kept in any case."""
        while len(self._blocks) > 1 and self._blocks[1].first_line <= line:
            del self._blocks[0]

    def text(self, first: int, last: int, limit: int) -> str:
        """Lines `first`..`last`, or their first `limit` characters or so."""
        firsts = [block.first_line for block in self._blocks]
        index = max(bisect_right(firsts, first) - 1, 0)
        pieces: list[str] = []
        line, size = first, 0
        for block in self._blocks[index:]:
            starts = block.line_starts()
            begin = max(line - block.first_line, 0)
            end = min(last - block.first_line + 1, len(starts) - 1)
            if begin >= end or size >= limit:
                break
            pieces.append(block.text[starts[begin] : starts[end]])
            size += len(pieces[-1])
            line = block.first_line + end
        return "".join(pieces)
