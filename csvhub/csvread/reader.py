"""Reading a CSV upload as batches of rows, in bounded memory, quarantining bad records."""

import csv
import os
import re
from bisect import bisect_right
from collections import deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from itertools import chain, islice
from typing import TYPE_CHECKING, NoReturn, cast

from csvhub.csvread import decoding
from csvhub.csvread.columns import Columns
from csvhub.csvread.dialect import detect_delimiter
from csvhub.csvread.errors import CsvFormatError
from csvhub.csvread.header import Column, columns_from_header

if TYPE_CHECKING:
    from csvhub.csvread._splitter import Reader as SplitReader

MAX_COLUMNS = 1600  # PostgreSQL's limit for a table
BAD_ROW_TEXT_LIMIT = 1000
_LINE_BREAK = re.compile(r"\r\n|\r|\n")


def _split_reader() -> "type[SplitReader] | None":
    """The C splitter's reader (csvread/_splitter.c), or None when csvhub was built without a C
    compiler: the csv module reads instead."""
    try:
        from csvhub.csvread._splitter import Reader
    except ImportError:
        return None
    return Reader


_SPLIT_READER = _split_reader()


@dataclass(frozen=True)
class ReadLimits:
    """What one record and one batch may hold, so that reading takes bounded memory whatever
    the file (the service passes CSVHUB_MAX_RECORD_SIZE, CSVHUB_MAX_RECORD_LINES and
    CSVHUB_MAX_BATCH_SIZE; docs/configuration.md).

    Sizes count characters of the text as written (line breaks included, quotes not removed):
    one per byte for ASCII. A record over `record_chars` is rejected; one still open in a quote
    after `record_lines` lines or `record_chars` characters, or at the end of the file, is
    taken for a quote never closed: the lines up to that quote are rejected and the lines after
    it are read again as records. A batch ends after `batch_chars` characters of records.
    """

    record_chars: int = 16 * 1024 * 1024
    record_lines: int = 10_000
    batch_chars: int = 8 * 1024 * 1024

    def __post_init__(self) -> None:
        if min(self.record_chars, self.record_lines, self.batch_chars) < 1:
            raise ValueError("read limits must be positive")


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
        chars: int = 0,  # characters of the batch's records as written (see ReadLimits)
    ) -> None:
        if (rows is None) == (columns is None):
            raise ValueError("give either rows or columns")
        self._rows = rows
        self._columns = columns
        self.bad_rows = bad_rows
        self.bytes_read = bytes_read
        self.rows_seen = rows_seen
        self.chars = chars

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
    return _enabled_split_reader() is not None


def _enabled_split_reader() -> "type[SplitReader] | None":
    if os.environ.get("CSVHUB_CSV_SPLITTER", "c") == "python":
        return None
    return _SPLIT_READER


