"""MariaDB/MySQL's Loader: rows staged by LOAD DATA, then published in one atomic step.

MySQL's DDL is not transactional (CREATE, ALTER, RENAME commit what came before), so the
PostgreSQL way (create or widen the table and load, all in one transaction) cannot hold. The
rows go instead into a private stage table, `<table>__n`, and one step publishes them
(docs/decisions.md, "MariaDB/MySQL: staged loads"):

- a new dataset: publishing renames the stage to `<table>`;
- an append: publishing copies the stage's rows into `<table>` inside the InnoDB transaction
  that also records the load in `csvhub_loads` (LoadSession's commit);
- an append that widens a column: `<table>__w` is built with the new types from the rows of
  `<table>` (converted) and of the stage, with the table's indexes, and swapped in with one
  `RENAME TABLE t TO t__o, t__w TO t`, atomic for readers.

A rename cannot share the load's transaction, so the load's commit holds a row of
`csvhub_swaps` naming the stage; the rename follows (`published`), then the row is deleted.
Every lock of a table first recovers it (`recover`): a swap row left by a killed worker is
carried out (its load was committed), and stages without one are dropped (it was not).
"""

from __future__ import annotations

from abc import abstractmethod
from collections.abc import Sequence
from contextlib import suppress
from typing import Any

from sqlalchemy import Column, Integer, MetaData, String, Table, column, insert, select, table
from sqlalchemy.engine import Connection
from sqlalchemy.sql.elements import ColumnElement

from csvhub.schema import ColumnType
from csvhub.warehouse.dialects.base import Loader, WarehouseDialect
from csvhub.warehouse.dialects.mysql_infile import InfileStream, infile_text
from csvhub.warehouse.schema import ROW_ID

NEW_ROWS, WIDENED, OLD = "__n", "__w", "__o"
STAGES = (NEW_ROWS, WIDENED, OLD)

SWAPS = Table(
    "csvhub_swaps",
    MetaData(),
    Column("table_name", String(64), primary_key=True),
    Column("stage", String(80), nullable=False),
    Column("replaces", Integer, nullable=False),  # 1: the stage replaces an existing table
)

Shape = dict[str, tuple[ColumnType, int | None]]
# A LONGTEXT column is indexed on its first characters: enough to find and range-scan equal
# and ordered values (rows are then compared in full), within InnoDB's 3072-byte keys.
TEXT_INDEX_PREFIX = 255


class MySQLTables(WarehouseDialect):
    """What the loader asks of the MariaDB/MySQL dialect beyond every dialect's interface.
    mysql.MySQLDialect implements it; that module imports this one, so the loader names this
    base rather than it."""

    @property
    @abstractmethod
    def text_collation(self) -> str:
        """The collation text columns are declared with (code point order)."""

    @abstractmethod
    def type_text(self, column_type: ColumnType, scale: int | None) -> str:
        """A column type as written in CREATE TABLE."""


