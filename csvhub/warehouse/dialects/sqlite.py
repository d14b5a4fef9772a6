"""SQLite, the embedded warehouse: one file, WAL, one writer at a time.

Stored forms: dates and timestamps as canonical ISO text in UTC (timestamps keep the fraction
digits as written), booleans as 0/1, decimals as scaled integers (value * 10**scale, declared
`DECIMAL(19, scale)` so that the scale is read back by reflection: see scaled.py). Tables of
csvhub before exact decimals hold REAL decimal columns (no declared scale), still read as
such. Loads take the write lock up front (BEGIN IMMEDIATE), which also serializes loads of
one table.
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Callable, Iterable, Sequence
from decimal import Decimal
from pathlib import Path
from typing import Any

import sqlalchemy.exc
from sqlalchemy import (
    BigInteger,
    Column,
    Engine,
    Float,
    Index,
    Integer,
    Select,
    Text,
    and_,
    case,
    cast,
    create_engine,
    event,
    func,
    literal,
    not_,
    or_,
    types,
)
from sqlalchemy.dialects.sqlite import DECIMAL, REAL
from sqlalchemy.engine import URL, Connection
from sqlalchemy.schema import CreateIndex
from sqlalchemy.sql.elements import ColumnElement, UnaryExpression
from sqlalchemy.sql.operators import custom_op

from csvhub.schema import ColumnType
from csvhub.schema.values import timestamp_spellings, timestamp_text
from csvhub.warehouse.dialects import scaled
from csvhub.warehouse.dialects.base import (
    DECIMAL_PRECISION,
    Arithmetic,
    Loader,
    WarehouseDialect,
    indexes_restore,
    table_indexes_set_aside,
)
from csvhub.warehouse.schema import ROW_ID

BEGIN_OPTION = "csvhub_sqlite_begin"
# SQLite calls the deadline check every this many virtual machine steps (well under 1 ms).
_PROGRESS_STEPS = 10_000
# The WAL's size (bytes) a checkpoint truncates it back to (PRAGMA journal_size_limit).
JOURNAL_SIZE_LIMIT = 64 * 1024 * 1024
# How long the checkpoint after a load waits for readers of older snapshots (seconds).
CHECKPOINT_WAIT_SECONDS = 2


class SQLiteDialect(WarehouseDialect):
    name = "sqlite"
    # NULLS FIRST / NULLS LAST arrived in SQLite 3.30; older versions sort on `col IS NULL`.
    nulls_order_syntax = sqlite3.sqlite_version_info >= (3, 30, 0)

    # -- connections -----------------------------------------------------------------------

    def create_engine(self, url: URL) -> Engine:
        path = url.database
        if path and path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, connect_args={"timeout": 60, "check_same_thread": False})
        event.listen(engine, "connect", _on_connect)
        event.listen(engine, "checkin", _on_checkin)
        event.listen(engine, "begin", _on_begin)
        return engine

    def for_writes(self, connection: Connection) -> Connection:
        # The write lock up front: a deferred transaction that read first could be refused at
        # its first write instead of waiting its turn; this also serializes loads of a table.
        return connection.execution_options(**{BEGIN_OPTION: "BEGIN IMMEDIATE"})

    # -- read deadlines --------------------------------------------------------------------

    def start_deadline(
        self, connection: Connection, seconds: float, stop: Callable[[], bool]
    ) -> None:
        ends = time.monotonic() + seconds if seconds else None
        connection.connection.dbapi_connection.set_progress_handler(  # type: ignore[union-attr]
            lambda: stop() or (ends is not None and time.monotonic() > ends), _PROGRESS_STEPS
        )

    def cancel_statement(self, driver: Any) -> None:
        driver.interrupt()

    def end_deadline(self, driver: Any) -> None:
        # The connection goes back to a pool that loads use too.
        driver.set_progress_handler(None, _PROGRESS_STEPS)

    def is_stopped(self, error: BaseException) -> bool:
        return isinstance(error, sqlite3.OperationalError) and "interrupt" in str(error)

    # -- SQL types -------------------------------------------------------------------------

    def decimal_type(self, scale: int | None) -> types.TypeEngine[Any]:
        if scale is None:  # a column of a table made before exact decimals
            return REAL()
        # NUMERIC affinity keeps the integers written as integers; the declared scale is
        # what reflection reads back (a crash recovery knows the scale without Django).
        return DECIMAL(DECIMAL_PRECISION, scale)

    def query_type(
        self, column_type: ColumnType, scale: int | None = None
    ) -> types.TypeEngine[Any]:
        # Dates and timestamps are canonical text and booleans 0/1: bound already in stored
        # form (see stored), so no SQLAlchemy conversion runs on them.
        if column_type is ColumnType.DECIMAL:
            return Float() if scale is None else BigInteger()
        storage = {ColumnType.INTEGER: BigInteger, ColumnType.BOOLEAN: Integer}
        return storage.get(column_type, Text)()

    def row_id_column(self, *, primary_key: bool = True) -> Column[Any]:
        # INTEGER PRIMARY KEY is SQLite's rowid: free and ordered (always the key here).
        return Column(ROW_ID, Integer, primary_key=True)

    # -- values in queries -----------------------------------------------------------------

    def canonical_text(
        self, column: ColumnElement[Any], column_type: ColumnType, scale: int | None = None
    ) -> ColumnElement[Any]:
        if column_type is ColumnType.BOOLEAN:
            return case((column == 1, "true"), (column == 0, "false"))
        if column_type is ColumnType.INTEGER:
            return cast(column, Text)
        if column_type is ColumnType.DECIMAL and scale is not None:
            return scaled.scaled_text(column, scale)
        return column  # dates, timestamps and text are stored as canonical text; REAL: fixer

    def stored(self, column_type: ColumnType, scale: int | None, value: Any) -> Any:
        if column_type is ColumnType.DECIMAL:
            return float(value) if scale is None else scaled.unscaled(value, scale)
        if column_type is ColumnType.BOOLEAN:
            return int(bool(value))
        if column_type is ColumnType.DATE:
            return value.isoformat()
        if column_type is ColumnType.TIMESTAMP:
            return timestamp_text(value)
        return value

    def key_value(self, column_type: ColumnType, scale: int | None, text: str, value: Any) -> Any:
        if column_type is ColumnType.TIMESTAMP:
            return text  # the exact stored text: ORDER BY compares text, so the keyset must too
        return self.stored(column_type, scale, value)

    def comparison(
        self,
        op: str,
        column: ColumnElement[Any],
        column_type: ColumnType,
        scale: int | None,
        value: Any,
    ) -> ColumnElement[Any]:
        if column_type is ColumnType.TIMESTAMP:
            return _timestamp_condition(op, column, value)
        if column_type is ColumnType.DECIMAL and scale is not None:
            return scaled.scaled_comparison(op, column, scale, value)
        return super().comparison(op, column, column_type, scale, value)

    def row_fixer(
        self, kinds: Sequence[tuple[ColumnType, int | None] | None]
    ) -> Callable[[tuple[Any, ...]], tuple[Any, ...]] | None:
        if (ColumnType.DECIMAL, None) not in kinds:
            return None
        return _fix_reals

    # -- analysis --------------------------------------------------------------------------

    def group_key(self, column: ColumnElement[Any], column_type: ColumnType) -> ColumnElement[Any]:
        if column_type is not ColumnType.TIMESTAMP:
            return _unindexed(column)
        # Fractions are kept as written (`.5`, `.500`): group on the shortest spelling.
        trimmed = func.rtrim(func.rtrim(column, "0", type_=Text), ".", type_=Text)
        return case((func.instr(column, ".") > 0, trimmed), else_=column)

    def bucket_start(
        self, column: ColumnElement[Any], column_type: ColumnType, bucket: str
    ) -> ColumnElement[Any]:
        # Dates and timestamps are ISO text in UTC ('YYYY-MM-DD HH:MM:SS[.f]'): most bucket
        # starts are a prefix of that text; a week goes back to its Monday with date modifiers.
        def prefix(length: int) -> ColumnElement[Any]:
            return func.substr(column, 1, length, type_=Text)

        if bucket == "minute":
            return prefix(16).concat(":00")
        if bucket == "hour":
            return prefix(13).concat(":00:00")
        if bucket == "day":
            return prefix(10)
        if bucket == "week":
            return func.date(prefix(10), "-6 days", "weekday 1", type_=Text)
        return prefix(7).concat("-01")

    def sum_parts(
        self, column: ColumnElement[Any], column_type: ColumnType, scale: int | None
    ) -> list[ColumnElement[Any]]:
        if column_type is ColumnType.DECIMAL and scale is not None:
            return scaled.sum_parts(column)
        # Integers (an overflow past 64 bits raises), and REAL decimals (inexact).
        return [func.sum(column)]

    def sum_value(
        self, parts: Sequence[Any], column_type: ColumnType, scale: int | None
    ) -> int | Decimal | None:
        if column_type is not ColumnType.DECIMAL:
            return super().sum_value(parts, column_type, scale)
        if scale is None:
            return None if parts[0] is None else Decimal(repr(float(parts[0])))
        total = scaled.sum_of_parts(parts)
        return None if total is None else Decimal(total).scaleb(-scale)

    def sum_order_key(self, parts: Sequence[ColumnElement[Any]]) -> ColumnElement[Any]:
        return scaled.sum_order_key(parts) if len(parts) == 2 else parts[0]

    def number_value(self, value: Any, column_type: ColumnType, scale: int | None) -> Any:
        if isinstance(value, float):
            return Decimal(repr(value))
        if column_type is ColumnType.DECIMAL and scale is not None:
            return Decimal(value).scaleb(-scale)
        return super().number_value(value, column_type, scale)

    def average_sort_key(
        self, total: ColumnElement[Any], count: ColumnElement[Any]
    ) -> ColumnElement[Any]:
        return cast(total, Float) / count  # integer division otherwise

    def text_length(self, column: ColumnElement[Any]) -> ColumnElement[Any]:
        return func.length(column)  # characters for text; SQLite has no CHAR_LENGTH

    def table_bytes(self, connection: Connection, table_name: str) -> int | None:
        # dbstat (a compile-time option) sums the pages of the table and its indexes; a
        # build without it cannot tell one table's pages from another's.
        try:
            found = connection.exec_driver_sql(
                "SELECT SUM(pgsize) FROM dbstat WHERE name = ? OR name IN "
                "(SELECT name FROM sqlite_master WHERE tbl_name = ?)",
                (table_name, table_name),
            ).scalar()
        except sqlalchemy.exc.OperationalError:
            return None
        return int(found or 0)

    # -- bulk edits ------------------------------------------------------------------------

    def prepare_edit(self, connection: Connection) -> None:
        _add_decimal_functions(connection)

    def edit_arithmetic(
        self,
        column: ColumnElement[Any],
        column_type: ColumnType,
        scale: int | None,
        arithmetic: Arithmetic,
    ) -> ColumnElement[Any]:
        # Integers and scaled decimals in integer arithmetic (exact, unlike REAL's): the
        # factor as a fraction p/q, the sum at the column's scale, one rounding division.
        if column_type is ColumnType.DECIMAL and scale is None:
            return super().edit_arithmetic(column, column_type, scale, arithmetic)
        scale = scale or 0
        numerator, denominator = (arithmetic.multiply or Decimal(1)).as_integer_ratio()
        kept = scale if arithmetic.digits is None else min(arithmetic.digits, scale)
        step = 10 ** (scale - kept)
        value: ColumnElement[Any] = column.op("*")(literal(numerator))
        if arithmetic.add is not None:
            added = int((arithmetic.add * 10**scale).to_integral_value())
            value = value.op("+")(literal(added * denominator))
        return _divided_half_away(value, denominator * step).op("*")(literal(step))

    def from_canonical_text(
        self, canonical: ColumnElement[Any], column_type: ColumnType, scale: int | None
    ) -> ColumnElement[Any]:
        if column_type is ColumnType.INTEGER:
            return cast(canonical, Integer)
        if column_type is ColumnType.DECIMAL:
            return (
                cast(canonical, Float) if scale is None else func.csvhub_unscaled(canonical, scale)
            )
        if column_type is ColumnType.BOOLEAN:
            return case((canonical == "true", 1), (canonical == "false", 0))
        return canonical  # dates, timestamps and text are stored as canonical text

    # -- DDL and exports -------------------------------------------------------------------

    def create_index(self, engine: Engine, index: Index, current: str | None) -> None:
        with engine.begin() as connection:
            connection.execute(CreateIndex(index, if_not_exists=True))

    def streaming_cursor(
        self, connection: Connection, statement: Select[*tuple[Any, ...]], batch_rows: int
    ) -> Any:
        # SQLite's cursor steps lazily: rows are read as they are fetched.
        compiled = statement.compile(
            dialect=connection.dialect, compile_kwargs={"render_postcompile": True}
        )
        params = compiled.construct_params()
        cursor = connection.connection.dbapi_connection.cursor()  # type: ignore[union-attr]
        cursor.execute(compiled.string, [params[name] for name in compiled.positiontup or ()])
        return cursor

    def loader(self, connection: Connection, table_name: str) -> Loader:
        return SQLiteLoader(self, connection, table_name)


def _on_connect(dbapi_connection: sqlite3.Connection, _record: Any) -> None:
    # Take transactions into our own hands (pysqlite's implicit BEGIN defers locking), and
    # use WAL so readers keep reading while an upload loads.
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA busy_timeout=60000")
    # When a checkpoint restarts the WAL, cut it back to this size (bytes) rather than
    # keeping it as large as the biggest load ever written through it.
    cursor.execute(f"PRAGMA journal_size_limit={JOURNAL_SIZE_LIMIT}")
    cursor.close()


def _on_checkin(dbapi_connection: sqlite3.Connection | None, _record: Any) -> None:
    # Whatever path a read took, the connection a load gets next has no read deadline.
    if dbapi_connection is not None:
        dbapi_connection.set_progress_handler(None, _PROGRESS_STEPS)


def _on_begin(connection: Connection) -> None:
    # Loads ask for BEGIN IMMEDIATE (see for_writes); reads get a plain BEGIN.
    connection.exec_driver_sql(connection.get_execution_options().get(BEGIN_OPTION, "BEGIN"))


def _unindexed(column: ColumnElement[Any]) -> ColumnElement[Any]:
    """`+column`: the same value, which SQLite will not group in an index's order.

    Grouping by an indexed column, SQLite walks that index to have the groups in order and
    fetches every row at random from it: 1.72 s against 0.39 s for a scan and a sort at 1M
    rows. The unary plus (a no-op on every value) leaves it the scan, or a covering index;
    filters on the bare column still use the index."""
    return UnaryExpression(column, operator=custom_op("+"), type_=column.type)


def wal_checkpoint(path: str | None) -> None:
    """Copy a SQLite warehouse's WAL into the database file and truncate it.

    The truncation waits for readers of older snapshots, CHECKPOINT_WAIT_SECONDS at most, so
    a long export never holds up the load (a later checkpoint truncates then, down to
    JOURNAL_SIZE_LIMIT). Its own connection: the load's has gone back to the pool."""
    if not path or path == ":memory:":
        return
    connection = sqlite3.connect(path, timeout=CHECKPOINT_WAIT_SECONDS, isolation_level=None)
    try:
        connection.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchall()
    finally:
        connection.close()


