"""open_csv_in_child: the same format, columns and batches as open_csv, read in a real child
process; and failures of the child or of the stored file never pass for a complete read."""

import fcntl
import gzip
import io
import os
import random
import signal
import threading
from pathlib import Path

import pytest
from csvread_support import BreaksAfter

from csvhub.csvread import CsvFormatError, LimitExceeded, ReadAgain, ReadLimits, open_csv
from csvhub.csvread.child import FEED_CHUNK, ChildReaderFailed, open_csv_in_child
from csvhub.csvread.growing import GrowingFileReader, Growth

MIXED = (
    "id,name,note\n"
    '1,"Smith, John","line one\nline two"\n'
    "2,Ann\n"  # one field short: quarantined
    '3,"The ""Best"" Shop",tab\there\n'
    "\n"
    "4,back\\slash,\r\n"
    '5,"",\n'
)


def _in_process(
    data: bytes, size: int, filename: str | None = None, limits: ReadLimits | None = None
) -> tuple:
    reader = open_csv(io.BytesIO(data), filename=filename, limits=limits)
    return _described(reader, list(reader.batches(size)))


def _in_child(
    data: bytes, size: int, filename: str | None = None, limits: ReadLimits | None = None
) -> tuple:
    stream = io.BytesIO(data)
    with open_csv_in_child(stream, filename=filename, batch_rows=size, limits=limits) as reader:
        return _described(reader, list(reader.batches()))


def _described(reader, batches) -> tuple:
    return (
        reader.encoding,
        reader.delimiter,
        reader.compressed,
        reader.columns,
        [(b.rows, b.bad_rows, b.bytes_read, b.rows_seen, b.chars) for b in batches],
    )


def _numbers_file(rows: int) -> bytes:
    chooser = random.Random(7)
    lines = ["n;when;label"]
    for number in range(rows):
        label = chooser.choice(["plain", '"semi;colon"', '"two\nlines"', "café"])
        lines.append(f"{number};2024-01-{1 + number % 28:02d} 10:00:00;{label}")
    return "\n".join(lines).encode("cp1252")


@pytest.mark.parametrize(
    ("data", "size", "filename"),
    [
        (MIXED.encode(), 2, "mixed.csv"),
        (MIXED.encode(), 20_000, "mixed.csv"),
        (("\ufeff" + MIXED).encode("utf-16"), 3, "utf16.csv"),
        (gzip.compress(MIXED.encode()), 2, "mixed.csv.gz"),
        (_numbers_file(5_000), 700, "numbers.csv"),
        (b"a,b\n", 10, "header-only.csv"),
        (b"a,b\n1,2\n\xff\xfe,3\n4,5\n", 1, "bad-bytes.csv"),
    ],
)
def test_child_reads_exactly_what_open_csv_reads(data: bytes, size: int, filename: str) -> None:
    assert _in_child(data, size, filename) == _in_process(data, size, filename)


def _quote_never_closed_file() -> bytes:
    lines = ["id,name", *(f"{n},row {n}" for n in range(1, 51))]
    lines[25] = '25,"oops'
    return "\n".join(lines).encode() + b"\n"


def test_child_rejects_a_quote_never_closed_and_loads_the_rows_after_it() -> None:
    data = _quote_never_closed_file()
    described = _in_child(data, 20_000)
    assert described == _in_process(data, 20_000)
    batches = described[-1]
    assert [row[0] for rows, *_ in batches for row in rows] == [
        str(n) for n in range(1, 51) if n != 25
    ]
    assert [(bad.line, bad.reason) for _, bad_rows, *_ in batches for bad in bad_rows] == [
        (26, "quote opened on line 26 is never closed")
    ]


