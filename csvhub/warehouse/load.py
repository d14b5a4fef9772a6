"""Loading an upload's rows into a dataset table, in one transaction.

A LoadSession holds a single warehouse transaction: it takes a per-table lock (so concurrent
uploads to one dataset run one after the other), creates or widens the table, streams rows in
(COPY on PostgreSQL, executemany on SQLite) and records the upload in `csvhub_loads` in the same
commit. Readers never see a half-loaded upload; a retried upload finds its record and never
loads twice; a killed worker's transaction simply rolls back.
"""

from __future__ import annotations

import queue
import sqlite3
import threading
from collections.abc import Iterable, Sequence
from contextlib import ExitStack
from typing import Any, Self

import psycopg
from psycopg import sql
from psycopg.abc import Buffer
from sqlalchemy import Engine, func, insert, select
from sqlalchemy.engine import Connection

from csvhub.schema import ColumnType, LoadResult
from csvhub.warehouse.engine import SQLITE_BEGIN_OPTION, is_postgres
from csvhub.warehouse.indexes import indexes_restore, indexes_set_aside
from csvhub.warehouse.schema import (
    LOADS,
    ROW_ID,
    add_primary_key,
    check_column_name,
    check_table_name,
    dataset_table,
    reflect_columns,
)

try:
    from csvhub.warehouse import _copybinary
except ImportError:  # built without a C compiler: rows go as COPY text
    _copybinary = None  # type: ignore[assignment]


