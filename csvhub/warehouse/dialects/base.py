"""What a warehouse engine must provide: the `WarehouseDialect` strategy and its `Loader`.

Everything that differs between engines lives in one subclass per engine (sqlite.py,
postgresql.py); the rest of the warehouse package asks the dialect and never names an engine.
Adding an engine is one more module here with a `WarehouseDialect` and a `Loader` subclass,
registered in `dialects/__init__.py` under SQLAlchemy's backend name.

The base class holds the behaviour standard SQL gives (NULLS FIRST/LAST, plain comparisons,
values bound as they are); an engine overrides what it does otherwise.
"""

from __future__ import annotations

import contextlib
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator, Sequence
from contextvars import ContextVar
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, ClassVar

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    Date,
    DateTime,
    Engine,
    Index,
    Numeric,
    Select,
    Table,
    Text,
    cast,
    func,
    literal,
    or_,
    select,
    text,
    types,
)
from sqlalchemy.engine import URL, Connection
from sqlalchemy.sql.elements import ColumnElement

from csvhub.schema import ColumnType


@dataclass(frozen=True)
class Arithmetic:
    """`value * multiply + add`, rounded to `digits` places (None: as the column keeps)."""

    multiply: Decimal | None = None
    add: Decimal | None = None
    digits: int | None = None


@dataclass(frozen=True)
class BucketSteps:
    """A time series in two GROUP BYs: the rows by `fine`, a cheap key no coarser than the
    bucket (one bucket holds all the rows of a fine key), then those few groups by the
    bucket's start, `start(fine key)`, their partial metrics combined (counts and sums
    added, extremes of extremes: exact)."""

    fine: ColumnElement[Any]
    start: Callable[[ColumnElement[Any]], ColumnElement[Any]]


# The precision of every decimal column: a decimal column holds values whose digits at the
# column's scale fit a signed 64-bit integer (docs/decisions.md, "Exact decimals").
DECIMAL_PRECISION = 19


