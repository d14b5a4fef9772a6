"""PostgreSQL's Loader: COPY, binary where the C encoder can, from a sending thread.

A table created by the load is filled before it gets its primary key: building the key once
afterwards costs a fraction of maintaining it row by row, and COPY may write its rows frozen
(no later vacuum or hint-bit rewrite of every page). Row ids are numbered here rather than
drawn from the identity's sequence, which costs the server a fifth of the COPY; loads of a
table are serialized (the advisory lock), and finish() moves the sequence past the last id.
"""

from __future__ import annotations

import queue
import threading
import time
from collections.abc import Sequence
from contextlib import suppress
from typing import Any

import psycopg
from psycopg import sql
from psycopg.abc import Buffer
from sqlalchemy import func, select
from sqlalchemy.engine import Connection

from csvhub.schema import ColumnType
from csvhub.warehouse.dialects.base import Loader, WarehouseDialect
from csvhub.warehouse.schema import ROW_ID

try:
    from csvhub.warehouse import _copybinary
except ImportError:  # built without a C compiler: rows go as COPY text
    _copybinary = None  # type: ignore[assignment]


class PostgreSQLLoader(Loader):
    stores_while_caller_reads = True  # the COPY's data goes from the sending thread

    def __init__(self, dialect: WarehouseDialect, connection: Connection, table_name: str) -> None:
        super().__init__(dialect, connection, table_name)
        self.sends_binary = _copybinary is not None  # type: ignore[misc]
        self._names: list[str] = []
        self._type_codes = ""
        self._copy: Any = None
        self._copy_block: Any = None
        self._copy_binary = False
        self._cursors: list[Any] = []
        self._created_here = False
        self._key_pending = False

    # -- shape -------------------------------------------------------------------------------

    def create(self, columns: Sequence[tuple[str, ColumnType, int | None]]) -> None:
        from csvhub.warehouse.schema import dataset_table

        table = dataset_table(self.table_name, columns, self.dialect, primary_key=False)
        table.create(self.connection)
        self._created_here = self._key_pending = True

    def retype(
        self,
        column: str,
        old: tuple[ColumnType, int | None],
        new: tuple[ColumnType, int | None],
    ) -> None:
        self.flush()
        q = self.quote
        target = self.dialect.sql_type(*new).compile(dialect=self.connection.dialect)
        using = _conversion(q(column), old[0], new[0], target)
        self.connection.exec_driver_sql(
            f"ALTER TABLE {q(self.table_name)} ALTER COLUMN {q(column)} TYPE {target} USING {using}"
        )

    def set_write_order(
        self, names: Sequence[str], kinds: Sequence[tuple[ColumnType, int | None]]
    ) -> None:
        self.flush()
        self._names = list(names)
        self._type_codes = "".join(_BINARY_TYPE_CODES[column_type] for column_type, _ in kinds)

    # -- rows --------------------------------------------------------------------------------

    def write_columns(self, columns: list[list[str]], first_row_id: int) -> None:
        copy = self._copy_in(binary=False)
        count = len(columns[0])
        cells = [list(map(str, range(first_row_id, first_row_id + count))), *columns]
        copy.write(copy_text(cells))

    def write_joined(self, parts: Sequence[str | list[str]], count: int, first_row_id: int) -> bool:
        """PostgreSQL's binary COPY format (the server then parses no text); False where a
        cell holds a line break or a value is not in canonical form."""
        texts = [part for part in parts if isinstance(part, str)]
        if _copybinary is None or len(texts) < len(parts):
            return False
        opening = self._copy is None or not self._copy_binary
        data = _copybinary.encode(texts, self._type_codes, first_row_id, opening)
        if data is None:
            return False
        self._copy_in(binary=True).write(data)
        return True

    def _copy_in(self, *, binary: bool) -> Any:
        """The open COPY of the given format, ending one of the other format first."""
        if self._copy is not None and self._copy_binary != binary:
            self.flush()
        if self._copy is None:
            self._copy = self._open_copy(binary=binary)
            self._copy_binary = binary
        return self._copy

    def _open_copy(self, *, binary: bool) -> Any:
        raw = self.connection.connection.driver_connection
        names = [ROW_ID, *self._names]
        columns = sql.SQL(", ").join(sql.Identifier(name) for name in names)
        # Text format with NULL '': an empty cell is NULL, as csvhub promises.
        format_options = "FORMAT binary" if binary else "FORMAT text, NULL ''"
        options = sql.SQL(format_options + (", FREEZE" if self._created_here else ""))
        statement = sql.SQL("COPY {table} ({columns}) FROM STDIN ({options})").format(
            table=sql.Identifier(self.table_name), columns=columns, options=options
        )
        cursor = raw.cursor()  # type: ignore[union-attr]
        self._cursors.append(cursor)
        self._copy_block = cursor.copy(statement, writer=_SendingThread(cursor))
        return self._copy_block.__enter__()

    def flush(self, error: BaseException | None = None) -> None:
        if self._copy is not None:
            if self._copy_binary and error is None:
                self._copy.write(_copybinary.TRAILER)
            # Leaving the copy block sends the end of data (errors surface here), or, when the
            # load failed, tells the server to abandon the COPY before the rollback.
            self._copy = None
            self._copy_block.__exit__(type(error) if error else None, error, None)
        while self._cursors:
            self._cursors.pop().close()

    def finish(self, last_row_id: int) -> None:
        self.flush()
        if self._key_pending:
            q = self.quote
            self.connection.exec_driver_sql(
                f"ALTER TABLE {q(self.table_name)} ADD PRIMARY KEY ({q(ROW_ID)})"
            )
            self._key_pending = False
        if last_row_id:
            # Keep the identity's sequence past the ids this loader numbered itself.
            sequence = func.pg_get_serial_sequence(self.quote(self.table_name), ROW_ID)
            self.connection.execute(select(func.setval(sequence, last_row_id)))

    def row_id_range(self, before: int, count: int) -> tuple[int, int]:
        return before + 1, before + count  # numbered here, one after the other