def _timestamp_condition(op: str, column: ColumnElement[Any], value: Any) -> ColumnElement[Any]:
    """Timestamp comparisons on the stored text, whose fractions keep the digits as written
    (`.5` or `.500`). All spellings of one instant sort, as text, between its shortest and
    its longest spelling, and nothing else does; so each comparison is a text range."""
    if op in ("in", "notin"):
        equal = or_(*(_timestamp_condition("eq", column, item) for item in value))
        return equal if op == "in" else or_(not_(equal), column.is_(None))
    shortest, longest = timestamp_spellings(value)
    if op == "eq":
        return and_(column >= shortest, column <= longest)
    if op == "neq":
        return or_(column < shortest, column > longest, column.is_(None))
    if op == "lt":
        return column < shortest
    if op == "lte":
        return column <= longest
    if op == "gt":
        return column > longest
    return column >= shortest


def _fix_reals(row: tuple[Any, ...]) -> tuple[Any, ...]:
    return tuple(_real_text(v) if isinstance(v, float) else v for v in row)


def _real_text(value: float) -> str:
    """A REAL as plain decimal text that reads back to the same float (no exponent)."""
    text = repr(value)
    if "e" in text or "E" in text:
        text = format(Decimal(text), "f")
        if "." not in text:
            text += ".0"
    return text


