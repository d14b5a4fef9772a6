"""Loading an upload into MariaDB/MySQL: staged, then published in one atomic step.

MySQL's DDL is not transactional (CREATE, ALTER, RENAME commit what came before), so the
PostgreSQL way (create or widen the table and load, all in one transaction) cannot hold. The
rows go instead into a private stage table, and one step publishes them (docs/decisions.md):

- a new dataset: rows are loaded into `<table>__n`; publishing renames it to `<table>`;
- an append: rows are loaded into `<table>__n`; publishing copies them into `<table>` in the
  same InnoDB transaction that records the load in `csvhub_loads`;
- an append that widens a column: `<table>__w` is built with the new types from the rows of
  `<table>` (converted) and of the stage; publishing swaps it in with one
  `RENAME TABLE t TO t__o, t__w TO t`, atomic for readers.

A rename cannot share a transaction with the load's record, so the record is committed
together with a row of `csvhub_swaps` naming the stage; the rename follows, then the row is
deleted. Every load of a table first recovers it: a swap row left by a killed worker is carried
out (the load was committed), and stage tables without one are dropped (it was not). Loads of
one table are serialized by a named lock (GET_LOCK), which a killed worker's connection loses.
"""

from __future__ import annotations

from collections.abc import Sequence
from contextlib import ExitStack
from typing import Any, Self

from sqlalchemy import (
    Column,
    Engine,
    Integer,
    MetaData,
    String,
    Table,
    column,
    insert,
    select,
    table,
)
from sqlalchemy.engine import Connection

from csvhub.csvread import ColumnType
from csvhub.warehouse import mysql
from csvhub.warehouse.infile import InfileStream, infile_text
from csvhub.warehouse.schema import LOADS, ROW_ID, check_column_name, check_table_name

NEW_ROWS, WIDENED, OLD = "__n", "__w", "__o"
STAGES = (NEW_ROWS, WIDENED, OLD)
LOCK_SECONDS = 3600  # a load waits this long for the one before it on the same table

SWAPS = Table(
    "csvhub_swaps",
    MetaData(),
    Column("table_name", String(64), primary_key=True),
    Column("stage", String(64), nullable=False),
    Column("replaces", Integer, nullable=False),  # 1: the stage replaces an existing table
)