class LoadSession:
    def __init__(self, engine: Engine, table_name: str, upload_id: str) -> None:
        self.engine = engine
        self.table_name = check_table_name(table_name)
        self.upload_id = upload_id
        self.postgres = is_postgres(engine)
        self.columns: dict[str, ColumnType] | None = None
        self.rows_written = 0
        self._write_order: list[str] = []
        self._stack = ExitStack()
        self._connection: Connection
        self._copy: Any = None
        self._copy_block: Any = None
        self._copy_binary = False
        self._sqlite_insert: str | None = None
        # A table created by this load (PostgreSQL) is filled before it gets its primary key:
        # building the key once afterwards costs a fraction of maintaining it row by row, and
        # COPY may write its rows frozen (no later vacuum or hint-bit rewrite of every page).
        self._created_here = False
        self._key_pending = False

    # -- transaction -------------------------------------------------------------------------

    def __enter__(self) -> Self:
        connection = self._stack.enter_context(self.engine.connect())
        if not self.postgres:
            connection = connection.execution_options(**{SQLITE_BEGIN_OPTION: "BEGIN IMMEDIATE"})
        self._connection = connection
        self._stack.enter_context(connection.begin())
        if self.postgres:
            # Serializes loads of one table across processes; released at commit or rollback.
            connection.execute(select(func.pg_advisory_xact_lock(func.hashtext(self.table_name))))
        LOADS.create(connection, checkfirst=True)
        self.columns = reflect_columns(connection, self.table_name)
        self._max_row_id_before = self._max_row_id() if self.columns is not None else 0
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        try:
            self._close_copy(exc_type, exc, tb)
        finally:
            # Leaving the transaction context commits only if nothing raised.
            self._stack.__exit__(exc_type, exc, tb)

    def previous_result(self) -> LoadResult | None:
        """The recorded result when this upload was already loaded (a retry after a crash)."""
        row = self._connection.execute(
            select(LOADS.c.result).where(LOADS.c.upload_id == self.upload_id)
        ).first()
        return LoadResult.from_json(row[0]) if row else None

    def finish(self, result: LoadResult) -> None:
        """Record the upload; the commit happens when the session's `with` block ends."""
        self._close_copy()
        self._add_pending_key()
        if self.postgres and self.rows_written:
            self._advance_row_id_sequence(self._max_row_id_before + self.rows_written)
        self._connection.execute(
            insert(LOADS).values(
                upload_id=self.upload_id, table_name=self.table_name, result=result.to_json()
            )
        )

    def row_id_range(self) -> tuple[int, int] | None:
        """First and last hidden row id given to this upload's rows (None when it had none)."""
        if not self.rows_written:
            return None
        if self.postgres:  # numbered here, one after the other (see _write_postgres_columns)
            return self._max_row_id_before + 1, self._max_row_id_before + self.rows_written
        table = self._quote(self.table_name)
        row_id = self._quote(ROW_ID)
        first, last = self._connection.exec_driver_sql(
            f"SELECT MIN({row_id}), MAX({row_id}) FROM {table} WHERE {row_id} > ?",
            (self._max_row_id_before,),
        ).one()
        return first, last

    @property
    def next_row_id(self) -> int:
        """The hidden row id the next row written gets."""
        return self._max_row_id_before + self.rows_written + 1

    def _advance_row_id_sequence(self, last_id: int) -> None:
        """Keep the identity's sequence past the ids write_columns numbered itself."""
        self._connection.execute(
            select(
                func.setval(
                    func.pg_get_serial_sequence(self._quote(self.table_name), ROW_ID), last_id
                )
            )
        )

    def _max_row_id(self) -> int:
        table, row_id = self._quote(self.table_name), self._quote(ROW_ID)
        value = self._connection.exec_driver_sql(f"SELECT MAX({row_id}) FROM {table}").scalar()
        return value or 0

    # -- shape -------------------------------------------------------------------------------

    def create(self, columns: Sequence[tuple[str, ColumnType]]) -> None:
        dialect = self.engine.dialect.name
        table = dataset_table(self.table_name, columns, dialect, primary_key=not self.postgres)
        table.create(self._connection)
        self.columns = dict(columns)
        self._created_here = self._key_pending = self.postgres

    def _add_pending_key(self) -> None:
        if self._key_pending:
            self._close_copy()
            add_primary_key(self._connection, self.table_name)
            self._key_pending = False

    def retype(self, column: str, new_type: ColumnType) -> None:
        """Change a column's type, converting the values already stored (widening on append)."""
        assert self.columns is not None
        old_type = self.columns[check_column_name(column)]
        if old_type is new_type:
            return
        self._close_copy()
        if self.postgres:
            self._retype_postgres(column, old_type, new_type)
        else:
            self._retype_sqlite(column, old_type, new_type)
        self.columns[column] = new_type
        self._sqlite_insert = None

    def _retype_postgres(self, column: str, old: ColumnType, new: ColumnType) -> None:
        q = self._quote
        target = {
            ColumnType.INTEGER: "BIGINT",
            ColumnType.DECIMAL: "NUMERIC",
            ColumnType.BOOLEAN: "BOOLEAN",
            ColumnType.DATE: "DATE",
            ColumnType.TIMESTAMP: "TIMESTAMPTZ",
            ColumnType.TEXT: "TEXT",
        }[new]
        using = _postgres_conversion(q(column), old, new)
        self._connection.exec_driver_sql(
            f"ALTER TABLE {q(self.table_name)} ALTER COLUMN {q(column)} TYPE {target} USING {using}"
        )

    def _retype_sqlite(self, column: str, old: ColumnType, new: ColumnType) -> None:
        # SQLite cannot change a column's type: add a new column, convert into it, drop the old.
        q = self._quote
        table, temporary = q(self.table_name), q(f"{column}__retype")
        declared = {
            ColumnType.INTEGER: "BIGINT",
            ColumnType.DECIMAL: "REAL",
            ColumnType.BOOLEAN: "BOOLEAN",
            ColumnType.DATE: "DATE",
            ColumnType.TIMESTAMP: "TIMESTAMP",
            ColumnType.TEXT: "TEXT",
        }[new]
        execute = self._connection.exec_driver_sql
        # SQLite refuses to drop an indexed column: the indexes step aside and come back after.
        saved = indexes_set_aside(self._connection, self.table_name)
        execute(f"ALTER TABLE {table} ADD COLUMN {temporary} {declared}")
        execute(f"UPDATE {table} SET {temporary} = {_sqlite_conversion(q(column), old, new)}")
        execute(f"ALTER TABLE {table} DROP COLUMN {q(column)}")
        execute(f"ALTER TABLE {table} RENAME COLUMN {temporary} TO {q(column)}")
        indexes_restore(self._connection, saved)

    # -- rows --------------------------------------------------------------------------------

    def set_write_order(self, names: Sequence[str]) -> None:
        """The order of the values in each row given to write() (the file's column order)."""
        assert self.columns is not None
        unknown = [name for name in names if name not in self.columns]
        if unknown:
            raise ValueError(f"columns not in {self.table_name}: {unknown}")
        self._close_copy()
        self._write_order = [check_column_name(name) for name in names]
        self._sqlite_insert = None

    def write_columns(self, columns: list[list[str]]) -> None:
        """Append canonical cells held column by column (the cells of
        Converter.column_changes, or the batch's own where it has None);
        empty strings become NULL."""
        if not columns or not columns[0]:
            return
        if self.postgres:
            self._write_postgres_columns(columns)
        else:
            self._write_sqlite(zip(*columns, strict=True))
        self.rows_written += len(columns[0])

    @property
    def sends_binary(self) -> bool:
        """Whether write_joined can be used at all (PostgreSQL, with the C encoder built)."""
        return self.postgres and _copybinary is not None

    def write_joined(self, parts: Sequence[str | list[str]], count: int) -> bool:
        """Append `count` rows of canonical cells held as one '\\n'-joined string per column,
        in PostgreSQL's binary COPY format (the server then parses no text); False, with
        nothing written, where that cannot be done: SQLite, no C extension, a cell holding a
        line break, or a value not in canonical form. write_columns takes those."""
        if not self.sends_binary or not all(isinstance(part, str) for part in parts):
            return False
        assert self.columns is not None
        types = "".join(_BINARY_TYPE_CODES[self.columns[name]] for name in self._write_order)
        opening = self._copy is None or not self._copy_binary
        data = _copybinary.encode(list(parts), types, self.next_row_id, opening)
        if data is None:
            return False
        self._copy_in(binary=True).write(data)
        self.rows_written += count
        return True

    def _copy_in(self, *, binary: bool) -> Any:
        """The open COPY of the given format, ending one of the other format first."""
        if self._copy is not None and self._copy_binary != binary:
            self._close_copy()
        if self._copy is None:
            self._copy = self._open_copy(binary=binary)
            self._copy_binary = binary
        return self._copy

    def _write_postgres_columns(self, columns: list[list[str]]) -> None:
        copy = self._copy_in(binary=False)
        # Row ids are numbered here rather than drawn from the identity's sequence, which
        # costs the server a fifth of the COPY; loads of a table are serialized (the advisory
        # lock), and finish() moves the sequence past the last id.
        count = len(columns[0])
        first = self.next_row_id
        cells = [list(map(str, range(first, first + count))), *columns]
        copy.write(copy_text(cells))

    def _open_copy(self, *, binary: bool) -> Any:
        raw = self._connection.connection.driver_connection
        names = [ROW_ID, *self._write_order]
        columns = sql.SQL(", ").join(sql.Identifier(name) for name in names)
        # Text format with NULL '': an empty cell is NULL, as csvhub promises.
        options = "FORMAT binary" if binary else "FORMAT text, NULL ''"
        options = sql.SQL(options + (", FREEZE" if self._created_here else ""))
        statement = sql.SQL("COPY {table} ({columns}) FROM STDIN ({options})").format(
            table=sql.Identifier(self.table_name), columns=columns, options=options
        )
        cursor = self._stack.enter_context(raw.cursor())
        self._copy_block = cursor.copy(statement, writer=_SendingThread(cursor))
        return self._copy_block.__enter__()

    def _close_copy(self, exc_type=None, exc=None, tb=None) -> None:
        if self._copy is not None:
            if self._copy_binary and exc_type is None:
                self._copy.write(_copybinary.TRAILER)
            # Leaving the copy block sends the end of data (errors surface here), or, when the
            # load failed, tells the server to abandon the COPY before the rollback.
            self._copy = None
            self._copy_block.__exit__(exc_type, exc, tb)

    def _write_sqlite(self, rows: Iterable[Sequence[str]]) -> None:
        if self._sqlite_insert is None:
            self._sqlite_insert = self._sqlite_insert_statement()
        raw: sqlite3.Connection = self._connection.connection.driver_connection
        raw.executemany(self._sqlite_insert, rows)

    def _sqlite_insert_statement(self) -> str:
        assert self.columns is not None
        q = self._quote
        values = [
            "CASE ? WHEN 'true' THEN 1 WHEN 'false' THEN 0 END"
            if self.columns[name] is ColumnType.BOOLEAN
            else "NULLIF(?, '')"
            for name in self._write_order
        ]
        return (
            f"INSERT INTO {q(self.table_name)} ({', '.join(q(n) for n in self._write_order)}) "
            f"VALUES ({', '.join(values)})"
        )

    def _quote(self, identifier: str) -> str:
        if identifier != self.table_name and identifier != ROW_ID:
            check_column_name(identifier.removesuffix("__retype"))
        return self.engine.dialect.identifier_preparer.quote_identifier(identifier)


