"""Loading an upload's rows into a dataset table, in one transaction.

A LoadSession holds a single warehouse transaction: it takes a per-table lock (so concurrent
uploads to one dataset run one after the other), creates or widens the table, streams rows in
through its dialect's Loader (COPY on PostgreSQL, executemany on SQLite) and records the upload
in `csvhub_loads` in the same commit. Readers never see a half-loaded upload; a retried upload
finds its record and never loads twice; a killed worker's transaction simply rolls back.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from contextlib import AbstractContextManager, ExitStack
from types import TracebackType
from typing import Self

from sqlalchemy import Engine, column, delete, func, insert, select, table
from sqlalchemy.engine import Connection

from csvhub.schema import Column as DatasetColumn
from csvhub.schema import ColumnType, LoadResult
from csvhub.schema.types import decimal_fits
from csvhub.warehouse.dialects import Loader, dialect_of
from csvhub.warehouse.edits import journal_highest_row_id_queries
from csvhub.warehouse.indexes import IndexStatus, index_list_on, indexes_rebuild_on
from csvhub.warehouse.schema import (
    LOADS,
    ROW_ID,
    check_column_name,
    check_table_name,
    staging_name,
)

logger = logging.getLogger(__name__)


def loads_forget(engine: Engine, load_ids: Sequence[str]) -> None:
    """Delete the records of these loads: once forgotten, their ids may load again (the JSON
    appends' expired idempotency keys)."""
    if not load_ids:
        return
    with engine.begin() as connection:
        LOADS.create(connection, checkfirst=True)
        connection.execute(delete(LOADS).where(LOADS.c.upload_id.in_(list(load_ids))))


class LoadSession:
    def __init__(
        self,
        engine: Engine,
        table_name: str,
        upload_id: str,
        *,
        replace: bool = False,
        recorded: bool = True,
    ) -> None:
        self.engine = engine
        self.dialect = dialect_of(engine)
        # With `replace`, rows go into a new table that takes the dataset's name at finish(),
        # in the same transaction: readers see the old rows or the new ones, never a mix.
        self.target_name = check_table_name(table_name)
        self.replace = replace
        self.table_name = staging_name(table_name) if replace else self.target_name
        self.upload_id = upload_id
        # Without a record, a load cannot be found again: for writes nobody retries (a JSON
        # append without an Idempotency-Key), which would otherwise leave one row each.
        self.recorded = recorded
        self.columns: dict[str, ColumnType] | None = None
        self.scales: dict[str, int | None] = {}
        self.rows_written = 0
        self._write_order: list[str] = []
        self._stack = ExitStack()  # the connection: its close lets go of the table's lock
        self._transaction = ExitStack()
        # Entered by commit_with: ends right after the load's commit, before published().
        self._publication = ExitStack()
        self._connection: Connection
        self._loader: Loader
        self._max_row_id_before = 0

    # -- transaction -------------------------------------------------------------------------

    def __enter__(self) -> Self:
        connection = self._stack.enter_context(self.engine.connect())
        connection = self.dialect.for_writes(connection)
        self._connection = connection
        self._transaction.enter_context(connection.begin())
        self.dialect.lock_table(connection, self.target_name)
        if self.recorded:
            LOADS.create(connection, checkfirst=True)
        if self.replace:  # left by nothing on a transactional engine; by a crash on others
            quote = connection.dialect.identifier_preparer.quote_identifier
            self.dialect.drop_table(connection, quote(self.table_name))
        reflected = self.dialect.table_columns(connection, self.table_name)
        if reflected is not None:
            self.columns = {name: kind for name, (kind, _) in reflected.items()}
            self.scales = {name: scale for name, (_, scale) in reflected.items()}
            self._max_row_id_before = self._max_row_id(self.table_name)
        elif self.replace and self.dialect.table_columns(connection, self.target_name):
            # The new contents number on from the old: an id never names two rows, so a
            # journaled edit or an upload's range taken back after the replace matches none
            # of the new rows.
            self._max_row_id_before = self._max_row_id(self.target_name)
        self._loader = self.dialect.loader(connection, self.table_name)
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        try:
            self._commit_then_publish(exc_type, exc, tb)
        finally:
            self._stack.close()
        if exc_type is None:
            self._loader.published()

    def _commit_then_publish(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        """Commit the load, show it where the commit alone does not (MySQL's swap of a staged
        table, on this connection, which still holds the table's lock), then publish it: so
        no reader or recount sees a count without its rows, nor the rows without their count."""
        try:
            if exc is None:
                self._commit()
            else:
                self._roll_back(exc)
        except BaseException as failed:  # the commit failed: so does the publication
            self._publication.__exit__(type(failed), failed, failed.__traceback__)
            raise
        self._publication.__exit__(exc_type, exc, tb)

    def _commit(self) -> None:
        try:
            self._loader.flush()
        except BaseException as failed:
            # Abandoned as any failed load: the loader drops what it staged outside the
            # transaction (MySQL's stage survived a refusal here), and the caller sees this
            # error even where the connection cannot roll back.
            self._roll_back(failed)
            raise
        self._transaction.__exit__(None, None, None)  # commits
        self._loader.committed()

    def _roll_back(self, exc: BaseException) -> None:
        """Abandon the load after `exc`, which the caller then sees, whatever else fails here.

        A stop signal raises where the worker happens to be (Celery's pool process exits by a
        SystemExit on TERM), even inside the driver between two messages of the COPY protocol:
        the connection then refuses the ROLLBACK ("another command is already in progress"),
        and that error used to replace the stop, so the job was marked failed instead of left
        for another worker to resume. Such a connection is discarded: the server rolls back
        what a closed connection had begun."""
        try:
            try:
                self._loader.flush(exc)
            finally:
                self._transaction.__exit__(type(exc), exc, exc.__traceback__)  # rolls back
        except Exception:
            logger.warning(
                "rolling back a load after %r failed: its connection is discarded",
                exc,
                exc_info=True,
            )
            self._connection.invalidate()

    def commit_with(self, context: AbstractContextManager[object]) -> None:
        """Enter `context` (the metadata's transaction publishing this load) now, and leave it
        right after the load's own commit, as it went: committed after it, or rolled back with
        it. So the load's count is published before the table's lock is let go, and never
        without its rows (csvhub.datasets.typed_writes)."""
        self._publication.enter_context(context)

    def previous_result(self) -> LoadResult | None:
        """The recorded result when this upload was already loaded (a retry after a crash)."""
        if not self.recorded:
            return None
        row = self._connection.execute(
            select(LOADS.c.result).where(LOADS.c.upload_id == self.upload_id)
        ).first()
        return LoadResult.from_json(row[0]) if row else None

    def finish(self, result: LoadResult) -> None:
        """Record the upload; the commit happens when the session's `with` block ends."""
        last = self._max_row_id_before + self.rows_written if self.rows_written else 0
        self._loader.finish(last)
        if self.replace:
            kept = self._indexes_to_keep()
            self.dialect.replace_table(self._connection, self.table_name, self.target_name)
            indexes_rebuild_on(self._connection, self.target_name, kept)
        if not self.recorded:
            return
        self._connection.execute(
            insert(LOADS).values(
                upload_id=self.upload_id, table_name=self.target_name, result=result.to_json()
            )
        )

    def _indexes_to_keep(self) -> list[list[DatasetColumn]]:
        """The finished indexes of the table being replaced whose columns the new rows have
        (with their new types), to build again on the new table."""
        assert self.columns is not None
        wanted = []
        for info in index_list_on(self._connection, self.target_name):
            if info.status is IndexStatus.READY and all(c in self.columns for c in info.columns):
                wanted.append(
                    [
                        DatasetColumn(c, self.columns[c], scale=self.scales.get(c))
                        for c in info.columns
                    ]
                )
        return wanted

    def row_id_range(self) -> tuple[int, int] | None:
        """First and last hidden row id given to this upload's rows (None when it had none)."""
        if not self.rows_written:
            return None
        return self._loader.row_id_range(self._max_row_id_before, self.rows_written)

    @property
    def next_row_id(self) -> int:
        """The hidden row id the next row written gets."""
        return self._max_row_id_before + self.rows_written + 1

    def _max_row_id(self, table_name: str) -> int:
        # Ids of rows an edit deleted stay taken: undoing the edit puts them back. The journal
        # is asked in the same statement as the table (one round trip instead of two).
        rows = table(check_table_name(table_name), column(ROW_ID))
        largest = select(func.max(rows.c[ROW_ID])).scalar_subquery()
        journal = journal_highest_row_id_queries(self._connection, self.target_name)
        found = self._connection.execute(select(largest, *journal)).one()
        return max(int(value or 0) for value in found)

    # -- shape -------------------------------------------------------------------------------

    def create(
        self,
        columns: Sequence[tuple[str, ColumnType]],
        scales: dict[str, int | None] | None = None,
    ) -> None:
        """Create the table; decimal columns get their scale from `scales`."""
        scales = scales or {}
        shaped = [(name, kind, scales.get(name)) for name, kind in columns]
        self._loader.create(shaped)
        self.columns = dict(columns)
        self.scales = {name: scale for name, _, scale in shaped}

    def retype(self, column: str, new_type: ColumnType, scale: int | None = None) -> None:
        """Change a column's type (and scale), converting the values already stored
        (widening on append). A decimal type whose scale the stored values do not fit (see
        csvread.decimal_fits) makes the column text instead."""
        assert self.columns is not None
        old = (self.columns[check_column_name(column)], self.scales.get(column))
        self._loader.flush()  # rows streaming in (a COPY) hold the connection
        if new_type is ColumnType.DECIMAL and not self._stored_fit(column, *old, scale or 0):
            new_type, scale = ColumnType.TEXT, None
        new = (new_type, scale)
        if old == new:
            return
        self._loader.retype(column, old, new)
        self.columns[column] = new_type
        self.scales[column] = scale
        if self._write_order:
            self._send_write_order()

    def _stored_fit(
        self, column: str, old_type: ColumnType, old_scale: int | None, scale: int
    ) -> bool:
        """Whether the column's stored numbers are held by a decimal column of `scale`."""
        if old_type not in (ColumnType.INTEGER, ColumnType.DECIMAL):
            return True  # provisional text: this load's own values, which csvread checked
        low, high = self._loader.stored_range(column)
        if low is None:
            return True
        read = self.dialect.number_value
        return decimal_fits(
            str(read(low, old_type, old_scale)), str(read(high, old_type, old_scale)), scale
        )

    # -- rows --------------------------------------------------------------------------------

    def set_write_order(self, names: Sequence[str]) -> None:
        """The order of the values in each row given to write() (the file's column order)."""
        assert self.columns is not None
        unknown = [name for name in names if name not in self.columns]
        if unknown:
            raise ValueError(f"columns not in {self.table_name}: {unknown}")
        self._write_order = [check_column_name(name) for name in names]
        self._send_write_order()

    def _send_write_order(self) -> None:
        assert self.columns is not None
        kinds = [(self.columns[name], self.scales.get(name)) for name in self._write_order]
        self._loader.set_write_order(self._write_order, kinds)

    def write_columns(self, columns: list[list[str]]) -> None:
        """Append canonical cells held column by column (the cells of
        Converter.column_changes, or the batch's own where it has None);
        empty strings become NULL."""
        if not columns or not columns[0]:
            return
        self._loader.write_columns(columns, self.next_row_id)
        self.rows_written += len(columns[0])

    @property
    def stores_while_caller_reads(self) -> bool:
        """Whether rows written are stored while the caller goes on (see Loader)."""
        return self._loader.stores_while_caller_reads

    def take_back_rows(self) -> None:
        """Delete every row this session wrote, in its transaction (nothing was committed):
        its next row gets the first id again. For a writer that streamed rows out and then
        found it must write them otherwise (csvhub.appends), on a loader that stores while
        the caller reads: it writes into the table itself (MySQL's stages an append's rows
        in another table, which this would not reach)."""
        if not self.stores_while_caller_reads:
            raise NotImplementedError(f"{type(self._loader).__name__} cannot take rows back")
        if not self.rows_written:
            return
        self._loader.flush()  # rows streaming in (a COPY) hold the connection
        rows = table(check_table_name(self.table_name), column(ROW_ID))
        self._connection.execute(delete(rows).where(rows.c[ROW_ID] > self._max_row_id_before))
        self.rows_written = 0

    @property
    def sends_binary(self) -> bool:
        """Whether write_joined can be used at all (a loader with a binary path)."""
        return self._loader.sends_binary

    def write_joined(self, parts: Sequence[str | list[str]], count: int) -> bool:
        """Append `count` rows of canonical cells held as one '\\n'-joined string per column;
        False, with nothing written, where the loader cannot (a cell holding a line break, a
        value not in canonical form, no binary path). write_columns takes those."""
        if not self._loader.write_joined(parts, count, self.next_row_id):
            return False
        self.rows_written += count
        return True