class SQLiteLoader(Loader):
    """executemany of the cells into one INSERT: SQLite converts them (NULLIF, booleans)."""

    def __init__(self, dialect: WarehouseDialect, connection: Connection, table_name: str) -> None:
        super().__init__(dialect, connection, table_name)
        self._insert: str | None = None
        # Per written column: the scale its cells are turned into integers at, or None.
        self._scales: list[int | None] = []

    def create(self, columns: Sequence[tuple[str, ColumnType, int | None]]) -> None:
        from csvhub.warehouse.schema import dataset_table

        dataset_table(self.table_name, columns, self.dialect).create(self.connection)

    def published(self) -> None:
        # A load writes the whole table into the WAL (958 MB after 10M rows), and SQLite's
        # automatic checkpoints copy it back but keep the file at its largest: twice the disk.
        wal_checkpoint(self.connection.engine.url.database)

    def retype(
        self,
        column: str,
        old: tuple[ColumnType, int | None],
        new: tuple[ColumnType, int | None],
    ) -> None:
        # SQLite cannot change a column's type: add a new column, convert into it, drop the old.
        q = self.quote
        table, temporary = q(self.table_name), q(f"{column}__retype")
        declared = self.dialect.sql_type(*new).compile(dialect=self.connection.dialect)
        execute = self.connection.exec_driver_sql
        _add_decimal_functions(self.connection)
        # SQLite refuses to drop an indexed column: the indexes step aside and come back after.
        saved = indexes_set_aside(self.connection, self.table_name)
        execute(f"ALTER TABLE {table} ADD COLUMN {temporary} {declared}")
        execute(f"UPDATE {table} SET {temporary} = {_conversion(q(column), old, new)}")
        execute(f"ALTER TABLE {table} DROP COLUMN {q(column)}")
        execute(f"ALTER TABLE {table} RENAME COLUMN {temporary} TO {q(column)}")
        indexes_restore(self.connection, saved)
        self._insert = None

    def set_write_order(
        self, names: Sequence[str], kinds: Sequence[tuple[ColumnType, int | None]]
    ) -> None:
        values = [_insert_value(column_type, scale) for column_type, scale in kinds]
        self._scales = [
            scale if column_type is ColumnType.DECIMAL else None for column_type, scale in kinds
        ]
        q = self.quote
        self._insert = (
            f"INSERT INTO {q(self.table_name)} ({q(ROW_ID)}, {', '.join(q(n) for n in names)}) "
            f"VALUES (?, {', '.join(values)})"
        )

    def write_columns(self, columns: list[list[str]], first_row_id: int) -> None:
        # Row ids given here, as the load session numbers them: SQLite's own rowid would count
        # on from the table's largest, giving again the ids of rows an edit deleted.
        cells = [
            column if scale is None else scaled.scaled_cells(column, scale)
            for column, scale in zip(columns, self._scales, strict=True)
        ]
        ids = range(first_row_id, first_row_id + len(columns[0]))
        self._write(zip(ids, *cells, strict=True))

    def _write(self, rows: Iterable[Sequence[object]]) -> None:
        assert self._insert is not None, "set_write_order comes first"
        raw: sqlite3.Connection = self.connection.connection.driver_connection  # type: ignore
        raw.executemany(self._insert, rows)

    def row_id_range(self, before: int, count: int) -> tuple[int, int]:
        return before + 1, before + count  # numbered here, one after the other