_BINARY_TYPE_CODES = {
    ColumnType.INTEGER: "i",
    ColumnType.DECIMAL: "n",
    ColumnType.DATE: "d",
    ColumnType.TIMESTAMP: "t",
    ColumnType.BOOLEAN: "b",
    ColumnType.TEXT: "s",
}


def _is_stop(error: BaseException | None) -> bool:
    """A stop of the process (SystemExit, KeyboardInterrupt), not an error of the load."""
    return error is not None and not isinstance(error, Exception)


def _conversion(column: str, old: ColumnType, new: ColumnType, target: str) -> str:
    """SQL turning a stored value of type `old` into type `new` (widening, or provisional text)."""
    if new is ColumnType.TEXT:
        return {
            ColumnType.BOOLEAN: (
                f"CASE WHEN {column} THEN 'true' WHEN NOT {column} THEN 'false' END"
            ),
            ColumnType.DATE: f"to_char({column}, 'YYYY-MM-DD')",
            ColumnType.TIMESTAMP: (
                f"regexp_replace(to_char({column} AT TIME ZONE 'UTC', "
                f"'YYYY-MM-DD HH24:MI:SS.US'), '\\.?0+$', '')"
            ),
        }.get(old, f"{column}::text")
    if old is ColumnType.DATE and new is ColumnType.TIMESTAMP:
        return f"({column}::timestamp AT TIME ZONE 'UTC')"
    return f"{column}::{target}"


def copy_text(columns: Sequence[Sequence[str]]) -> str:
    """Rows in COPY's text format: cells joined by tabs, rows by line feeds ('' is NULL).

    Built with C-speed joins; only the columns holding a backslash, tab or line break are
    escaped value by value. (All rows go through copy.write, never write_row, whose buffering
    would send some rows after later ones.)
    """
    escaped = [_escaped(column) for column in columns]
    return "\n".join(map("\t".join, zip(*escaped, strict=True))) + "\n"


_SPECIAL = ("\\", "\t", "\n", "\r")


