"""GrowingFileReader: a file read while another thread writes it gives the reader exactly what
the finished file gives, ends only when the writer says it is complete, and never passes for
a complete file once the writer abandons it."""

import gzip
import io
import os
import threading
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from csvhub.csvread import ReadAgain, open_csv
from csvhub.csvread.child import ChildReaderFailed, open_csv_in_child
from csvhub.csvread.growing import FileAbandoned, GrowingFileReader, Growth


def _numbers_file(rows: int) -> bytes:
    lines = ["id,when,amount,name"]
    lines += [f'{n},2024-01-{n % 28 + 1:02d}T10:00:00Z,{n}.25,"Smith, {n}"' for n in range(rows)]
    lines.insert(rows // 2, "7,broken")  # one row short: quarantined
    return ("\n".join(lines) + "\n").encode()


class _Writer(threading.Thread):
    """Writes `data` to `path` in pieces, telling `growth` after each flushed piece, as the
    upload handler does; `stop_at` abandons the file at that offset instead of completing it."""

    def __init__(
        self, path: Path, data: bytes, growth: Growth, piece: int, stop_at: int | None = None
    ) -> None:
        super().__init__(daemon=True)
        self.path, self.data, self.growth = path, data, growth
        self.piece, self.stop_at = piece, stop_at

    def run(self) -> None:
        with self.path.open("ab") as spool:
            for start in range(0, len(self.data), self.piece):
                if self.stop_at is not None and start >= self.stop_at:
                    self.growth.abandon("the client went away")
                    return
                spool.write(self.data[start : start + self.piece])
                spool.flush()
                self.growth.grew(spool.tell())
                time.sleep(0.002)
        self.growth.complete()


def _grown(tmp_path: Path, data: bytes, piece: int, stop_at: int | None = None) -> tuple:
    path = tmp_path / "spool"
    path.touch()  # the handler creates the spool before the first byte
    growth = Growth()
    writer = _Writer(path, data, growth, piece, stop_at)
    return path, growth, writer


def _described(reader, batches) -> tuple:
    # bytes_read is progress: it depends on how the stream's reads were cut, except at the end.
    return (
        reader.encoding,
        reader.encoding_reason,
        reader.delimiter,
        reader.compressed,
        reader.columns,
        [(b.rows, b.bad_rows, b.rows_seen, b.chars) for b in batches],
        batches[-1].bytes_read if batches else 0,
    )


def _in_process(stream: io.RawIOBase | io.BytesIO) -> tuple:
    reader = open_csv(stream, filename="f.csv")
    return _described(reader, list(reader.batches(5_000)))


def _in_child(stream: io.RawIOBase | io.BytesIO) -> tuple:
    with open_csv_in_child(stream, filename="f.csv", batch_rows=5_000) as reader:
        return _described(reader, list(reader.batches()))


READERS: list[Callable[[io.RawIOBase | io.BytesIO], tuple]] = [_in_process, _in_child]


@pytest.mark.parametrize("read", READERS, ids=["in_process", "child"])
@pytest.mark.parametrize("compress", [False, True], ids=["plain", "gzip"])
def test_a_file_read_as_it_grows_reads_as_the_finished_file(
    tmp_path: Path, read: Callable, compress: bool
) -> None:
    data = _numbers_file(30_000)
    data = gzip.compress(data) if compress else data
    path, growth, writer = _grown(tmp_path, data, piece=7_919)  # pieces cut records anywhere
    with GrowingFileReader(path, growth) as stream:
        writer.start()
        grown = read(stream)
    writer.join()
    assert grown == read(io.BytesIO(data))
    assert grown[5][-1][2] == 30_001  # every record seen, the short one too


def test_a_reader_waits_at_the_end_until_the_file_is_complete(tmp_path: Path) -> None:
    path = tmp_path / "spool"
    path.write_bytes(b"id\n1\n")
    growth = Growth()
    growth.grew(5)
    read: list[bytes] = []
    with GrowingFileReader(path, growth) as stream:
        thread = threading.Thread(target=lambda: read.append(stream.read()), daemon=True)
        thread.start()
        thread.join(timeout=0.3)
        assert thread.is_alive(), "read() ended before the writer said the file was complete"
        with path.open("ab") as spool:
            spool.write(b"2\n")
        growth.grew(7)
        growth.complete()
        thread.join(timeout=10)
    assert read == [b"id\n1\n2\n"]


def test_a_reader_goes_on_after_the_spool_is_renamed_or_deleted(tmp_path: Path) -> None:
    path = tmp_path / "spool"
    path.write_bytes(b"id\n1\n")
    growth = Growth()
    growth.grew(5)
    growth.complete()
    with GrowingFileReader(path, growth) as stream:
        os.rename(path, tmp_path / "stored")  # FileSystemStorage moves the spool into place
        (tmp_path / "stored").unlink()
        assert stream.read() == b"id\n1\n"


@pytest.mark.parametrize("read", READERS, ids=["in_process", "child"])
def test_an_abandoned_file_never_passes_for_a_complete_one(tmp_path: Path, read: Callable) -> None:
    data = _numbers_file(30_000)
    path, growth, writer = _grown(tmp_path, data, piece=65_536, stop_at=len(data) // 2)
    with GrowingFileReader(path, growth) as stream:
        writer.start()
        with pytest.raises((FileAbandoned, ChildReaderFailed)) as raised:
            read(stream)
    writer.join()
    cause = raised.value if isinstance(raised.value, FileAbandoned) else raised.value.__cause__
    assert isinstance(cause, FileAbandoned)
    assert "the client went away" in str(cause)


def test_a_gzip_file_abandoned_is_not_taken_for_damaged_gzip(tmp_path: Path) -> None:
    data = gzip.compress(_numbers_file(30_000))
    path, growth, writer = _grown(tmp_path, data, piece=4_096, stop_at=len(data) // 2)
    with GrowingFileReader(path, growth) as stream, pytest.raises(FileAbandoned):
        writer.start()
        _in_process(stream)
    writer.join()


def test_a_late_encoding_evidence_reads_the_growing_file_again_from_the_start(
    tmp_path: Path,
) -> None:
    rows = "".join(f"{n},Cafe {n},{'x' * 40}\n" for n in range(2, 25_000))
    data = "id,name,f\n0,Café,x\n1,Thé,x\n".encode("cp1252") + rows.encode()
    data += "".join(f"{n},Café {n},{'x' * 40}\n" for n in range(25_000, 30_000)).encode()
    path, growth, writer = _grown(tmp_path, data, piece=50_000)
    writer.start()
    with (
        GrowingFileReader(path, growth) as stream,
        open_csv_in_child(stream) as reader,
        pytest.raises(ReadAgain) as again,
    ):
        list(reader.batches())
    # The second reading opens the spool again while (or after) it grows, as the load does.
    with (
        GrowingFileReader(path, growth) as stream,
        open_csv_in_child(
            stream, encoding=again.value.encoding, encoding_reason=again.value.reason
        ) as reader,
    ):
        batches = list(reader.batches())
    writer.join()
    assert [bad.line for batch in batches for bad in batch.bad_rows] == [2, 3]
    assert sum(batch.row_count for batch in batches) == 29_998


def test_growth_refuses_what_a_writer_cannot_do() -> None:
    growth = Growth()
    growth.grew(10)
    with pytest.raises(ValueError, match="shrink"):
        growth.grew(5)
    growth.abandon("413")
    with pytest.raises(ValueError, match="abandoned"):
        growth.complete()
    with pytest.raises(FileAbandoned, match="413"):
        growth.readable_after(0)