class MySQLLoader(Loader):
    dialect: MySQLTables

    def __init__(self, dialect: MySQLTables, connection: Connection, table_name: str) -> None:
        super().__init__(dialect, connection, table_name)
        from csvhub.warehouse.schema import reflect_columns

        self._live: Shape | None = reflect_columns(connection, table_name, dialect)
        self._shape: Shape = dict(self._live or {})
        self._staged = False
        self._names: list[str] = []
        self._booleans: list[bool] = []
        self._stream: InfileStream | None = None

    # -- shape -------------------------------------------------------------------------------

    def create(self, columns: Sequence[tuple[str, ColumnType, int | None]]) -> None:
        self._shape = {name: (kind, scale) for name, kind, scale in columns}
        self._create_table(self._stage)
        self._staged = True

    def retype(
        self,
        column: str,
        old: tuple[ColumnType, int | None],
        new: tuple[ColumnType, int | None],
    ) -> None:
        # The rows loaded so far are converted in the stage; the table changes when published.
        self.flush()
        self._ensure_stage()
        before = dict(self._shape)
        self._shape[column] = new
        self._rebuild(self._stage, [(self._stage, before)], like=self._stage)

    def set_write_order(
        self, names: Sequence[str], kinds: Sequence[tuple[ColumnType, int | None]]
    ) -> None:
        self.flush()
        self._names = list(names)
        self._booleans = [kind is ColumnType.BOOLEAN for kind, _ in kinds]

    # -- rows --------------------------------------------------------------------------------

    def write_columns(self, columns: list[list[str]], first_row_id: int) -> None:
        count = len(columns[0])
        ids = list(map(str, range(first_row_id, first_row_id + count)))
        cells = [
            _booleans(values) if boolean else values
            for values, boolean in zip(columns, self._booleans, strict=True)
        ]
        self._open_stream().write(infile_text([ids, *cells]))

    def flush(self, error: BaseException | None = None) -> None:
        stream = self._stream
        if error is None:
            if stream is not None:
                stream.close()  # kept if this fails: flush(error) must see it still running
                self._stream = None
            return
        self._stream = None
        if stream is not None:
            try:
                stream.abort()
            finally:  # a second stop may land in abort()'s own wait
                running = stream.running
                if running:
                    self._discard_connection()
            if running:
                return
        # The DROPs below commit: roll back first, so nothing of the failed load is kept.
        self.connection.connection.dbapi_connection.rollback()  # type: ignore[union-attr]
        for suffix in (NEW_ROWS, WIDENED):
            self._drop(self.table_name + suffix)

    def _discard_connection(self) -> None:
        """For a statement still running on the connection: a stop landed while close() or
        abort() waited for it, and its thread still talks on a connection that takes one
        command at a time. The statement is killed from a connection of its own (else closing
        this one waits for it, and the server keeps the table's lock), and this one is
        discarded: the server rolls the load back; the table's next lock drops the stage."""
        with suppress(Exception):  # best effort: the discard alone ends the session too
            self.dialect.cancel_statement(self.connection.connection.dbapi_connection)
        self.connection.invalidate()

    def finish(self, last_row_id: int) -> None:
        self.flush()
        if self._live is None:
            self._ensure_stage()
            self._record_swap(self._stage, replaces=False)
        elif self._shape != self._live:
            sources = [(self.table_name, self._live)]
            if self._staged:
                sources.append((self._stage, self._shape))
            self._rebuild(self.table_name + WIDENED, sources, like=self.table_name)
            self._record_swap(self.table_name + WIDENED, replaces=True)
        elif self._staged:
            # In the load's transaction: the rows appear with its record, at its commit.
            names = [ROW_ID, *self._shape]
            live, stage = _table(self.table_name, names), _table(self._stage, names)
            self.connection.execute(insert(live).from_select(list(live.c), select(*stage.c)))

    def committed(self) -> None:
        # The load's connection still holds the table's named lock (its check-in lets it go):
        # recovering carries out the swap the commit recorded, before the count is published
        # (readers and alarm evaluation then find the rows the count says).
        recover(self.connection, self.table_name)

    def stored_range(self, column: str) -> tuple[Any, Any]:
        # The rows are in the table (if published before) and in the stage (this load's).
        q = self.quote
        tables = [
            name
            for name, there in ((self.table_name, self._live), (self._stage, self._staged))
            if there is not None and there is not False
        ]
        values = [
            self.connection.exec_driver_sql(
                f"SELECT MIN({q(column)}), MAX({q(column)}) FROM {q(name)}"
            ).one()
            for name in tables
        ]
        lows = [low for low, _ in values if low is not None]
        highs = [high for _, high in values if high is not None]
        return (min(lows) if lows else None, max(highs) if highs else None)

    def row_id_range(self, before: int, count: int) -> tuple[int, int]:
        return before + 1, before + count  # numbered here, one after the other

    # -- tables ------------------------------------------------------------------------------

    @property
    def _stage(self) -> str:
        return self.table_name + NEW_ROWS

    def _record_swap(self, stage: str, *, replaces: bool) -> None:
        self.connection.execute(
            insert(SWAPS).values(table_name=self.table_name, stage=stage, replaces=int(replaces))
        )

    def _ensure_stage(self) -> None:
        """The stage of an append, made like the table but without its indexes (a load into
        an unindexed table is faster; rows are indexed once, when published)."""
        if self._staged:
            return
        self._drop(self._stage)
        self._create_table(self._stage)
        self._staged = True

    def _create_table(self, name: str) -> None:
        q = self.quote
        definitions = [f"{q(ROW_ID)} BIGINT NOT NULL AUTO_INCREMENT PRIMARY KEY"] + [
            f"{q(column)} {self.dialect.type_text(kind, scale)}"
            for column, (kind, scale) in self._shape.items()
        ]
        self.connection.exec_driver_sql(
            f"CREATE TABLE {q(name)} ({', '.join(definitions)}) "
            f"ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE={self.dialect.text_collation}"
        )

    def _rebuild(self, target: str, sources: list[tuple[str, Shape]], *, like: str) -> None:
        """`target` with the current shape, filled with the rows of `sources` (each with the
        shape its rows have now), converted; then given the indexes of `like`."""
        building = target + "_" if target == like else target
        self._drop(building)
        self._create_table(building)
        names = [ROW_ID, *self._shape]
        into = _table(building, names)
        for source, shape in sources:
            old = _table(source, names)
            converted = [old.c[ROW_ID]] + [
                _conversion(self.dialect, old.c[name], shape[name], new)
                for name, new in self._shape.items()
            ]
            self.connection.execute(insert(into).from_select(list(into.c), select(*converted)))
        _commit(self.connection)
        _copy_indexes(self.connection, like, building, self._shape)
        if building != target:
            self._drop(target)
            self.connection.exec_driver_sql(
                f"RENAME TABLE {self.quote(building)} TO {self.quote(target)}"
            )

    def _drop(self, name: str) -> None:
        self.connection.exec_driver_sql(f"DROP TABLE IF EXISTS {self.quote(name)}")

    # -- the stream --------------------------------------------------------------------------

    def _open_stream(self) -> InfileStream:
        if self._stream is None:
            self._ensure_stage()
            driver = self.connection.connection.dbapi_connection
            columns = [self.quote(name) for name in [ROW_ID, *self._names]]
            self._stream = InfileStream(driver, self.quote(self._stage), columns)
        return self._stream