def _insert_value(column_type: ColumnType, scale: int | None) -> str:
    """The INSERT's value for one cell of canonical text ('' is NULL)."""
    if column_type is ColumnType.BOOLEAN:
        return "CASE ? WHEN 'true' THEN 1 WHEN 'false' THEN 0 END"
    if column_type is ColumnType.DECIMAL and scale is not None:
        return "CAST(NULLIF(?, '') AS INTEGER)"  # the digits of value * 10**scale
    return "NULLIF(?, '')"


def _add_decimal_functions(connection: Connection) -> None:
    """SQL functions converting between canonical decimal text and scaled integers, exactly
    (SQLite's own arithmetic would go through REAL), for retypes."""
    raw: sqlite3.Connection = connection.connection.driver_connection  # type: ignore
    raw.create_function("csvhub_unscaled", 2, _unscaled_or_null, deterministic=True)
    raw.create_function("csvhub_scaled_text", 2, _scaled_text_or_null, deterministic=True)


def _unscaled_or_null(value: Any, scale: int) -> int | None:
    if value is None or value == "":
        return None
    return scaled.unscaled(repr(value) if isinstance(value, float) else value, scale)


def _scaled_text_or_null(value: int | None, scale: int) -> str | None:
    return None if value is None else format(Decimal(value).scaleb(-scale), "f")