class WarehouseDialect(ABC):
    """One warehouse engine: connections, SQL types, text forms, comparisons, loading, DDL."""

    # SQLAlchemy's backend name (`engine.dialect.name`), which chooses the class.
    name: ClassVar[str]
    # Whether CREATE/ALTER TABLE roll back with the load's transaction. An engine without it
    # (MySQL) must load into a staging table in its Loader so a failed load leaves nothing.
    transactional_ddl: ClassVar[bool] = True
    # Whether ORDER BY accepts NULLS FIRST / NULLS LAST.
    nulls_order_syntax: ClassVar[bool] = True
    # Whether a load may take the place of a table atomically (replace_table, mode=replace).
    replaces_atomically: ClassVar[bool] = True
    # Whether only one process may open the warehouse (an embedded engine that locks its
    # file): no Celery workers, one web worker process (dialects.check_processes).
    single_process: ClassVar[bool] = False
    # Whether a keyset's row-value comparison `(a, _row_id) > (x, r)` also gets the plain
    # `a >= x` it implies: an engine that pushes only simple comparisons into its table scan
    # then drops the rows before the position there, not one by one after the scan.
    keyset_leading_range: ClassVar[bool] = False
    # How many pages wide a window of row ids is (0: none). A page in row-id order without
    # filters is then read first in the row ids after the cursor (rows numbered one by one
    # fill it): an engine whose ORDER BY ... LIMIT is a top-N over the whole table sorts the
    # window's rows instead, and reads the rows past it only when deletions left fewer than a
    # page in it (warehouse.query.QueryBuilder.window_runs).
    row_id_window: ClassVar[int] = 0
    # Whether a statement can find a row again by its physical address (row_address): a bulk
    # edit then journals and changes the rows in one pass (warehouse.edits).
    row_addresses: ClassVar[bool] = False

    # -- connections -----------------------------------------------------------------------

    @abstractmethod
    def create_engine(self, url: URL) -> Engine:
        """The pooled engine for a warehouse URL, with the engine's session settings."""

    def for_writes(self, connection: Connection) -> Connection:
        """The connection as loads and drops use it (e.g. a transaction that locks first)."""
        return connection

    def lock_table(self, connection: Connection, table_name: str) -> None:
        """Serialize writers of one table until the transaction ends (a no-op where the
        transaction itself takes the database's write lock)."""
        return

    def large_expressions(self, connection: Connection) -> None:
        """Prepare the connection's transaction for statements with very large expressions
        (a bin search over hundreds of edges); a no-op where nothing compiles them."""
        return

    def table_columns(
        self, connection: Connection, table_name: str
    ) -> dict[str, tuple[ColumnType, int | None]] | None:
        """A table's columns but the row id, as (type, scale) in table order; None when it
        does not exist. SQLAlchemy's reflection here; an engine whose catalog answers in one
        query says so (every load asks, so a JSON append of one row pays it each time)."""
        from csvhub.warehouse.schema import reflect_columns

        return reflect_columns(connection, table_name, self)

    # -- read deadlines --------------------------------------------------------------------

    @abstractmethod
    def start_deadline(
        self, connection: Connection, seconds: float, stop: Callable[[], bool]
    ) -> None:
        """Stop statements of this connection after `seconds` (0: never), or once `stop()`
        says so, for as long as the deadline lasts."""

    @abstractmethod
    def cancel_statement(self, driver: Any) -> None:
        """Stop the statement the driver connection runs; called from another thread."""

    def end_deadline(self, driver: Any) -> None:
        """Undo start_deadline before the connection goes back to the pool."""
        return

    def statement_alone(self, driver: Any) -> contextlib.AbstractContextManager[None]:
        """Around the one statement of a read run on the driver (query.DirectRead): the
        engine may run it outside a transaction block when that answers the same."""
        return contextlib.nullcontext()

    @abstractmethod
    def is_stopped(self, error: BaseException) -> bool:
        """Whether a driver error is a deadline or a cancel stopping a statement."""

    # -- SQL types -------------------------------------------------------------------------

    def sql_type(self, column_type: ColumnType, scale: int | None = None) -> types.TypeEngine[Any]:
        """The declared type of a dataset column (DDL, and what reflection reads back)."""
        if column_type is ColumnType.INTEGER:
            return BigInteger()
        if column_type is ColumnType.DECIMAL:
            return self.decimal_type(scale)
        if column_type is ColumnType.BOOLEAN:
            return Boolean(create_constraint=False)
        if column_type is ColumnType.DATE:
            return Date()
        if column_type is ColumnType.TIMESTAMP:
            return DateTime(timezone=True)
        return Text()

    def column_type(self, sql: types.TypeEngine[Any]) -> ColumnType:
        """The csvhub type of a reflected column (an engine whose declared types reflect
        as another kind, such as MySQL's BOOLEAN as TINYINT(1), says so here)."""
        from csvhub.warehouse.schema import column_type_of

        return column_type_of(sql)

    @abstractmethod
    def decimal_type(self, scale: int | None) -> types.TypeEngine[Any]:
        """The declared type of a decimal column of this scale."""

    def query_type(
        self, column_type: ColumnType, scale: int | None = None
    ) -> types.TypeEngine[Any]:
        """The type row queries give the column: it binds and reads the stored form as is."""
        return self.sql_type(column_type, scale)

    @abstractmethod
    def row_id_column(self, *, primary_key: bool = True) -> Column[Any]:
        """The hidden `_row_id` column: the tiebreaker of every order."""

    # -- values in queries -----------------------------------------------------------------

    @abstractmethod
    def canonical_text(
        self, column: ColumnElement[Any], column_type: ColumnType, scale: int | None = None
    ) -> ColumnElement[Any]:
        """The column as csvhub's canonical text (query.py's module docstring)."""

    def compared(self, column: ColumnElement[Any], column_type: ColumnType) -> ColumnElement[Any]:
        """The column as comparisons and sorts see it: text in code point order."""
        return column

    def stored(self, column_type: ColumnType, scale: int | None, value: Any) -> Any:
        """A typed value (int, Decimal, bool, date, aware datetime, str) as it is bound."""
        return value

    def key_value(self, column_type: ColumnType, scale: int | None, text: str, value: Any) -> Any:
        """A keyset's value, given as its canonical `text` and parsed `value`, as bound."""
        return self.stored(column_type, scale, value)

    def comparison(
        self,
        op: str,
        column: ColumnElement[Any],
        column_type: ColumnType,
        scale: int | None,
        value: Any,
    ) -> ColumnElement[Any]:
        """`column op value` for eq, neq, lt, gt, lte, gte, in and notin. Empty cells match
        neq and notin only ("everything but v" includes them)."""
        if op in ("in", "notin"):
            # One bound parameter per item (not an "expanding" one), so that an export can
            # hand each to the server as a setting like any other value.
            items = [bound(column, self.stored(column_type, scale, item)) for item in value]
            if op == "in":
                return column.in_(items)
            return or_(column.not_in(items), column.is_(None))
        return plain_comparison(op, column, bound(column, self.stored(column_type, scale, value)))

    def order(
        self, column: ColumnElement[Any], *, descending: bool, nulls_first: bool
    ) -> list[ColumnElement[Any]]:
        """ORDER BY clauses for one key, with its NULLs first or last."""
        ordered = column.desc() if descending else column.asc()
        if self.nulls_order_syntax:
            return [ordered.nulls_first() if nulls_first else ordered.nulls_last()]
        is_null = column.is_(None)
        return [is_null.desc() if nulls_first else is_null.asc(), ordered]

    def page_select(
        self,
        table: Table,
        columns: Sequence[ColumnElement[Any]],
        where: Sequence[ColumnElement[Any]],
        order: Sequence[ColumnElement[Any]],
        *,
        limit: int,
        offset: int = 0,
        bounded: bool = False,
    ) -> Select[*tuple[Any, ...]]:
        """A page's SELECT: `columns` (canonical text) of the rows of `table` matching `where`,
        in `order`, `limit` of them after `offset`; `bounded`: `where` is a window of row
        ids (row_id_window pages), which an engine may sort whole rather than run a top-N on
        (the rows past `limit` are dropped by the caller)."""
        statement = select(*columns).where(*where).order_by(*order).limit(limit)
        return statement.offset(offset) if offset else statement

    def row_fixer(
        self, kinds: Sequence[tuple[ColumnType, int | None] | None]
    ) -> Callable[[tuple[Any, ...]], tuple[Any, ...]] | None:
        """A function finishing the canonical text of rows SQL could not format, given each
        position's (type, scale) (None: the row id); None when every value comes out finished."""
        return None

    # -- analysis --------------------------------------------------------------------------

    def group_key(self, column: ColumnElement[Any], column_type: ColumnType) -> ColumnElement[Any]:
        """The column as GROUP BY sees it: equal values (of any spelling) in one group."""
        return column

    @abstractmethod
    def bucket_start(
        self, column: ColumnElement[Any], column_type: ColumnType, bucket: str
    ) -> ColumnElement[Any]:
        """The UTC start of the minute, hour, day, week (Monday) or month holding the value."""

    def bucket_steps(
        self, column: ColumnElement[Any], column_type: ColumnType, bucket: str
    ) -> BucketSteps | None:
        """How to bucket in two GROUP BYs, where the bucket's start costs much more per row
        than a finer key (None: one GROUP BY of `bucket_start`)."""
        return None

    def sum_parts(
        self, column: ColumnElement[Any], column_type: ColumnType, scale: int | None
    ) -> list[ColumnElement[Any]]:
        """Aggregates whose values `sum_value` adds up to the column's exact sum."""
        return [func.sum(column)]

    def sum_value(
        self, parts: Sequence[Any], column_type: ColumnType, scale: int | None
    ) -> int | Decimal | None:
        """The exact sum (int or Decimal) from the values of `sum_parts`; None for no rows."""
        total = parts[0]
        if total is None:
            return None
        return int(total) if column_type is ColumnType.INTEGER else Decimal(total)

    def sum_order_key(self, parts: Sequence[ColumnElement[Any]]) -> ColumnElement[Any]:
        """An expression ordering groups by the sum whose `sum_parts` values are `parts`."""
        return parts[0]

    def number_value(self, value: Any, column_type: ColumnType, scale: int | None) -> Any:
        """A MIN/MAX/group key value of a number column read back (int or Decimal)."""
        return int(value) if column_type is ColumnType.INTEGER else Decimal(value)

    def average_sort_key(
        self, total: ColumnElement[Any], count: ColumnElement[Any]
    ) -> ColumnElement[Any]:
        return total / count

    def text_length(self, column: ColumnElement[Any]) -> ColumnElement[Any]:
        """The length of a text value in characters (not bytes)."""
        return func.char_length(column)

    # -- sizes -----------------------------------------------------------------------------

    @abstractmethod
    def table_bytes(self, connection: Connection, table_name: str) -> int | None:
        """About the bytes a table and its indexes take on disk; None where unknown."""

    # -- bulk edits (csvhub.warehouse.edits) ------------------------------------------------

    def prepare_edit(self, connection: Connection) -> None:
        """Ready a connection for edit statements (functions they call, where an engine
        needs them registered)."""
        return

    def widen_for_writes(
        self, connection: Connection, table_name: str, columns: Sequence[str]
    ) -> None:
        """Before an edit or a take-back writes these columns: make each hold any value of
        its type (an engine storing a column narrower while its values allow widens it)."""
        return

    def edit_arithmetic(
        self,
        column: ColumnElement[Any],
        column_type: ColumnType,
        scale: int | None,
        arithmetic: Arithmetic,
    ) -> ColumnElement[Any]:
        """The stored value of `column * multiply + add`, rounded half away from zero to
        `digits` places and always to what the column holds (integers: none)."""
        result: ColumnElement[Any] = column
        if arithmetic.multiply is not None:
            result = result * literal(arithmetic.multiply, Numeric())
        if arithmetic.add is not None:
            result = result + literal(arithmetic.add, Numeric())
        digits = _kept_digits(column_type, scale, arithmetic.digits)
        if digits is not None:
            result = func.round(result, digits)
        if column_type is ColumnType.INTEGER:
            return cast(result, BigInteger())
        return result

    def row_address(self, table: Any) -> ColumnElement[Any]:
        """The physical address of a row of `table` (where row_addresses says so)."""
        raise NotImplementedError(f"{self.name} does not address rows")

    def row_address_in(self, address: ColumnElement[Any], addresses: Any) -> ColumnElement[Any]:
        """`address` is one of those the one-column `addresses` select gives."""
        return address.in_(addresses)

    def from_canonical_text(
        self, canonical: ColumnElement[Any], column_type: ColumnType, scale: int | None
    ) -> ColumnElement[Any]:
        """The stored form of a column's canonical text (journaled old values restored)."""
        if column_type is ColumnType.TEXT:
            return canonical
        if column_type is ColumnType.TIMESTAMP:  # canonical text is UTC wall-clock time
            return func.timezone("UTC", cast(canonical, DateTime()))
        return cast(canonical, self.sql_type(column_type, scale))

    # -- DDL and exports -------------------------------------------------------------------

    @abstractmethod
    def create_index(self, engine: Engine, index: Index, current: str | None) -> None:
        """Build an index (no-op when it exists) without stopping loads and reads longer
        than the engine must. `current` is the status indexes.index_list gave an index of
        that name ("ready", "building", "failed"), None when there is none."""

    def indexes_building(self, connection: Connection, table_name: str) -> set[str]:
        """Names of the table's indexes being built right now (their build is running)."""
        return set()

    def index_valid(self, reflected: Any) -> bool:
        """Whether a reflected index is valid (finished, not a failed concurrent build)."""
        return True

    def drop_table(self, connection: Connection, quoted_name: str) -> None:
        connection.exec_driver_sql(f"DROP TABLE IF EXISTS {quoted_name}")

    def replace_table(self, connection: Connection, staging: str, target: str) -> None:
        """Give the filled table `staging` the name `target`, in place of the table called so,
        inside the load's transaction: readers see the old table until the commit, then the
        new one, never neither (transactional DDL; an engine without it overrides this with
        its atomic rename)."""
        quote = connection.dialect.identifier_preparer.quote_identifier
        self.drop_table(connection, quote(target))
        connection.exec_driver_sql(f"ALTER TABLE {quote(staging)} RENAME TO {quote(target)}")

    @abstractmethod
    def streaming_cursor(
        self, connection: Connection, statement: Select[*tuple[Any, ...]], batch_rows: int
    ) -> Any:
        """A driver cursor running `statement` that reads rows as they are fetched."""

    def server_csv(
        self, connection: Connection, statement: Select[*tuple[Any, ...]]
    ) -> ServerCsv | None:
        """The statement's rows as CSV written by the server, or None where csvhub writes it."""
        return None

    # -- loading ---------------------------------------------------------------------------

    @abstractmethod
    def loader(self, connection: Connection, table_name: str) -> Loader:
        """The bulk writer of one load, inside the LoadSession's transaction."""

    def __repr__(self) -> str:
        return f"<{type(self).__name__}>"