def test_child_reads_with_the_limits_it_is_given() -> None:
    data = b'a,b\n1,"open\n2,x\n3,x\n4,' + b"y" * 40 + b"\n5,z\n" + b"6,w\n" * 30
    limits = ReadLimits(record_chars=32, record_lines=2, batch_chars=20)
    described = _in_child(data, 20_000, limits=limits)
    assert described == _in_process(data, 20_000, limits=limits)
    batches = described[-1]
    assert [bad.reason for _, bad_rows, *_ in batches for bad in bad_rows] == [
        "quote opened on line 2 is not closed within 2 lines",
        "a line longer than 32 characters, the limit for one record",
    ]
    assert max(chars for *_, chars in batches) <= 20 + len("6,w\n")


def test_batches_arrive_as_columns_with_joined_text() -> None:
    with open_csv_in_child(io.BytesIO(MIXED.encode()), batch_rows=10) as reader:
        (batch,) = reader.batches()
    columns = batch.columns
    assert columns.values[0] == ["1", "3", "4", "5"]
    assert columns.joined(0) == "1\n3\n4\n5"
    assert not columns.one_line_cells(2)  # "line one\nline two" travelled as a list
    assert columns.values[2] == ["line one\nline two", "tab\there", "", ""]


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"", "The file is empty"),
        (b",,\n1,2,3\n", "no column names"),
    ],
)
def test_unreadable_files_raise_format_errors_from_the_child(data: bytes, message: str) -> None:
    with pytest.raises(CsvFormatError, match=message):
        open_csv_in_child(io.BytesIO(data))