def open_csv(
    stream: decoding.ByteSource,
    *,
    filename: str | None = None,
    encoding: str | None = None,
    encoding_reason: str = "",
    max_decompressed_bytes: int | None = None,
    max_decompression_ratio: int | None = None,
    limits: ReadLimits | None = None,
) -> "CsvReader":
    """Detect compression, encoding and delimiter, and read the header.

    `encoding` skips detection (given with its `encoding_reason`, after a ReadAgain). Raises
    CsvFormatError when the file cannot be read as CSV at all; StoredFileUnreadable, here or
    from batches(), when reading `stream` itself fails.
    """
    source, counting = decoding.open_source(
        decoding.StoredReads(stream),
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
        limits=limits,
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
        limits: ReadLimits | None = None,
    ) -> None:
        self.delimiter = delimiter
        self.compressed = compressed
        self.limits = limits or ReadLimits()
        self._counting = counting
        self._text = text
        self._log = _BlockLog()
        blocks = text.blocks(line_limit=self.limits.record_chars)
        self._texts = _Texts(blocks, self._log, lambda: self._line_num)
        self._splitter: SplitReader | None = None
        self._csv = None
        self._feed: _LineFeed | None = None
        split_reader = _enabled_split_reader()
        if split_reader is not None:
            self._splitter = split_reader(
                self._texts, delimiter, self.limits.record_chars, self.limits.record_lines
            )
        else:
            # Process-wide; _LineFeed keeps every record within the limit, so csv never hits it.
            csv.field_size_limit(max(csv.field_size_limit(), self.limits.record_chars + 1))
            # Only the splitter is handed text again (as (block, start)): here all are str.
            texts = cast(Iterator[str], self._texts)
            lines = chain.from_iterable(map(decoding.split_lines, texts))
            self._feed = _LineFeed(lines, self.limits, delimiter)
            self._csv = csv.reader(self._feed, delimiter=delimiter, quotechar='"', strict=False)
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
        """Batches of up to `size` records (or ReadLimits.batch_chars), until the end.

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
        if self._feed is not None:
            return self._feed.line
        assert self._splitter is not None
        return self._splitter.line_num

    def _header(self) -> list[str]:
        record = None
        try:
            record = next((record for record in self._records() if not _is_blank(record)), None)
            header = None if record is None else self._check_header(record)
        except csv.Error as error:
            raise CsvFormatError(f"The header line cannot be read: {error}.") from error
        except _GivenUp as problem:
            reason = problem.reason(self.limits)
            raise CsvFormatError(f"The header line cannot be read: {reason}.") from None
        except decoding.GZIP_ERRORS as error:
            raise decoding.corrupt_gzip(error) from error
        if record is None or header is None:
            raise CsvFormatError("The file is empty. Upload a CSV file with a header line.")
        _check_header_bytes(record, self.encoding)
        return header

    def _records(self) -> Iterator[list[str]]:
        if self._csv is not None:
            while True:
                records, _, given_up = self._read_records(1)
                if given_up:
                    raise given_up[0]
                if not records:
                    return
                fields = records[0]
                assert fields is not None  # a record given up comes with its problem
                yield fields
        assert self._splitter is not None
        while (record := self._splitter.read_record()) is not None:
            if record[0] is None:
                _, first, last, kind, at = record
                raise _GivenUp(first, last, kind, at)
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
        try:
            records, chars, given_up = self._read_records(size)
        except decoding.GZIP_ERRORS as exc:
            raise decoding.corrupt_gzip(exc) from exc
        if not records:
            return None
        rows, bad_rows = self._sort(records, first_line, given_up)
        return self._batch(rows, bad_rows, chars=chars)

    def _read_records(self, size: int) -> tuple[list[list[str] | None], int, list["_GivenUp"]]:
        """Up to `size` records from the csv module, or `batch_chars` characters of them; a
        record given up or unreadable is None, and why is in the list, in order."""
        assert self._csv is not None and self._feed is not None
        records: list[list[str] | None] = []
        given_up: list[_GivenUp] = []
        feed = self._feed
        feed.start_batch(records)
        while len(records) < size:
            try:
                # On an error, list.extend keeps the records read before it (CPython appends
                # in place, which the feed relies on too), so only the broken record is lost.
                records.extend(islice(self._csv, size - len(records)))
                break
            except _GivenUp as problem:
                given_up.append(problem)
            except csv.Error as error:
                given_up.append(_GivenUp(feed.record_first, feed.line, f"unreadable: {error}"))
            # Read on in the same batch: a batch per broken quote made many tiny batches.
            records.append(None)
            feed.next_record()
        return records, feed.end_batch(), given_up

    def _batch(
        self,
        rows: list[list[str]] | None,
        bad_rows: list[BadRow],
        columns: Columns | None = None,
        *,
        chars: int,
    ) -> Batch:
        good = len(rows) if rows is not None else len(columns or ())
        self._rows_seen += good + len(bad_rows)
        if rows is None and columns is None:
            rows = []
        return Batch(
            rows,
            bad_rows,
            self._counting.bytes_read,
            self._rows_seen,
            columns=columns,
            chars=chars,
        )

    def _next_split_batch(self, size: int, first_line: int) -> Batch | None:
        """The splitter's batch: good records as columns, the others with their lines."""
        assert self._splitter is not None
        width = len(self.columns)
        try:
            batch = self._splitter.read_batch(
                size, width, self.limits.batch_chars, self._read_again_after
            )
        except decoding.GZIP_ERRORS as exc:
            raise decoding.corrupt_gzip(exc) from exc
        if batch is None:
            return None
        parts, good, others, given_up, summaries, chars = batch
        # The parts (and summaries) are None exactly when no record was good.
        columns = Columns.from_joined(parts, good, summaries) if parts is not None else None
        problems = [_GivenUp(*problem[1:]) for problem in given_up]
        if self._log.marked:  # rare: each good row is looked at for undecodable bytes
            records = _in_file_order(columns.rows() if columns else [], others, given_up)
            rows, bad_rows = self._sort(records, first_line, problems)
        else:
            rows = None
            bad_rows = [
                self._bad_row(first, last, reason)
                for _, first, last, fields in others
                if (reason := self._problem(fields, width))
            ]
            bad_rows.extend(map(self._given_up_row, problems))
            bad_rows.sort(key=lambda bad: bad.line)  # stable; given-up rows are rare
        if rows is not None:
            return self._batch(rows, bad_rows, chars=chars)
        return self._batch(None, bad_rows, columns, chars=chars)

    def _read_again_after(self, line: int) -> None:
        """Hand the lines after `line` to the splitter again (it restarts there itself)."""
        self._texts.again(self._log.text_from(line + 1))

    def _sort(
        self, records: list[list[str] | None], first_line: int, given_up: list["_GivenUp"]
    ) -> tuple[list[list[str]], list[BadRow]]:
        """Good rows and bad rows, in one C-speed check when the whole batch is good.

        Each None in `records` is a record given up, `given_up` says why, in order."""
        width = len(self.columns)
        if not given_up and not self._log.marked:
            read = cast(list[list[str]], records)  # no None without given_up
            if set(map(len, read)) == {width}:
                return read, []
        one_line_each = not given_up and self._line_num - first_line + 1 == len(records)
        rows, bad_rows = [], []
        line = first_line
        problems = iter(given_up)
        for record in records:
            if record is None:
                problem = next(problems)
                bad_rows.append(self._given_up_row(problem))
                line = problem.last + 1  # reading went on after its quote line
                continue
            span = 1 if one_line_each else _lines_spanned(record)
            reason = self._problem(record, width)
            if reason is None:
                rows.append(record)
            elif reason:
                bad_rows.append(self._bad_row(line, line + span - 1, reason))
            line += span
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

    def _given_up_row(self, problem: "_GivenUp") -> BadRow:
        return self._bad_row(problem.first, problem.last, problem.reason(self.limits))

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


