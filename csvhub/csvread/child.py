"""Reading a CSV upload in a child process, so that parsing runs beside inference and loading.

Splitting records is the single largest cost of an ingestion (the csv module holds the GIL, so
a thread would not help). `open_csv_in_child` starts `python -m csvhub.csvread.child`, feeds it
the upload's bytes from a thread, and reads back what `open_csv` and `CsvReader.batches` would
have given, batch by batch. Each batch travels as one joined string per column (see
Columns.wire_parts), which pickles at memory speed, instead of a list of small strings, which
costs more to send than to parse.

Memory stays flat: the pipes hold at most a batch or so, and the child blocks when the parent
is busy. If the parent dies, the child's next write fails and it exits; if the child dies, the
parent raises ChildReaderFailed.
"""

from __future__ import annotations

import argparse
import os
import pickle
import subprocess
import sys
import tempfile
import threading
from collections.abc import Iterator
from contextlib import suppress
from pathlib import Path
from typing import IO, BinaryIO, Self

from csvhub.csvread.columns import Columns
from csvhub.csvread.errors import CsvFormatError
from csvhub.csvread.header import Column
from csvhub.csvread.reader import BadRow, Batch, ReadLimits, open_csv

FEED_CHUNK = 1 << 20
STDERR_TAIL = 4000


class ChildReaderFailed(RuntimeError):
    """The child process died or could not read the upload's bytes."""


def open_csv_in_child(
    stream: BinaryIO,
    *,
    filename: str | None = None,
    batch_rows: int = 20_000,
    limits: ReadLimits | None = None,
) -> ChildCsvReader:
    """Like `open_csv`, with the reading done in a child process; use it as a context manager.

    Raises CsvFormatError when the file cannot be read as CSV at all.
    """
    reader = ChildCsvReader(stream, filename=filename, batch_rows=batch_rows, limits=limits)
    try:
        reader.start()
    except BaseException:
        reader.close()
        raise
    return reader


class ChildCsvReader:
    """The parent's end: the detected format, the columns, and the batches the child sends."""

    def __init__(
        self,
        stream: BinaryIO,
        *,
        filename: str | None,
        batch_rows: int,
        limits: ReadLimits | None = None,
    ) -> None:
        self.batch_rows = batch_rows
        self.limits = limits or ReadLimits()
        self.encoding = ""
        self.delimiter = ""
        self.compressed = False
        self.columns: list[Column] = []
        self._stream = stream
        self._filename = filename or ""
        self._stderr: IO[bytes] = tempfile.TemporaryFile()  # noqa: SIM115 - closed by close()
        self._process: subprocess.Popen[bytes] | None = None
        self._feeder: threading.Thread | None = None
        self._feed_error: BaseException | None = None

    def start(self) -> None:
        command = [sys.executable, "-m", "csvhub.csvread.child"]
        # `=` keeps a name starting with '-' from being read as an option.
        command += [f"--filename={self._filename}", f"--batch-rows={self.batch_rows}"]
        command += [
            f"--max-record-chars={self.limits.record_chars}",
            f"--max-record-lines={self.limits.record_lines}",
            f"--max-batch-chars={self.limits.batch_chars}",
        ]
        self._process = subprocess.Popen(
            command,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=self._stderr,
            env=_child_environment(),
        )
        feeder = threading.Thread(target=self._feed, name="csv-child-feeder", daemon=True)
        feeder.start()
        self._feeder = feeder  # only a started thread is joined by close()
        kind, *payload = self._receive()
        if kind == "error":
            raise CsvFormatError(payload[0])
        if kind != "header":
            raise ChildReaderFailed(f"the reader process sent {kind!r} instead of the header")
        self.encoding, self.delimiter, self.compressed, columns = payload
        self.columns = [Column(*column) for column in columns]

    def batches(self, size: int | None = None) -> Iterator[Batch]:
        """The batches, as CsvReader.batches(batch_rows) gives them."""
        if size is not None and size != self.batch_rows:
            raise ValueError(f"this reader sends batches of {self.batch_rows} rows")
        while True:
            kind, *payload = self._receive()
            if kind == "end":
                return
            if kind == "error":
                raise CsvFormatError(payload[0])
            parts, row_count, bad_rows, bytes_read, rows_seen, summaries, chars = payload
            columns = Columns.from_joined(parts, row_count, summaries) if row_count else None
            bad = [BadRow(*row) for row in bad_rows]
            if columns is None:
                yield Batch([], bad, bytes_read, rows_seen, chars=chars)
            else:
                yield Batch(None, bad, bytes_read, rows_seen, columns=columns, chars=chars)

    def close(self) -> None:
        """Stop the child (if still running) and the feeder; safe to call more than once."""
        process = self._process
        if process is not None and process.poll() is None:
            process.kill()
        if process is not None:
            process.wait()
        if self._feeder is not None:
            self._feeder.join()  # its next write fails at once: the child is gone
        if process is not None:
            for pipe in (process.stdin, process.stdout):
                if pipe is not None:
                    with suppress(OSError):  # flushing to a dead child: nothing to keep
                        pipe.close()
        self._stderr.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def _feed(self) -> None:
        """Copy the upload into the child's stdin; on a read error, stop the child instead, so
        that it cannot take a cut-off file for a complete one."""
        assert self._process is not None and self._process.stdin is not None
        stdin = self._process.stdin
        try:
            while chunk := self._stream.read(FEED_CHUNK):
                if not self._send_to_child(stdin, chunk):
                    return
            self._send_to_child(stdin, None)
        except BaseException as error:  # the stored file failed: handed to the reading thread
            self._feed_error = error
            self._process.kill()

    @staticmethod
    def _send_to_child(stdin: IO[bytes], chunk: bytes | None) -> bool:
        """Write a chunk (None: close, the end of the file); False when the child stopped
        reading (it ended with an error, or close() killed it)."""
        try:
            if chunk is None:
                stdin.close()
            else:
                stdin.write(chunk)
        except BrokenPipeError:
            return False
        return True

    def _receive(self) -> tuple:
        assert self._process is not None and self._process.stdout is not None
        try:
            return pickle.load(self._process.stdout)
        except (EOFError, pickle.UnpicklingError):  # the child ended, maybe mid-message
            pass
        self._process.wait()
        if self._feeder is not None:
            self._feeder.join()
        if self._feed_error is not None:
            raise ChildReaderFailed(
                f"reading the stored file failed: {self._feed_error}"
            ) from self._feed_error
        self._stderr.seek(0)
        tail = self._stderr.read()[-STDERR_TAIL:].decode("utf-8", "replace")
        raise ChildReaderFailed(
            f"the reader process ended with code {self._process.returncode}: {tail}"
        )