_BINARY_TYPE_CODES = {
    ColumnType.INTEGER: "i",
    ColumnType.DECIMAL: "n",
    ColumnType.DATE: "d",
    ColumnType.TIMESTAMP: "t",
    ColumnType.BOOLEAN: "b",
    ColumnType.TEXT: "s",
}


def _postgres_conversion(column: str, old: ColumnType, new: ColumnType) -> str:
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
    return (
        f"{column}::"
        + {
            ColumnType.INTEGER: "bigint",
            ColumnType.DECIMAL: "numeric",
            ColumnType.BOOLEAN: "boolean",
            ColumnType.DATE: "date",
            ColumnType.TIMESTAMP: "timestamptz",
        }[new]
    )


def _sqlite_conversion(column: str, old: ColumnType, new: ColumnType) -> str:
    """SQLite stores dates and timestamps as canonical ISO text and booleans as 0/1."""
    if new is ColumnType.TEXT:
        if old is ColumnType.BOOLEAN:
            return f"CASE {column} WHEN 1 THEN 'true' WHEN 0 THEN 'false' END"
        return f"CAST({column} AS TEXT)"
    if new is ColumnType.TIMESTAMP:
        return f"CASE WHEN length({column}) = 10 THEN {column} || ' 00:00:00' ELSE {column} END"
    if new is ColumnType.BOOLEAN:
        return f"CASE {column} WHEN 'true' THEN 1 WHEN 'false' THEN 0 END"
    return {
        ColumnType.INTEGER: f"CAST({column} AS INTEGER)",
        ColumnType.DECIMAL: f"CAST({column} AS REAL)",
        ColumnType.DATE: column,
    }[new]


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
        self._queue: queue.Queue[bytes | None] = queue.Queue(maxsize=self.QUEUED_WRITES)
        self._thread: threading.Thread | None = None
        self._error: BaseException | None = None
        self._finished = False

    def write(self, data: Buffer) -> None:
        if self._error is not None:
            self._end(self._error)
            raise self._error
        if self._thread is None:
            thread = threading.Thread(target=self._send, name="copy-sender", daemon=True)
            thread.start()
            self._thread = thread
        self._queue.put(bytes(data))

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
            self._queue.put(None)
            self._thread.join()
            self._thread = None
        self._sender.finish(error)

    def _send(self) -> None:
        try:
            while (data := self._queue.get()) is not None:
                self._sender.write(data)
        except BaseException as error:  # handed to the loading thread by write() and finish()
            self._error = error
            while self._queue.get() is not None:  # let write() go on until _end()
                pass
