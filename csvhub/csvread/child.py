"""Reading a CSV upload in a child process, so that parsing runs beside inference and loading.

Splitting records is the single largest cost of an ingestion (the csv module holds the GIL, so
a thread would not help). `open_csv_in_child` starts `python -m csvhub.csvread.child`, lets it
read a stored file on the local disk itself (its stdin is the file) or feeds it any other
stream's bytes from a thread, and reads back what `open_csv` and `CsvReader.batches` would
have given, batch by batch. Each batch travels as one joined string per column (see
Columns.wire_parts), which pickles at memory speed, instead of a list of small strings, which
costs more to send than to parse.

Memory stays flat: the pipes hold at most a batch or so, and the child blocks when the parent
is busy. If the parent dies, the child's next write fails and it exits; if the child dies, the
parent raises ChildReaderFailed.

The child is also where a file that needs too much memory does its damage: given a memory limit,
it caps its own address space (RLIMIT_AS) before reading a byte and asks the kernel's
out-of-memory killer to pick it first, so that such a file ends the child (the parent raises
ReaderOutOfMemory) and never the web server or worker that started it.
"""

from __future__ import annotations

import argparse
import fcntl
import io
import os
import pickle
import resource
import signal
import stat
import subprocess
import sys
import tempfile
import threading
from collections.abc import Iterator
from contextlib import suppress
from pathlib import Path
from typing import IO, Any, Self

from csvhub.csvread.columns import Columns
from csvhub.csvread.errors import CsvFormatError, LimitExceeded, ReadAgain, StoredFileUnreadable
from csvhub.csvread.header import Column
from csvhub.csvread.reader import BadRow, Batch, ReadLimits, open_csv

FEED_CHUNK = 1 << 20
# The pipes' size, where the system allows it (Linux's default, 64 KiB, wakes the other
# process for every 64 KiB that crosses: thousands of switches per gigabyte).
PIPE_BYTES = 1 << 20
STDERR_TAIL = 4000
# The child's exit code when it ran out of memory (it exits at once, without a traceback that
# would need memory it does not have).
EXIT_OUT_OF_MEMORY = 3


class ChildReaderFailed(RuntimeError):
    """The child process died or could not read the upload's bytes."""


class ReaderOutOfMemory(ChildReaderFailed):
    """The child needed more memory than its limit (or the system) gave it."""


def open_csv_in_child(
    stream: IO[bytes],
    *,
    filename: str | None = None,
    batch_rows: int = 20_000,
    encoding: str | None = None,
    encoding_reason: str = "",
    max_decompressed_bytes: int | None = None,
    memory_limit: int | None = None,
    max_decompression_ratio: int | None = None,
    limits: ReadLimits | None = None,
) -> ChildCsvReader:
    """Like `open_csv`, with the reading done in a child process; use it as a context manager.

    `memory_limit` caps the child's address space in bytes (None: no cap). Raises
    CsvFormatError when the file cannot be read as CSV at all, ReaderOutOfMemory when the child
    runs out of memory.
    """
    options = [f"--encoding-reason={encoding_reason}"]
    if encoding:
        options.append(f"--encoding={encoding}")
    if max_decompressed_bytes is not None:
        options.append(f"--max-decompressed-bytes={max_decompressed_bytes}")
    if max_decompression_ratio:
        options.append(f"--max-decompression-ratio={max_decompression_ratio}")
    limits = limits or ReadLimits()
    options += [
        f"--max-record-chars={limits.record_chars}",
        f"--max-record-lines={limits.record_lines}",
        f"--max-batch-chars={limits.batch_chars}",
    ]
    reader = ChildCsvReader(
        stream,
        filename=filename,
        batch_rows=batch_rows,
        options=options,
        memory_limit=memory_limit,
    )
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
        stream: IO[bytes],
        *,
        filename: str | None,
        batch_rows: int,
        options: list[str] | None = None,
        memory_limit: int | None = None,
    ) -> None:
        self.batch_rows = batch_rows
        self.memory_limit = memory_limit
        self.encoding = ""  # the child's final word comes with the end of the batches
        self.encoding_reason = ""
        self._options = options or []
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
        command += self._options
        if self.memory_limit:
            command.append(f"--memory-limit={self.memory_limit}")
        own_file = _whole_file_descriptor(self._stream)
        self._process = subprocess.Popen(
            command,
            stdin=subprocess.PIPE if own_file is None else own_file,
            stdout=subprocess.PIPE,
            stderr=self._stderr,
            env=_child_environment(),
        )
        _widen(self._process.stdin)
        _widen(self._process.stdout)
        if own_file is None:
            feeder = threading.Thread(target=self._feed, name="csv-child-feeder", daemon=True)
            feeder.start()
            self._feeder = feeder  # only a started thread is joined by close()
        kind, *payload = self._receive()
        _raise_for_failure(kind, payload)
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
                self.encoding, self.encoding_reason = payload
                return
            _raise_for_failure(kind, payload)
            if kind != "batch":
                raise ChildReaderFailed(f"the reader process sent {kind!r} instead of a batch")
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

    def _receive(self) -> tuple[Any, ...]:
        """The child's next message: its kind, then what that kind carries."""
        assert self._process is not None and self._process.stdout is not None
        try:
            message: tuple[Any, ...] = pickle.load(self._process.stdout)
            return message
        except (EOFError, pickle.UnpicklingError):  # the child ended, maybe mid-message
            pass
        self._process.wait()
        if self._feeder is not None:
            self._feeder.join()
        if self._feed_error is not None:
            raise ChildReaderFailed(
                f"reading the stored file failed: {self._feed_error}"
            ) from self._feed_error
        # SIGKILL is what the kernel's out-of-memory killer sends, and the child asked to be
        # its first choice (see _limit_memory).
        if self._process.returncode in (EXIT_OUT_OF_MEMORY, -signal.SIGKILL):
            raise ReaderOutOfMemory(
                f"the reader process ended with code {self._process.returncode}: out of memory "
                f"(its limit: {self.memory_limit or 'none'} bytes)"
            )
        self._stderr.seek(0)
        tail = self._stderr.read()[-STDERR_TAIL:].decode("utf-8", "replace")
        raise ChildReaderFailed(
            f"the reader process ended with code {self._process.returncode}: {tail}"
        )