def _child_environment() -> dict[str, str]:
    """This process's environment, with csvhub importable even when it is not installed."""
    source_root = str(Path(__file__).resolve().parents[2])
    paths = [source_root, *filter(None, os.environ.get("PYTHONPATH", "").split(os.pathsep))]
    return {**os.environ, "PYTHONPATH": os.pathsep.join(paths)}


# -- the child --------------------------------------------------------------------------------


def _send(out: IO[bytes], *message: object) -> None:
    pickle.dump(message, out, protocol=pickle.HIGHEST_PROTOCOL)
    out.flush()


def child_main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m csvhub.csvread.child")
    parser.add_argument("--filename", default="")
    parser.add_argument("--batch-rows", type=int, required=True)
    defaults = ReadLimits()
    parser.add_argument("--max-record-chars", type=int, default=defaults.record_chars)
    parser.add_argument("--max-record-lines", type=int, default=defaults.record_lines)
    parser.add_argument("--max-batch-chars", type=int, default=defaults.batch_chars)
    args = parser.parse_args(argv)
    limits = ReadLimits(args.max_record_chars, args.max_record_lines, args.max_batch_chars)
    source = sys.stdin.buffer
    # Only pickled messages may reach stdout: keep the real one, point sys.stdout elsewhere.
    out = os.fdopen(os.dup(sys.stdout.fileno()), "wb", buffering=FEED_CHUNK)
    sys.stdout = sys.stderr
    try:
        reader = open_csv(source, filename=args.filename or None, limits=limits)
        columns = [(c.name, c.label) for c in reader.columns]
        _send(out, "header", reader.encoding, reader.delimiter, reader.compressed, columns)
        for batch in reader.batches(args.batch_rows):
            bad_rows = [(row.line, row.reason, row.text) for row in batch.bad_rows]
            parts = batch.columns.wire_parts() if batch.row_count else []
            summaries = batch.columns.summaries if batch.row_count else None
            _send(
                out,
                "batch",
                parts,
                batch.row_count,
                bad_rows,
                batch.bytes_read,
                batch.rows_seen,
                summaries,
                batch.chars,
            )
        _send(out, "end")
    except CsvFormatError as error:
        _send(out, "error", str(error))
    except BrokenPipeError:
        return 1  # the parent is gone or stopped listening
    return 0


if __name__ == "__main__":
    sys.exit(child_main())
