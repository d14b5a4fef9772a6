"""Streaming rows into MariaDB/MySQL with `LOAD DATA LOCAL INFILE`, through a named pipe.

PyMySQL answers the server's request for the "local file" by opening the file name the
statement gives and sending what it reads. The name given here is a FIFO in a private
temporary directory: the statement runs in a thread of its own (it returns only at the end of
the data), while the loading thread writes batches of rows, in LOAD DATA's escaped text format,
into the pipe. Nothing is held in memory beyond the pipe's buffer and one batch, and nothing is
written to disk.

The server checks nothing that csvhub has not checked already (values arrive converted by
csvread); strict mode makes it refuse, rather than adjust, anything that would not fit, and the
statement's warning count is checked as well: a load that the server changed in any way fails.
"""

from __future__ import annotations

import errno
import os
import select
import shutil
import tempfile
import threading
from collections.abc import Sequence
from typing import Any

# LOAD DATA's defaults, spelled out: tab between fields, line feed after rows, backslash escapes,
# `\N` for NULL. The statement names them all so a server default can never change them.
_FORMAT = (
    "CHARACTER SET utf8mb4 FIELDS TERMINATED BY '\\t' ENCLOSED BY '' ESCAPED BY '\\\\' "
    "LINES TERMINATED BY '\\n' STARTING BY ''"
)
_SPECIAL = ("\\", "\t", "\n", "\r", "\0")
NULL = "\\N"


class LoadFailed(Exception):
    """The server refused the rows, or changed some of them (a warning)."""


def infile_text(columns: Sequence[Sequence[str]]) -> bytes:
    """Rows (given column by column) in LOAD DATA's escaped format; '' is NULL (`\\N`).

    C-speed joins; only the columns holding a special character are escaped cell by cell.
    """
    escaped = [_escaped(column) for column in columns]
    text = "\n".join(map("\t".join, zip(*escaped, strict=True))) + "\n"
    return text.encode()


def _escaped(column: Sequence[str]) -> Sequence[str]:
    cells = "".join(column)
    if "" not in column and not any(special in cells for special in _SPECIAL):
        return column
    return [_escape(value) if value else NULL for value in column]


def _escape(value: str) -> str:
    return (
        value.replace("\\", "\\\\")
        .replace("\t", "\\t")
        .replace("\n", "\\n")
        .replace("\r", "\\r")
        .replace("\0", "\\0")
    )


class InfileStream:
    """One `LOAD DATA LOCAL INFILE` into `table (columns)`, fed batch by batch.

    `write()` sends a batch; `close()` ends the data, waits for the statement and raises
    LoadFailed if the server refused or changed any row; `abort()` ends it without raising
    (the caller then rolls the transaction back, and the rows with it).

    The write end is opened only once PyMySQL has opened the read end (a pipe whose ends are
    all closed drops its data), without blocking, and written without blocking: a statement
    that fails, before reading or halfway, never leaves the loading thread waiting; write()
    waits for room a moment at a time and looks for the statement's error in between.
    """

    _WAIT_SECONDS = 0.05

    def __init__(self, driver: Any, table: str, columns: Sequence[str]) -> None:
        self._driver = driver
        self._directory = tempfile.mkdtemp(prefix="csvhub-infile-")  # mode 0700: ours only
        self._path = os.path.join(self._directory, "rows")
        os.mkfifo(self._path, 0o600)
        self._fd: int | None = None
        self._finished = False
        self._error: BaseException | None = None
        self.warnings = 0
        self.rows = 0
        statement = f"LOAD DATA LOCAL INFILE %s INTO TABLE {table} {_FORMAT} ({', '.join(columns)})"
        self._thread = threading.Thread(
            target=self._run, args=(statement,), name="load-data", daemon=True
        )
        self._thread.start()

    def _run(self, statement: str) -> None:
        try:
            with self._driver.cursor() as cursor:
                cursor.execute(statement, (self._path,))
                self.rows = cursor.rowcount
                self.warnings = cursor.warning_count
        except BaseException as error:  # handed to the loading thread by write() and close()
            self._error = error

    def _opened(self) -> int | None:
        """The write end, once the statement has opened the read end; None if it ended first."""
        while self._fd is None:
            try:
                self._fd = os.open(self._path, os.O_WRONLY | os.O_NONBLOCK)
            except OSError as error:
                if error.errno != errno.ENXIO:  # ENXIO: no reader yet
                    raise
                if not self._thread.is_alive():
                    return None
                self._thread.join(self._WAIT_SECONDS)
        return self._fd

    def write(self, data: bytes) -> None:
        assert not self._finished, "write after close"
        view = memoryview(data)
        while view:
            self._raise_failure()
            fd = self._opened()
            if fd is None:
                continue  # the statement ended without reading: its error is raised above
            try:
                view = view[os.write(fd, view) :]
            except BlockingIOError:  # the pipe is full: wait for the statement to read on
                _wait_writable(fd, self._WAIT_SECONDS)
            except BrokenPipeError:  # the statement stopped reading: its error follows
                self._thread.join()
                self._raise_failure()
                raise

    def _raise_failure(self) -> None:
        if self._error is not None:
            raise LoadFailed(str(self._error)) from self._error
        if self._fd is None and not self._thread.is_alive() and not self._finished:
            raise LoadFailed("LOAD DATA ended before it read its rows")

    def close(self) -> None:
        self._finish()
        self._raise_failure()
        if self.warnings:
            raise LoadFailed(
                f"the server changed or refused {self.warnings} value(s) while loading"
            )

    def abort(self) -> None:
        self._finish()

    @property
    def running(self) -> bool:
        """Whether the statement still runs on the connection (a stop landed in the wait of
        close() or abort())."""
        return self._thread.is_alive()

    def _finish(self) -> None:
        if self._finished:
            return
        self._finished = True
        try:
            fd = self._opened()
            if fd is not None:
                os.close(fd)  # the only write end: the statement reads the end of the data
            self._thread.join()
        finally:
            shutil.rmtree(self._directory, ignore_errors=True)


def _wait_writable(fd: int, seconds: float) -> None:
    """Wait until the pipe takes more bytes. poll, not select: a long-lived worker's descriptors
    pass 1024, which select() cannot watch ("filedescriptor out of range")."""
    poller = select.poll()
    poller.register(fd, select.POLLOUT)
    poller.poll(seconds * 1000)