def test_damaged_gzip_is_a_format_error_after_the_good_batches() -> None:
    body = "a,b\n" + "".join(f"{n},{n * n}\n" for n in range(200_000))
    data = gzip.compress(body.encode())
    damaged = data[: len(data) // 2] + b"\x00" * 1000 + data[len(data) // 2 :]
    reader = open_csv_in_child(io.BytesIO(damaged), filename="d.csv.gz", batch_rows=1000)
    with reader, pytest.raises(CsvFormatError, match="damaged"):
        for _ in reader.batches():
            pass


def test_a_failing_stored_file_is_never_taken_for_a_short_complete_one() -> None:
    data = b"n\n" + b"".join(b"%d\n" % n for n in range(3_000_000))
    stream = BreaksAfter(data, after=len(data) // 2)
    reader = open_csv_in_child(stream, batch_rows=10_000)  # type: ignore[arg-type]
    with reader, pytest.raises(ChildReaderFailed, match="connection reset by peer"):
        for _ in reader.batches():
            pass


def test_a_killed_child_is_an_error_not_the_end_of_the_file() -> None:
    data = b"n\n" + b"".join(b"%d\n" % n for n in range(3_000_000))
    with open_csv_in_child(io.BytesIO(data), batch_rows=10_000) as reader:
        batches = reader.batches()
        next(batches)
        reader._process.kill()  # what the OOM killer would do
        with pytest.raises(ChildReaderFailed, match="ended with code -9"):
            for _ in batches:
                pass


def test_a_stop_signal_to_the_workers_process_group_leaves_the_child_reading() -> None:
    """A rollout sends TERM to the worker's whole group: the worker hands its job back, and
    its child must not fail the upload by dying first."""
    data = b"n\n" + b"".join(b"%d\n" % n for n in range(300_000))
    with open_csv_in_child(io.BytesIO(data), batch_rows=10_000) as reader:
        batches = reader.batches()
        rows = next(batches).row_count
        reader._process.send_signal(signal.SIGTERM)
        reader._process.send_signal(signal.SIGINT)
        rows += sum(batch.row_count for batch in batches)
    assert rows == 300_000


def test_closing_early_stops_the_child() -> None:
    data = b"n\n" + b"".join(b"%d\n" % n for n in range(3_000_000))
    reader = open_csv_in_child(io.BytesIO(data), batch_rows=10_000)
    next(reader.batches())
    reader.close()
    assert reader._process.poll() is not None
    assert not reader._feeder.is_alive()


class _PipeBreaksAfter(BreaksAfter):
    """A stored file whose connection breaks with EPIPE, which the feeder must not take for
    the child hanging up."""

    def read(self, size: int = -1) -> bytes:
        try:
            return super().read(size)
        except OSError:
            raise BrokenPipeError("broken pipe to the object store") from None


def test_a_broken_pipe_from_the_stored_file_is_an_error_not_a_hang() -> None:
    data = b"n\n" + b"".join(b"%d\n" % n for n in range(3_000_000))
    outcome: list[BaseException] = []

    def read_all() -> None:
        stream = _PipeBreaksAfter(data, after=len(data) // 2)
        try:
            with open_csv_in_child(stream, batch_rows=10_000) as reader:  # type: ignore[arg-type]
                for _ in reader.batches():
                    pass
        except BaseException as error:
            outcome.append(error)

    thread = threading.Thread(target=read_all, daemon=True)
    thread.start()
    thread.join(timeout=60)
    assert not thread.is_alive(), "the reader hung"
    assert isinstance(outcome[0], ChildReaderFailed)
    assert "broken pipe to the object store" in str(outcome[0])


def test_child_asks_to_read_again_and_reads_in_the_encoding_given() -> None:
    rows = "".join(f"{n},Cafe {n},{'x' * 40}\n" for n in range(2, 25_000))
    data = "id,name,f\n0,Café,x\n1,Thé,x\n".encode("cp1252") + rows.encode()
    data += "".join(f"{n},Café {n},{'x' * 40}\n" for n in range(25_000, 30_000)).encode()
    with open_csv_in_child(io.BytesIO(data)) as reader, pytest.raises(ReadAgain) as again:
        list(reader.batches())
    assert again.value.encoding == "utf-8"
    with open_csv_in_child(
        io.BytesIO(data), encoding=again.value.encoding, encoding_reason=again.value.reason
    ) as reader:
        batches = list(reader.batches())
        assert (reader.encoding, reader.encoding_reason) == ("utf-8", again.value.reason)
    assert [bad.line for batch in batches for bad in batch.bad_rows] == [2, 3]
    assert sum(batch.row_count for batch in batches) == 29_998


def test_child_reports_a_decompression_limit_as_a_limit() -> None:
    data = gzip.compress(b"n\n" + b"1\n" * 100_000)
    with (
        pytest.raises(LimitExceeded, match="more than 1,000 bytes once decompressed") as error,
        open_csv_in_child(io.BytesIO(data), max_decompressed_bytes=1000) as reader,
    ):
        list(reader.batches())
    assert error.value.limit == "max_decompressed_bytes"


def test_child_reports_the_final_encoding_and_its_reason() -> None:
    data = b"a,b\n" + b"1,2\n" * 300_000 + "3,é\n".encode("cp1252")
    with open_csv_in_child(io.BytesIO(data)) as reader:
        assert reader.encoding == "utf-8"  # so far: the first MiB is ASCII
        assert sum(batch.row_count for batch in reader.batches()) == 300_001
        assert reader.encoding == "cp1252"
        assert "charset detection chose cp1252" in reader.encoding_reason


def _stored(tmp_path, data: bytes) -> Path:
    path = tmp_path / "stored.csv"
    path.write_bytes(data)
    return path


class _Wrapped:
    """A file object wrapping the open file, as storages' File objects do (Django's FieldFile
    wraps a File that wraps it)."""

    def __init__(self, file) -> None:
        self.file = file

    def read(self, size: int = -1) -> bytes:
        return self.file.read(size)


def test_a_whole_file_on_disk_is_read_by_the_child_itself(tmp_path) -> None:
    data = _numbers_file(5_000)
    with (
        open(_stored(tmp_path, data), "rb") as opened,
        open_csv_in_child(
            _Wrapped(_Wrapped(opened)), filename="numbers.csv", batch_rows=700
        ) as reader,
    ):
        assert reader._feeder is None  # nothing copied through this process
        assert reader._process.stdin is None
        read = _described(reader, list(reader.batches()))
    assert read == _in_process(data, 700, "numbers.csv")


def test_a_whole_file_read_and_rewound_is_read_from_its_first_byte(tmp_path) -> None:
    """The stream's buffer leaves the shared descriptor past its start: the child must not
    begin there."""
    data = MIXED.encode()
    with open(_stored(tmp_path, data), "rb") as opened:
        opened.read(4)
        opened.seek(0)
        with open_csv_in_child(opened, filename="mixed.csv", batch_rows=2) as reader:
            assert reader._feeder is None
            read = _described(reader, list(reader.batches()))
    assert read == _in_process(data, 2, "mixed.csv")


def test_a_stored_file_the_child_cannot_read_is_a_reading_failure_not_a_bad_file(
    tmp_path,
) -> None:
    """A disk's read error is not the sender's to fix: it must not pass for damaged data."""
    path = _stored(tmp_path, gzip.compress(MIXED.encode()))
    with (
        open(path, "r+b", buffering=0) as opened,  # a FileIO, open for writing too
        pytest.raises(ChildReaderFailed, match=r"reading the stored file failed: .*Bad file"),
    ):
        # Its descriptor reopened for writing only: every read of it fails (EBADF).
        write_only = os.open(path, os.O_WRONLY)
        os.dup2(write_only, opened.fileno())
        os.close(write_only)
        with open_csv_in_child(opened, filename="mixed.csv.gz", batch_rows=2) as reader:
            list(reader.batches())


def test_a_file_read_in_part_is_fed_from_where_it_stands(tmp_path) -> None:
    data = b"skipped line\n" + MIXED.encode()
    with open(_stored(tmp_path, data), "rb") as opened:
        opened.readline()
        with open_csv_in_child(opened, filename="mixed.csv", batch_rows=2) as reader:
            assert reader._feeder is not None
            read = _described(reader, list(reader.batches()))
    assert read == _in_process(MIXED.encode(), 2, "mixed.csv")


@pytest.mark.parametrize("kind", ["in memory", "pipe", "growing spool"])
def test_streams_that_are_not_whole_files_are_fed_through_the_pipe(tmp_path, kind) -> None:
    path = _stored(tmp_path, MIXED.encode())
    if kind == "in memory":
        stream = io.BytesIO(path.read_bytes())
    elif kind == "pipe":
        read_end, write_end = os.pipe()
        os.write(write_end, path.read_bytes())
        os.close(write_end)
        stream = open(read_end, "rb")  # noqa: SIM115 - closed below
    else:
        growth = Growth()
        growth.grew(path.stat().st_size)
        growth.complete()
        stream = GrowingFileReader(path, growth)
    try:
        with open_csv_in_child(stream, filename="mixed.csv", batch_rows=2) as reader:
            assert reader._feeder is not None
            read = _described(reader, list(reader.batches()))
    finally:
        stream.close()
    assert read == _in_process(MIXED.encode(), 2, "mixed.csv")


class _EndsWhenTold:
    """A stored file whose end (after all its bytes) comes only once `end` is set."""

    def __init__(self, data: bytes) -> None:
        self._data = data
        self.end = threading.Event()

    def read(self, size: int = -1) -> bytes:
        data, self._data = self._data, b""
        if not data:
            self.end.wait(timeout=60)
        return data


@pytest.mark.skipif(not hasattr(fcntl, "F_GETPIPE_SZ"), reason="pipe sizes are set on Linux")
def test_the_pipes_hold_a_feed_chunk_each() -> None:
    """Linux's default pipe (64 KiB) wakes the other process for every 64 KiB that crosses."""
    stream = _EndsWhenTold(MIXED.encode() * 20_000)  # more than the child's first sample
    with open_csv_in_child(stream, batch_rows=10_000) as reader:  # type: ignore[arg-type]
        try:
            sizes = [
                fcntl.fcntl(pipe.fileno(), fcntl.F_GETPIPE_SZ)
                for pipe in (reader._process.stdin, reader._process.stdout)
            ]
        finally:
            stream.end.set()
        assert sum(batch.rows_seen for batch in reader.batches()) > 0
    assert min(sizes) >= FEED_CHUNK