def _whole_file_descriptor(stream: IO[bytes]) -> int | None:
    """The descriptor of `stream` when it is a whole file on a local disk, read from its first
    byte: the child then reads the file itself, which spares copying every byte through this
    process and a pipe. None for anything else (a file in object storage, a spool still
    growing, a stream part read), which is fed through the pipe.
    """
    opened: object = stream
    for _ in range(3):  # Django's File objects wrap the open file, sometimes twice
        if isinstance(opened, io.BufferedReader | io.FileIO):
            break
        opened = getattr(opened, "file", None)
    if not isinstance(opened, io.BufferedReader | io.FileIO):
        return None
    try:
        if opened.tell() != 0:
            return None
        descriptor = opened.fileno()
        if not stat.S_ISREG(os.fstat(descriptor).st_mode):
            return None
        # The child shares this descriptor's offset; the stream's own buffer may have moved it.
        os.lseek(descriptor, 0, os.SEEK_SET)
    except (OSError, ValueError):
        return None
    return descriptor


def _widen(pipe: IO[bytes] | None) -> None:
    """Give the pipe PIPE_BYTES of buffer, or leave it as it is where that is refused."""
    setting = getattr(fcntl, "F_SETPIPE_SZ", None)  # Linux only
    if pipe is not None and setting is not None:
        with suppress(OSError):  # above the system's fs.pipe-max-size
            fcntl.fcntl(pipe.fileno(), setting, PIPE_BYTES)


def _raise_for_failure(kind: str, payload: list[Any]) -> None:
    """Raise what the child's message reports, if it reports a failure."""
    if kind == "error":  # the file cannot be read as CSV: the sender's to fix
        message, limit = payload
        raise CsvFormatError(message) if limit is None else LimitExceeded(message, limit=limit)
    if kind == "unreadable":  # as the feeder reports a stored file that fails (_feed)
        raise ChildReaderFailed(f"reading the stored file failed: {payload[0]}")
    if kind == "again":  # a late encoding decision, even before the header was complete
        raise ReadAgain(*payload)


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
    parser.add_argument("--encoding", default=None)
    parser.add_argument("--encoding-reason", default="")
    parser.add_argument("--max-decompressed-bytes", type=int, default=None)
    parser.add_argument("--memory-limit", type=int, default=0)
    parser.add_argument("--max-decompression-ratio", type=int, default=None)
    defaults = ReadLimits()
    parser.add_argument("--max-record-chars", type=int, default=defaults.record_chars)
    parser.add_argument("--max-record-lines", type=int, default=defaults.record_lines)
    parser.add_argument("--max-batch-chars", type=int, default=defaults.batch_chars)
    args = parser.parse_args(argv)
    _outlive_stop_signals()
    _limit_memory(args.memory_limit)
    try:
        return _read(args)
    except MemoryError:
        os._exit(EXIT_OUT_OF_MEMORY)  # no cleanup: the parent takes the half-sent rest as lost


def _outlive_stop_signals() -> None:
    """A stop (TERM to the worker's process group, Ctrl-C in a terminal) is for the worker: it
    finishes or hands back its job and then ends this child itself (close() kills it, a dead
    parent closes its pipes). Dying first would fail an upload that should be resumed."""
    for stop in (signal.SIGTERM, signal.SIGINT):
        signal.signal(stop, signal.SIG_IGN)


def _limit_memory(limit: int) -> None:
    """Cap this process's address space, and make it the out-of-memory killer's first choice
    when the whole machine (or container) runs short, rather than the process that started it."""
    with suppress(OSError):  # not Linux, or /proc not mounted: the cap alone still holds
        Path("/proc/self/oom_score_adj").write_text("1000")
    if limit > 0:
        # A platform that refuses the cap (macOS, a hard limit already lower) reads without it,
        # as before, rather than failing every upload.
        with suppress(ValueError, OSError):
            resource.setrlimit(resource.RLIMIT_AS, (limit, limit))


def _read(args: argparse.Namespace) -> int:
    # Only pickled messages may reach stdout: keep the real one, point sys.stdout elsewhere.
    out = os.fdopen(os.dup(sys.stdout.fileno()), "wb", buffering=FEED_CHUNK)
    sys.stdout = sys.stderr
    try:
        reader = open_csv(
            sys.stdin.buffer,
            filename=args.filename or None,
            encoding=args.encoding,
            encoding_reason=args.encoding_reason,
            max_decompressed_bytes=args.max_decompressed_bytes,
            max_decompression_ratio=args.max_decompression_ratio,
            limits=ReadLimits(args.max_record_chars, args.max_record_lines, args.max_batch_chars),
        )
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
        _send(out, "end", reader.encoding, reader.encoding_reason)
    except CsvFormatError as error:
        _send(out, "error", str(error), getattr(error, "limit", None))
    except ReadAgain as again:
        _send(out, "again", again.encoding, again.reason)
    except StoredFileUnreadable as error:
        _send(out, "unreadable", str(error))
    except BrokenPipeError:
        return 1  # the parent is gone or stopped listening
    return 0


if __name__ == "__main__":
    sys.exit(child_main())