class _GivenUp(Exception):
    """A record given up (see ReadLimits): `kind` is long, eof, lines, size or text (the C
    splitter's names, see _splitter.c), or the reason itself; `last` is the line where its
    open quote started (its only line for long); `at` the line where the problem was found."""

    def __init__(self, first: int, last: int, kind: str, at: int = 0) -> None:
        super().__init__(first, last, kind, at)
        self.first = first
        self.last = last
        self.kind = kind
        self.at = at

    def reason(self, limits: ReadLimits) -> str:
        quote = f"quote opened on line {self.last}"
        size = _size_text(limits.record_chars)
        return {
            "long": f"a line longer than {size}, the limit for one record",
            "eof": f"{quote} is never closed",
            "lines": f"{quote} is not closed within {limits.record_lines} lines",
            "size": f"{quote} is not closed within {size}",
            "text": f"{quote} is never closed (the quote on line {self.at} that seems to close "
            "it is followed by text, not by a delimiter or a line break; a quote inside a "
            "quoted field must be doubled)",
        }.get(self.kind, self.kind)


def _size_text(chars: int) -> str:
    for unit, size in (("MiB", 1 << 20), ("KiB", 1 << 10)):
        if chars % size == 0:
            return f"{chars // size} {unit}"
    return f"{chars} characters"


class _Texts:
    """The decoded blocks, logged for quoting bad records as they are handed on; text to be
    read again is handed on first, as (block, start) pieces of the logged blocks (an
    iterator, not a generator: it can go on after ending)."""

    def __init__(
        self, blocks: Iterator[tuple[str, bool]], log: "_BlockLog", line_num: Callable[[], int]
    ) -> None:
        self._blocks = blocks
        self._log = log
        self._line_num = line_num
        self._again: deque[tuple[str, int]] = deque()

    def __iter__(self) -> "_Texts":
        return self

    def __next__(self) -> str | tuple[str, int]:
        if self._again:
            return self._again.popleft()  # logged already
        text, marked = next(self._blocks)
        self._log.add(_Block(self._line_num() + 1, text, marked))
        return text

    def again(self, pieces: list[tuple[str, int]]) -> None:
        """Hand `pieces` on next, instead of any still to come: the logged text from a line to
        the end of the last block."""
        self._again = deque(pieces)