class MysqlLoadSession:
    """LoadSession's interface (see load.py) on MariaDB/MySQL."""

    sends_binary = False

    def __init__(self, engine: Engine, table_name: str, upload_id: str) -> None:
        self.engine = engine
        self.table_name = check_table_name(table_name)
        self.upload_id = upload_id
        self.columns: dict[str, ColumnType] | None = None
        self.scales: dict[str, int] = {}
        self.rows_written = 0
        self._published: dict[str, ColumnType] = {}  # the live table's columns (append)
        self._published_scales: dict[str, int] = {}
        self._write_order: list[str] = []
        self._stream: InfileStream | None = None
        self._stack = ExitStack()
        self._connection: Connection
        self._max_row_id_before = 0
        self._staged = False
        self._mariadb = True

    # -- session -------------------------------------------------------------------------

    def __enter__(self) -> Self:
        connection = self._stack.enter_context(self.engine.connect())
        self._connection = connection
        self._mariadb = bool(connection.dialect.is_mariadb)
        self._stack.callback(self._unlock)
        got = connection.exec_driver_sql(
            "SELECT GET_LOCK(%s, %s)", (self._lock_name, LOCK_SECONDS)
        ).scalar()
        if got != 1:
            raise TimeoutError(f"another load of {self.table_name} held its lock too long")
        LOADS.create(connection, checkfirst=True)
        SWAPS.create(connection, checkfirst=True)
        connection.commit()
        recover(connection, self.table_name)
        reflected = reflect(connection, self.table_name)
        if reflected is not None:
            self.columns = {name: kind for name, (kind, _) in reflected.items()}
            self.scales = {name: scale for name, (_, scale) in reflected.items()}
            self._published = dict(self.columns)
            self._published_scales = dict(self.scales)
            self._max_row_id_before = self._scalar(
                f"SELECT COALESCE(MAX({self._q(ROW_ID)}), 0) FROM {self._q(self.table_name)}"
            )
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        try:
            if self._stream is not None:
                self._stream.abort()
                self._stream = None
            if exc_type is not None:
                self._connection.rollback()
                self._drop_stages()
        finally:
            self._stack.__exit__(exc_type, exc, tb)

    @property
    def _lock_name(self) -> str:
        return f"csvhub:{self.table_name}"

    def _unlock(self) -> None:
        self._connection.rollback()
        self._connection.exec_driver_sql("SELECT RELEASE_LOCK(%s)", (self._lock_name,))

    def previous_result(self) -> dict | None:
        row = self._connection.execute(
            select(LOADS.c.result).where(LOADS.c.upload_id == self.upload_id)
        ).first()
        self._connection.rollback()
        return row[0] if row else None

    @property
    def next_row_id(self) -> int:
        return self._max_row_id_before + self.rows_written + 1

    def row_id_range(self) -> list[int] | None:
        if not self.rows_written:
            return None
        return [self._max_row_id_before + 1, self._max_row_id_before + self.rows_written]

    # -- shape ---------------------------------------------------------------------------

    def create(
        self, columns: Sequence[tuple[str, ColumnType]], scales: dict[str, int] | None = None
    ) -> None:
        self.columns = {check_column_name(name): kind for name, kind in columns}
        self.scales = dict(scales or {})
        self._create_table(self._stage, self.columns)
        self._staged = True

    def retype(self, column: str, new_type: ColumnType, scale: int | None = None) -> None:
        """Change a column's type (widening on append, or a provisional text column settled),
        converting the rows loaded so far; the live table changes only when publishing."""
        assert self.columns is not None
        old_type = self.columns[check_column_name(column)]
        new_scale = self.scales.get(column, 0) if scale is None else scale
        if old_type is new_type and new_scale == self.scales.get(column, 0):
            return
        self._end_stream()
        self._ensure_stage()
        old = dict(self.columns)
        self.columns[column] = new_type
        self.scales[column] = new_scale
        self._rebuild(self._stage, [(self._stage, old)], like=self._stage)

    # -- rows ----------------------------------------------------------------------------

    def set_write_order(self, names: Sequence[str]) -> None:
        assert self.columns is not None
        unknown = [name for name in names if name not in self.columns]
        if unknown:
            raise ValueError(f"columns not in {self.table_name}: {unknown}")
        self._end_stream()
        self._write_order = [check_column_name(name) for name in names]

    def write_columns(self, columns: list[list[str]]) -> None:
        if not columns or not columns[0]:
            return
        count = len(columns[0])
        first = self.next_row_id
        ids = list(map(str, range(first, first + count)))
        assert self.columns is not None
        cells = [
            _booleans(values) if self.columns[name] is ColumnType.BOOLEAN else values
            for name, values in zip(self._write_order, columns, strict=True)
        ]
        self._open_stream().write(infile_text([ids, *cells]))
        self.rows_written += count

    def write_joined(self, parts: Sequence[str | list[str]], count: int) -> bool:
        return False

    def finish(self, result: dict) -> None:
        """Publish the rows and record the upload (see the module's docstring)."""
        self._end_stream()
        record = insert(LOADS).values(
            upload_id=self.upload_id, table_name=self.table_name, result=result
        )
        if not self._published:
            self._ensure_stage()
            self._swap(self._stage, record, replaces=False)
        elif self._widened():
            sources = [(self.table_name, self._published)]
            if self._staged:
                sources.append((self._stage, dict(self.columns or {})))
            self._rebuild(self._name(WIDENED), sources, like=self.table_name)
            self._swap(self._name(WIDENED), record, replaces=True)
        else:
            self._append(record)

    # -- publishing ----------------------------------------------------------------------

    def _append(self, record: Any) -> None:
        if self._staged:
            names = ", ".join(self._q(name) for name in [ROW_ID, *(self.columns or {})])
            self._connection.exec_driver_sql(
                f"INSERT INTO {self._q(self.table_name)} ({names}) "
                f"SELECT {names} FROM {self._q(self._stage)}"
            )
        self._connection.execute(record)
        self._connection.commit()
        self._drop(self._stage)

    def _swap(self, stage: str, record: Any, *, replaces: bool) -> None:
        self._connection.execute(record)
        self._connection.execute(
            insert(SWAPS).values(table_name=self.table_name, stage=stage, replaces=int(replaces))
        )
        self._connection.commit()  # the load is done; the rename below only shows it
        recover(self._connection, self.table_name)

    def _widened(self) -> bool:
        assert self.columns is not None
        return any(
            self.columns[name] is not kind
            or self.scales.get(name, 0) != self._published_scales.get(name, 0)
            for name, kind in self._published.items()
        )

    # -- tables --------------------------------------------------------------------------

    @property
    def _stage(self) -> str:
        return self._name(NEW_ROWS)

    def _name(self, suffix: str) -> str:
        return self.table_name + suffix

    def _ensure_stage(self) -> None:
        """The stage of an append, made like the table, without its indexes (a load into
        an unindexed table is faster; the rows are indexed once, when published)."""
        if self._staged:
            return
        self._drop(self._stage)
        self._connection.exec_driver_sql(
            f"CREATE TABLE {self._q(self._stage)} LIKE {self._q(self.table_name)}"
        )
        mysql.drop_indexes(self._connection, self._stage)
        self._staged = True

    def _create_table(self, name: str, columns: dict[str, ColumnType]) -> None:
        definitions = [f"{self._q(ROW_ID)} BIGINT NOT NULL AUTO_INCREMENT PRIMARY KEY"] + [
            f"{self._q(column)} {self._type(column, kind)}" for column, kind in columns.items()
        ]
        self._connection.exec_driver_sql(
            f"CREATE TABLE {self._q(name)} ({', '.join(definitions)}) "
            f"ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE={mysql.text_collation(self._mariadb)}"
        )

    def _rebuild(
        self, target: str, sources: list[tuple[str, dict[str, ColumnType]]], *, like: str
    ) -> None:
        """`target` with the session's column types, filled with the rows of `sources` (each
        with the types its rows have now), converted; with the indexes of `like`."""
        assert self.columns is not None
        building = target + "_" if target == like else target
        self._drop(building)
        self._create_table(building, self.columns)
        table = sql_table(building, [ROW_ID, *self.columns])
        for source, types in sources:
            old = sql_table(source, [ROW_ID, *self.columns])
            converted = [old.c[ROW_ID]] + [
                mysql.conversion(old.c[name], types[name], kind, self.scales.get(name, 0))
                for name, kind in self.columns.items()
            ]
            self._connection.execute(insert(table).from_select(list(table.c), select(*converted)))
        self._connection.commit()
        mysql.copy_indexes(self._connection, like, building, self.columns)
        if building != target:
            self._drop(target)
            self._connection.exec_driver_sql(
                f"RENAME TABLE {self._q(building)} TO {self._q(target)}"
            )

    def _drop(self, name: str) -> None:
        self._connection.exec_driver_sql(f"DROP TABLE IF EXISTS {self._q(name)}")

    def _drop_stages(self) -> None:
        for suffix in (NEW_ROWS, WIDENED):
            self._drop(self._name(suffix))

    def _type(self, name: str, kind: ColumnType) -> str:
        return mysql.sql_type_text(kind, scale=self.scales.get(name, 0), mariadb=self._mariadb)

    def _q(self, identifier: str) -> str:
        return self.engine.dialect.identifier_preparer.quote_identifier(identifier)

    def _scalar(self, statement: str) -> Any:
        return self._connection.exec_driver_sql(statement).scalar()

    # -- the stream ----------------------------------------------------------------------

    def _open_stream(self) -> InfileStream:
        if self._stream is None:
            self._ensure_stage()
            driver = self._connection.connection.dbapi_connection
            columns = [self._q(name) for name in [ROW_ID, *self._write_order]]
            self._stream = InfileStream(driver, self._q(self._stage), columns)
        return self._stream

    def _end_stream(self) -> None:
        if self._stream is not None:
            stream, self._stream = self._stream, None
            stream.close()