def _escaped(column: Sequence[str]) -> Sequence[str]:
    cells = "".join(column)
    if not any(special in cells for special in _SPECIAL):  # substring search: memchr speed
        return column
    return [
        value.replace("\\", "\\\\").replace("\t", "\\t").replace("\n", "\\n").replace("\r", "\\r")
        for value in column
    ]


class _SendingThread(psycopg.copy.Writer):
    """Sends COPY data from a thread, so the loader goes on converting the next batch while
    the server parses this one (a plain LibpqWriter waits for the socket in the loading
    thread). At most QUEUED_WRITES writes (a batch each) wait, which keeps memory flat.

    If sending fails, the next write() or finish() ends the COPY with that error (so the
    connection can roll back) and raises it.
    """

    QUEUED_WRITES = 4

    def __init__(self, cursor: psycopg.Cursor) -> None:
        self._sender = psycopg.copy.LibpqWriter(cursor)
        # Taken here, in the loading thread: what a stop uses to make the server end the COPY
        # (libpq allows a cancel from another thread; it needs no use of the connection).
        self._server_cancel = cursor.connection.pgconn.get_cancel()
        self._queue: queue.Queue[bytes | None] = queue.Queue(maxsize=self.QUEUED_WRITES)
        self._thread: threading.Thread | None = None
        self._error: BaseException | None = None
        self._finished = False
        # Set when the COPY is to be abandoned: the thread drops what is still queued, since
        # the server discards the whole COPY anyway.
        self._abandoned = False

    def write(self, data: Buffer) -> None:
        if self._error is not None:
            self._end(self._error)
            raise self._error
        if self._thread is None:
            thread = threading.Thread(target=self._send, name="copy-sender", daemon=True)
            thread.start()
            self._thread = thread
        self._queue.put(bytes(data))
        # Offer the GIL to the sending thread now (a hint: CPython does not promise the
        # switch): left to the interpreter, the loading thread keeps it for up to
        # sys.getswitchinterval() (5 ms) of converting while the server waits for data it
        # could be storing (a 10,000-row append's COPY ended 13 ms after its last write,
        # 6-7 ms with this).
        time.sleep(0)

    def finish(self, exc: BaseException | None = None) -> None:
        self._end(exc or self._error)
        if self._error is not None and exc is None:
            raise self._error

    def _end(self, error: BaseException | None) -> None:
        """Stop the thread and end the COPY, once; given an error, the server abandons it."""
        if self._finished:
            return
        self._finished = True
        if self._thread is not None:
            self._abandoned = error is not None
            if _is_stop(error):  # it landed in a write, waiting for the thread
                self._end_at_once(self._thread)
            else:
                self._stop_thread(self._thread)
            self._thread = None
        self._sender.finish(error)

    def _stop_thread(self, thread: threading.Thread) -> None:
        try:
            self._queue.put(None)
            thread.join()
        except BaseException:
            # A stop (a Celery pool process's SystemExit on TERM) landed while waiting. The
            # caller closes the connection next, which the thread must no longer be writing
            # to: libpq does not allow one connection to be used by two threads at once.
            self._end_at_once(thread)
            raise

    def _end_at_once(self, thread: threading.Thread) -> None:
        """Stop the thread without waiting for the server to take what it is sending: the
        server is told to abandon the COPY, which ends the send in progress at once, however
        long the server would have been busy (a lock, a slow trigger); the thread drops what
        is still queued. A further stop meanwhile does not cut this short (see _stop_thread)."""
        self._abandoned = True
        cancelled = end_marked = False
        while thread.is_alive():
            with suppress(BaseException):
                if not cancelled:
                    cancelled = True
                    with suppress(psycopg.Error):  # the server may have ended the COPY already
                        self._server_cancel.cancel()
                if not end_marked:
                    # A second end mark is harmless: the thread stops at the first.
                    self._queue.put(None, timeout=0.1)
                    end_marked = True
                thread.join(timeout=0.1)

    def _send(self) -> None:
        try:
            while (data := self._queue.get()) is not None:
                if not self._abandoned:
                    self._sender.write(data)
        except BaseException as error:  # handed to the loading thread by write() and finish()
            self._error = error
            while self._queue.get() is not None:  # let write() go on until _end()
                pass