class _LineFeed:
    """The lines handed to the csv module, checked against the limits before it sees them: the
    same checks the C splitter makes (see _splitter.c), so both read every file alike.

    The csv module reads into `records` with list.extend, which appends each record as it comes
    (CPython), so a record has ended whenever that list has grown since the last line asked
    for; until then the record is open, as only an open quote carries it over a line break.
    """

    def __init__(self, lines: Iterator[str], limits: ReadLimits, delimiter: str) -> None:
        self._lines = lines
        self._again: deque[str] = deque()  # lines to hand over again, before the others
        self._limits = limits
        self._delimiter = delimiter
        self.line = 0  # lines handed over
        self.start_batch([])

    def start_batch(self, records: list[list[str] | None]) -> None:
        """Watch `records` for ended records; stop at a record's end after batch_chars."""
        self.records = records
        self.chars = 0  # of the ended records
        self._start_record()

    def _start_record(self) -> None:
        self._ended = len(self.records)
        self.record_first = self.line + 1
        self._record: list[str] = []
        self._record_chars = 0
        self._scan = _QuoteScan(self._delimiter)

    def __iter__(self) -> "_LineFeed":
        return self

    def __next__(self) -> str:
        if len(self.records) != self._ended:  # the last line ended a record
            self.chars += self._record_chars
            self._start_record()
            if self.chars >= self._limits.batch_chars:
                raise StopIteration  # the batch is full; the next one asks again
        line = self._again.popleft() if self._again else next(self._lines, None)
        if not self._record:
            if line is None:
                raise StopIteration
            if len(line) > self._limits.record_chars:
                self.line += 1
                raise _GivenUp(self.line, self.line, "long")
        else:
            line = self._check_further_line(line)
        self.line += 1
        self._record.append(line)
        self._record_chars += len(line)
        return line

    def _check_further_line(self, line: str | None) -> str:
        """A line more for the open record: give it up as the C splitter would, in its order;
        the line if it may be read."""
        if len(self._record) == 1:
            self._scan.line(self._record[0], self.record_first)
        opened = self._scan.opened
        if line is None:
            self._give_up("eof", opened, None)
        if len(self._record) >= self._limits.record_lines:
            self._give_up("lines", opened, line)
        room = self._limits.record_chars - self._record_chars
        text_at = self._scan.line(line, self.line + 1)
        if 0 <= text_at < room:
            self._give_up("text", self._scan.opened, line)
        if len(line) > room:
            self._give_up("size", opened, line)
        return line

    def next_record(self) -> None:
        """Go on after a record given up (None has been appended for it to `records`)."""
        self._start_record()

    def end_batch(self) -> int:
        """The characters of the batch's records, the last one included."""
        if len(self.records) != self._ended:
            self.chars += self._record_chars
            self._start_record()
        return self.chars

    def _give_up(self, kind: str, opened: int, line: str | None) -> NoReturn:
        """Reject the open record up to line `opened`, where its open quote started, and hand
        the lines after that one over again."""
        again = self._record[opened - self.record_first + 1 :]
        if line is not None:
            again.append(line)
        self._again.extendleft(reversed(again))
        at, self.line = self.line + 1, opened
        raise _GivenUp(self.record_first, opened, kind, at)


class _QuoteScan:
    """csv's rules for one record, line by line, tracking only where quoted fields open:
    jumping from one character that matters to the next, it is cheap enough for the rare
    record that spans lines."""

    def __init__(self, delimiter: str) -> None:
        self._delimiter = delimiter
        self._state = "start"  # of a field; in a field; in quotes; a quote in quotes
        self.opened = 0  # the line where the last quoted field opened

    def line(self, line: str, number: int) -> int:
        """Scan line `number`; where a quote that closed a field opened on an earlier line is
        followed by text (the C splitter's "text"), or -1."""
        position = 0
        while position < len(line):
            if self._state in ("quoted", "field"):
                wanted = '"' if self._state == "quoted" else self._delimiter
                found = line.find(wanted, position)
                if found < 0:
                    return -1
                self._state = "quote" if self._state == "quoted" else "start"
                position = found + 1
                continue
            char = line[position]
            if char == '"' and self._state in ("start", "quote"):  # opens, or a doubled quote
                self.opened = number if self._state == "start" else self.opened
                self._state = "quoted"
            elif char == self._delimiter or char in "\r\n":
                self._state = "start"
            elif self._state == "quote" and self.opened < number:
                return position
            else:
                self._state = "field"
            position += 1
        return -1


def _is_blank(record: list[str]) -> bool:
    return not record or (len(record) == 1 and record[0].isspace())


def _lines_spanned(record: list[str]) -> int:
    """Physical lines a parsed record took: one plus the line breaks inside quoted fields."""
    text = "\t".join(record)
    return 1 + text.count("\n") + text.count("\r") - text.count("\r\n")


def _in_file_order(
    rows: list[list[str]],
    others: list[tuple[int, int, int, list[str]]],
    given_up: list[tuple[int, int, int, str, int]],
) -> list[list[str] | None]:
    """The splitter's good rows, other records and given-up records (None) merged back into
    one list, in file order."""
    placed = sorted([*others, *((index, 0, 0, None) for index, *_ in given_up)], key=_index)
    records: list[list[str] | None] = []
    good = iter(rows)
    for index, _, _, fields in placed:
        records.extend(islice(good, index - len(records)))
        records.append(fields)
    records.extend(good)
    return records


def _index(record: tuple[int, int, int, object]) -> int:
    return record[0]


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

    def text_from(self, line: int) -> list[tuple[str, int]]:
        """Line `line` and every later one, to the end of the last block, as (block, start)
        pieces: a copy of the rest of a 1 MiB block on each quote given up was 40% of the
        reading time of a file with many of them."""
        firsts = [block.first_line for block in self._blocks]
        index = max(bisect_right(firsts, line) - 1, 0)
        block = self._blocks[index]
        starts = block.line_starts()
        begin = starts[min(max(line - block.first_line, 0), len(starts) - 1)]
        return [(block.text, begin), *((later.text, 0) for later in self._blocks[index + 1 :])]

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