_BOOLEAN_CELLS = {"true": "1", "false": "0", "": ""}


def _booleans(cells: list[str]) -> list[str]:
    """Canonical booleans as the 1/0 a BOOLEAN (TINYINT(1)) column takes."""
    return [_BOOLEAN_CELLS[cell] for cell in cells]


def _table(name: str, columns: Sequence[str]) -> Any:
    """A lightweight table clause (no types): enough to select and insert by name."""
    return table(name, *(column(c) for c in columns))


def _conversion(
    dialect: MySQLTables,
    value: ColumnElement[Any],
    old: tuple[ColumnType, int | None],
    new: tuple[ColumnType, int | None],
) -> ColumnElement[Any]:
    """SQL turning a stored value of type `old` into type `new`; strict mode makes a value
    that does not convert an error, never a silent zero."""
    from sqlalchemy import case, cast

    if old == new:
        return value
    (old_type, old_scale), (new_type, new_scale) = old, new
    if new_type is ColumnType.TEXT:
        return dialect.canonical_text(value, old_type, old_scale)
    if old_type is ColumnType.TEXT and new_type is ColumnType.BOOLEAN:
        return case((value == "true", 1), (value == "false", 0))
    return cast(value, dialect.sql_type(new_type, new_scale))


def _copy_indexes(connection: Connection, source: str, target: str, shape: Shape) -> None:
    """The secondary indexes of `source` made again on `target`, for its column types."""
    quote = connection.dialect.identifier_preparer.quote_identifier
    for name, columns in _table_indexes(connection, source).items():
        parts = ", ".join(
            f"{quote(c)}({TEXT_INDEX_PREFIX})"
            if c in shape and shape[c][0] is ColumnType.TEXT
            else quote(c)
            for c in columns
        )
        connection.exec_driver_sql(f"CREATE INDEX {quote(name)} ON {quote(target)} ({parts})")


def _table_indexes(connection: Connection, table_name: str) -> dict[str, list[str]]:
    """Secondary indexes of a table: name → its columns in order (the primary key left out)."""
    rows = connection.exec_driver_sql(
        "SELECT index_name, column_name FROM information_schema.statistics "
        "WHERE table_schema = DATABASE() AND table_name = %s AND index_name <> 'PRIMARY' "
        "ORDER BY index_name, seq_in_index",
        (table_name,),
    )
    indexes: dict[str, list[str]] = {}
    for name, column_name in rows:
        indexes.setdefault(name, []).append(column_name)
    return indexes


def recover(connection: Connection, table_name: str) -> None:
    """Carry out a publish a worker committed but did not show; drop stray stages.

    Called with the table's lock held (MySQLDialect.lock_table)."""
    from csvhub.warehouse.schema import check_table_name

    quote = connection.dialect.identifier_preparer.quote_identifier
    check_table_name(table_name)
    SWAPS.create(connection, checkfirst=True)
    existing: set[str] = set(connection.exec_driver_sql("SHOW TABLES").scalars())
    swap = connection.execute(select(SWAPS).where(SWAPS.c.table_name == table_name)).first()
    if swap is not None and swap.stage in existing:
        if swap.replaces and table_name in existing:
            connection.exec_driver_sql(
                f"RENAME TABLE {quote(table_name)} TO {quote(table_name + OLD)}, "
                f"{quote(swap.stage)} TO {quote(table_name)}"
            )
        else:
            connection.exec_driver_sql(f"RENAME TABLE {quote(swap.stage)} TO {quote(table_name)}")
    for suffix in STAGES:
        if table_name + suffix in existing or suffix == OLD:
            connection.exec_driver_sql(f"DROP TABLE IF EXISTS {quote(table_name + suffix)}")
    if swap is not None:
        connection.execute(SWAPS.delete().where(SWAPS.c.table_name == table_name))
    _commit(connection)


def _commit(connection: Connection) -> None:
    """Commit on the server now, inside the session's transaction block (whose own commit
    at its end then finds nothing left): what DDL does anyway here."""
    connection.connection.dbapi_connection.commit()  # type: ignore[union-attr]