class ServerCsv(ABC):
    """An export the server writes as CSV (no header), read in chunks."""

    @abstractmethod
    def start(self) -> None:
        """Start the export on the server (after the caller's last check for a cancel)."""

    @abstractmethod
    def chunks(self, check: Callable[[], None]) -> Any:
        """Iterator of UTF-8 bytes; `check()` between chunks raises if the read was cancelled."""

    @abstractmethod
    def close(self) -> None:
        """Stop the export on the server if it has not been read to its end."""


class Loader(ABC):
    """One load's writes to a dataset table, inside its LoadSession's transaction.

    The LoadSession (load.py) holds the transaction, the per-table lock, the record in
    `csvhub_loads` and the row id numbering; a Loader creates or widens the table and streams
    rows in by the engine's fastest path. Cells are canonical text ('' is NULL).
    """

    # Whether write_joined may succeed (a binary path for cells as read).
    sends_binary: ClassVar[bool] = False
    # Whether the engine stores rows written while the caller goes on (a COPY fed from a
    # sending thread): a caller then gains by writing a batch in chunks as it reads them.
    stores_while_caller_reads: ClassVar[bool] = False

    def __init__(self, dialect: WarehouseDialect, connection: Connection, table_name: str) -> None:
        self.dialect = dialect
        self.connection = connection
        self.table_name = table_name
        self.quote = connection.dialect.identifier_preparer.quote_identifier

    @abstractmethod
    def create(self, columns: Sequence[tuple[str, ColumnType, int | None]]) -> None:
        """Create the table with these (name, type, scale) columns and the row id."""

    @abstractmethod
    def retype(
        self,
        column: str,
        old: tuple[ColumnType, int | None],
        new: tuple[ColumnType, int | None],
    ) -> None:
        """Change a column's (type, scale), converting the stored values (widening)."""

    @abstractmethod
    def set_write_order(
        self, names: Sequence[str], kinds: Sequence[tuple[ColumnType, int | None]]
    ) -> None:
        """The columns, in order, of the cells given to the write methods, and their types."""

    @abstractmethod
    def write_columns(self, columns: list[list[str]], first_row_id: int) -> None:
        """Append rows given column by column; the first gets row id `first_row_id`."""

    def write_joined(self, parts: Sequence[str | list[str]], count: int, first_row_id: int) -> bool:
        """Append `count` rows given as one '\\n'-joined string per column, as read; False,
        with nothing written, where this loader cannot (write_columns then takes them)."""
        return False

    def flush(self, error: BaseException | None = None) -> None:
        """End a stream of rows in progress (abandon it on `error`); idempotent."""
        return

    def finish(self, last_row_id: int) -> None:
        """Before the load is recorded: finish the table (keys, sequences past `last_row_id`)."""
        self.flush()

    def stored_range(self, column: str) -> tuple[Any, Any]:
        """MIN and MAX of a column over the rows stored so far (the table's and this load's;
        a loader that stages rows elsewhere looks there too)."""
        quote = self.quote
        minimum, maximum = self.connection.exec_driver_sql(
            f"SELECT MIN({quote(column)}), MAX({quote(column)}) FROM {quote(self.table_name)}"
        ).one()
        return minimum, maximum

    def committed(self) -> None:
        """Right after the load's commit, on its connection (the table's lock still held) and
        before its count is published: show what it committed where the commit alone cannot
        (an engine without transactional DDL swaps a staged table in here)."""
        return

    def published(self) -> None:
        """After the load's count is published and the table's lock let go: housekeeping."""
        return

    @abstractmethod
    def row_id_range(self, before: int, count: int) -> tuple[int, int]:
        """First and last row id of the `count` rows written after row id `before`."""