_BOOLEAN_CELLS = {"true": "1", "false": "0", "": ""}


def _booleans(cells: list[str]) -> list[str]:
    """Canonical booleans as the 1/0 a BOOLEAN (TINYINT(1)) column takes."""
    return [_BOOLEAN_CELLS[cell] for cell in cells]


def sql_table(name: str, columns: Sequence[str]) -> Any:
    """A lightweight table clause (no types): enough to select and insert by name."""
    return table(name, *(column(check_column_name(c) if c != ROW_ID else c) for c in columns))


def reflect(connection: Connection, table_name: str) -> dict[str, tuple[ColumnType, int]] | None:
    """The table's columns with their csvhub type and scale, in table order; None if absent."""
    from sqlalchemy import inspect

    inspector = inspect(connection)
    if not inspector.has_table(check_table_name(table_name)):
        return None
    return {
        c["name"]: mysql.column_type_of(c["type"])
        for c in inspector.get_columns(table_name)
        if c["name"] != ROW_ID
    }


def recover(connection: Connection, table_name: str) -> None:
    """Finish a publish a killed worker committed but did not show; drop stray stages.

    Call with the table's load lock held."""
    quote = connection.dialect.identifier_preparer.quote_identifier
    existing = set(connection.exec_driver_sql("SHOW TABLES").scalars())
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
        connection.exec_driver_sql(f"DROP TABLE IF EXISTS {quote(table_name + suffix)}")
    if swap is not None:
        connection.execute(SWAPS.delete().where(SWAPS.c.table_name == table_name))
    connection.commit()