def _conversion(
    column: str, old: tuple[ColumnType, int | None], new: tuple[ColumnType, int | None]
) -> str:
    """SQL turning a stored value of type `old` into type `new` (widening, or provisional text):
    dates and timestamps are canonical ISO text, booleans 0/1, decimals scaled integers."""
    (old_type, old_scale), (new_type, new_scale) = old, new
    if new_type is ColumnType.DECIMAL and new_scale is not None:
        if old_type is ColumnType.DECIMAL and old_scale is not None:
            return f"{column} * {10 ** (new_scale - old_scale)}"
        if old_type is ColumnType.INTEGER:
            return f"{column} * {10**new_scale}"
        return f"csvhub_unscaled({column}, {new_scale})"  # text, or REAL of an older table
    if old_type is ColumnType.DECIMAL and old_scale is not None and new_type is ColumnType.TEXT:
        return f"csvhub_scaled_text({column}, {old_scale})"
    return _plain_conversion(column, old_type, new_type)


def _plain_conversion(column: str, old: ColumnType, new: ColumnType) -> str:
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


# SQLite cannot drop a column an index names, and a retype replaces the column:
# indexes_set_aside lists them with this.
_INDEXES = (
    "SELECT name, sql FROM sqlite_master "
    "WHERE type = 'index' AND tbl_name = :table_name AND sql IS NOT NULL"
)


def indexes_set_aside(connection: Connection, table_name: str) -> list[str]:
    return table_indexes_set_aside(connection, table_name, listing=_INDEXES)


def _divided_half_away(value: ColumnElement[Any], divisor: int) -> ColumnElement[Any]:
    """value / divisor in integers, rounded half away from zero (SQLite's `/` truncates)."""
    if divisor == 1:
        return value
    twice, unit = value.op("*")(literal(2)), literal(divisor)
    up = twice.op("+")(unit).op("/")(literal(2 * divisor))
    down = literal(0).op("-")(literal(0).op("-")(twice).op("+")(unit).op("/")(literal(2 * divisor)))
    return case((value >= 0, up), else_=down)