def bound(column: ColumnElement[Any], value: Any) -> ColumnElement[Any]:
    """A bound parameter typed like the column (True/False included, which SQLAlchemy would
    otherwise render as constants that only `=` accepts)."""
    from sqlalchemy import literal

    return literal(value, column.type)


def plain_comparison(
    op: str, column: ColumnElement[Any], value: ColumnElement[Any]
) -> ColumnElement[Any]:
    if op == "eq":
        return column == value
    if op == "neq":
        # "Everything but v" includes empty cells, which SQL's != alone would drop.
        return or_(column != value, column.is_(None))
    if op == "lt":
        return column < value
    if op == "gt":
        return column > value
    if op == "lte":
        return column <= value
    return column >= value


def _kept_digits(column_type: ColumnType, scale: int | None, digits: int | None) -> int | None:
    """Places an arithmetic result is rounded to: the asked ones within the column's."""
    if column_type is ColumnType.INTEGER:
        return 0
    if scale is None:
        return digits
    return scale if digits is None else min(digits, scale)


def table_indexes_set_aside(connection: Connection, table_name: str, *, listing: str) -> list[str]:
    """Drop a table's indexes and return the SQL that re-creates them, for engines that cannot
    change a column an index names (SQLite, DuckDB): a retype sets them aside, converts, and
    calls `indexes_restore` with this list. `listing` is the engine's query of the table's
    (:table_name) index names and CREATE INDEX statements."""
    from csvhub.warehouse.schema import check_column_name, check_table_name

    rows = connection.execute(text(listing), {"table_name": check_table_name(table_name)}).all()
    quote = connection.dialect.identifier_preparer.quote_identifier
    for name, _ in rows:
        connection.exec_driver_sql(f"DROP INDEX {quote(check_column_name(name))}")
    return [sql for _, sql in rows]


def indexes_restore(connection: Connection, statements: Sequence[str]) -> None:
    """Re-create indexes set aside by `table_indexes_set_aside` (their own stored CREATE INDEX)."""
    for statement in statements:
        connection.exec_driver_sql(statement)


# Set while read_connection checks a connection out of the pool: a dialect that leaves a
# read's settings on the connection (PostgreSQL's statement timeout) takes them off any other
# checkout, so loads and index builds never run under a read's limit.
READ_CHECKOUT: ContextVar[bool] = ContextVar("csvhub_read_checkout", default=False)


@contextlib.contextmanager
def read_checkout() -> Iterator[None]:
    token = READ_CHECKOUT.set(True)
    try:
        yield
    finally:
        READ_CHECKOUT.reset(token)
