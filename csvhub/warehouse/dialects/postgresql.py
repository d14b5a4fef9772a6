"""PostgreSQL: native types, COPY in and out, concurrent index builds, server-side cursors.

Sessions run in UTC, so TIMESTAMPTZ reads and writes as UTC whatever the server's zone is.
Text compares in the "C" collation (code point order), which is SQLite's BINARY order: text
sorts and compares the same on both warehouses, and indexes are built to match.
"""

from __future__ import annotations

import contextlib
import secrets
import time
from collections.abc import Callable, Iterator
from datetime import date
from typing import Any

from sqlalchemy import (
    BigInteger,
    Column,
    DateTime,
    Engine,
    Identity,
    Index,
    Numeric,
    Select,
    Text,
    any_,
    case,
    cast,
    collate,
    column,
    create_engine,
    event,
    func,
    literal_column,
    select,
    text,
    types,
)
from sqlalchemy.engine import URL, Connection
from sqlalchemy.exc import InvalidatePoolError
from sqlalchemy.schema import CreateIndex, DropIndex
from sqlalchemy.sql.elements import BindParameter, ColumnElement
from sqlalchemy.sql.sqltypes import NullType
from sqlalchemy.sql.visitors import replacement_traverse

from csvhub.schema import ColumnType
from csvhub.warehouse.dialects.base import (
    DECIMAL_PRECISION,
    READ_CHECKOUT,
    Loader,
    ServerCsv,
    WarehouseDialect,
)
from csvhub.warehouse.schema import ROW_ID, check_table_name

TEXT_COLLATION = "C"
# Connections are replaced after this long, before a server or proxy idle limit drops them.
POOL_RECYCLE_SECONDS = 1800
# A connection back from the pool after this long idle is checked with a round trip first.
IDLE_PING_SECONDS = 10.0
EXPORT_CHUNK_BYTES = 256 * 1024
# A read's statement timeout stays on the connection (session-wide: the third argument) and is
# sent again only when the next read wants another one; any other checkout resets it first.
_STATEMENT_TIMEOUT = "SELECT set_config('statement_timeout', %s, false)"
_STATEMENT_TIMEOUT_RESET = "RESET statement_timeout"
# In the pool record's info (kept as long as the driver connection): the timeout it holds.
_TIMEOUT_HELD = "csvhub_statement_timeout"
_TIMEOUT_UNKNOWN = object()  # what a connection holds while its setting is being sent


class PostgreSQLDialect(WarehouseDialect):
    name = "postgresql"

    # -- connections -----------------------------------------------------------------------

    # A row's ctid: valid within a statement, which is all a bulk edit asks of it.
    row_addresses = True

    def row_address(self, table: Any) -> ColumnElement[Any]:
        check_table_name(table.name)
        return column("ctid", _selectable=table)

    def row_address_in(self, address: ColumnElement[Any], addresses: Any) -> ColumnElement[Any]:
        # `ctid = ANY(ARRAY(SELECT …))`: a TID scan fetches exactly those rows, where a join
        # on ctid is planned as a hash of the whole table.
        return address == any_(func.array(addresses.scalar_subquery()))

    def create_engine(self, url: URL) -> Engine:
        engine = create_engine(
            url.set(drivername="postgresql+psycopg"),
            pool_size=5,
            max_overflow=10,
            pool_recycle=POOL_RECYCLE_SECONDS,
            connect_args={"options": "-c timezone=UTC -c datestyle=ISO,MDY"},
        )
        # No pool_pre_ping (a round trip on every checkout, so on every request): only a
        # connection idle for IDLE_PING_SECONDS is pinged.
        event.listen(engine, "checkin", _idle_since)

        def checkout(dbapi_connection: Any, record: Any, _proxy: Any) -> None:
            _ping_after_idle(engine, dbapi_connection, record)
            if not READ_CHECKOUT.get():
                _no_read_timeout(dbapi_connection, record)

        event.listen(engine, "checkout", checkout)
        return engine

    def lock_table(self, connection: Connection, table_name: str) -> None:
        # Serializes writers of one table across processes; released at commit or rollback.
        connection.execute(select(func.pg_advisory_xact_lock(func.hashtext(table_name))))

    def large_expressions(self, connection: Connection) -> None:
        # The JIT compiles every expression of a costly plan before running it: a 600-edge bin
        # search took 8-9.6 s on 10M rows with it, 3.2 s without (a 20-edge one gains 0.3 s from
        # it, so only large expressions turn it off). For this transaction only.
        connection.execute(select(func.set_config("jit", "off", True)))

    def table_columns(
        self, connection: Connection, table_name: str
    ) -> dict[str, tuple[ColumnType, int | None]] | None:
        # One catalog query (SQLAlchemy's reflection takes two: has_table, then the columns,
        # and builds an inspector and type objects each time), read as reflection reads it
        # (tests/warehouse prove the two agree): a table always has its row id, so no row
        # means no table.
        rows = connection.execute(
            text(
                "SELECT a.attname, t.typname, a.atttypmod FROM pg_catalog.pg_attribute a "
                "JOIN pg_catalog.pg_type t ON t.oid = a.atttypid "
                "WHERE a.attrelid = to_regclass(:table_name) AND a.attnum > 0 "
                "AND NOT a.attisdropped ORDER BY a.attnum"
            ),
            {"table_name": check_table_name(table_name)},
        ).all()
        if not rows:
            return None
        return {
            name: _catalog_type(type_name, modifier)
            for name, type_name, modifier in rows
            if name != ROW_ID
        }

    # -- read deadlines --------------------------------------------------------------------

    def start_deadline(
        self, connection: Connection, seconds: float, stop: Callable[[], bool]
    ) -> None:
        # Session-wide and kept on the connection: a round trip only when it changes (a
        # transaction-local set_config was one more round trip on every read). Cancels go
        # through the server's cancel request (cancel_statement).
        timeout = f"{max(int(seconds * 1000), 1)}ms" if seconds else None
        driver = connection.connection.dbapi_connection
        try:
            _hold_timeout(driver, connection.connection.info, timeout)
        except Exception as error:
            # As SQLAlchemy's execution would: a connection the server dropped leaves the pool.
            if connection.dialect.is_disconnect(error, driver, None):  # type: ignore[arg-type]
                connection.invalidate(error)
            raise

    def statement_alone(self, driver: Any) -> contextlib.AbstractContextManager[None]:
        return _autocommit(driver)

    def cancel_statement(self, driver: Any) -> None:
        driver.cancel_safe()

    def is_stopped(self, error: BaseException) -> bool:
        import psycopg.errors

        return isinstance(error, psycopg.errors.QueryCanceled)

    # -- SQL types -------------------------------------------------------------------------

    def decimal_type(self, scale: int | None) -> types.TypeEngine[Any]:
        # NUMERIC(19, scale) gives every value out at the column's scale (79930.00 stays so,
        # 1.5 reads 1.50) and is reflected with its scale. A wider scale on append rewrites
        # the table (ALTER ... TYPE), in the load's transaction, which holds the table's lock
        # already: rare (a file with more digits after the point than all before), and the
        # price of a scale every engine declares alike. None: a table made before exact
        # decimals (unconstrained NUMERIC, values as written).
        return Numeric() if scale is None else Numeric(DECIMAL_PRECISION, scale)

    def query_type(
        self, column_type: ColumnType, scale: int | None = None
    ) -> types.TypeEngine[Any]:
        # Unconstrained: a bound 79930.001 must not be rounded to the column's scale (an
        # export casts each value to the column's query type).
        if column_type is ColumnType.DECIMAL:
            return Numeric()
        return super().query_type(column_type, scale)

    def row_id_column(self, *, primary_key: bool = True) -> Column[Any]:
        # `primary_key=False` leaves the key out, for a table filled before it is keyed.
        return Column(
            ROW_ID, BigInteger, Identity(always=False), primary_key=primary_key, nullable=False
        )

    # -- values in queries -----------------------------------------------------------------

    def canonical_text(
        self, column: ColumnElement[Any], column_type: ColumnType, scale: int | None = None
    ) -> ColumnElement[Any]:
        if column_type is ColumnType.BOOLEAN:
            return case((column.is_(True), "true"), (column.is_(False), "false"))
        if column_type is ColumnType.DATE:
            return func.to_char(column, "YYYY-MM-DD")
        if column_type is ColumnType.TIMESTAMP:
            utc = func.timezone("UTC", column)
            # Whole seconds without a fraction, others without trailing zeros, as csvread writes.
            return case(
                (
                    func.date_trunc("second", column) == column,
                    func.to_char(utc, "YYYY-MM-DD HH24:MI:SS"),
                ),
                else_=func.rtrim(func.to_char(utc, "YYYY-MM-DD HH24:MI:SS.US"), "0"),
            )
        if column_type is ColumnType.TEXT:
            return column
        return cast(column, Text)  # NUMERIC keeps the digits as written

    def compared(self, column: ColumnElement[Any], column_type: ColumnType) -> ColumnElement[Any]:
        if column_type is ColumnType.TEXT:
            return collate(column, TEXT_COLLATION)
        return column

    # -- analysis --------------------------------------------------------------------------

    def bucket_start(
        self, column: ColumnElement[Any], column_type: ColumnType, bucket: str
    ) -> ColumnElement[Any]:
        # date_trunc on a UTC wall-clock timestamp: weeks start on Monday, months on the 1st.
        if column_type is ColumnType.DATE:
            return func.date_trunc(bucket, cast(column, DateTime()))
        return func.date_trunc(bucket, func.timezone("UTC", column))

    def table_bytes(self, connection: Connection, table_name: str) -> int | None:
        found = connection.execute(
            select(func.pg_total_relation_size(func.to_regclass(table_name)))
        ).scalar()
        return None if found is None else int(found)

    # -- DDL and exports -------------------------------------------------------------------

    def create_index(self, engine: Engine, index: Index, current: str | None) -> None:
        # CONCURRENTLY: loads and reads go on while it builds; it cannot run inside a
        # transaction block, hence AUTOCOMMIT. A failed build stays invalid: rebuild it.
        index.dialect_options["postgresql"]["concurrently"] = True
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
            if current == "failed":
                connection.execute(DropIndex(index, if_exists=True))
            connection.execute(CreateIndex(index, if_not_exists=True))

    def indexes_building(self, connection: Connection, table_name: str) -> set[str]:
        rows = connection.execute(
            text(
                "SELECT c.relname FROM pg_stat_progress_create_index p "
                "JOIN pg_class c ON c.oid = p.index_relid WHERE p.relid = to_regclass(:table_name)"
            ),
            {"table_name": table_name},
        )
        return set(rows.scalars())

    def index_valid(self, reflected: Any) -> bool:
        # Until a concurrent build is finished the catalog marks its index invalid.
        return not reflected.get("dialect_options", {}).get("postgresql_invalid", False)

    def streaming_cursor(
        self, connection: Connection, statement: Select[*tuple[Any, ...]], batch_rows: int
    ) -> Any:
        # A named (server-side) cursor: the server keeps the result, sends batch_rows at a time.
        compiled = statement.compile(
            dialect=connection.dialect, compile_kwargs={"render_postcompile": True}
        )
        driver = connection.connection.dbapi_connection
        assert driver is not None
        # psycopg's named cursor (itersize), more than the DB-API cursor SQLAlchemy types.
        cursor: Any = driver.cursor(name=f"csvhub_rows_{secrets.token_hex(8)}")
        cursor.itersize = batch_rows
        cursor.execute(compiled.string, compiled.construct_params())
        return cursor

    def server_csv(self, connection: Connection, statement: Select[*tuple[Any, ...]]) -> ServerCsv:
        return _CopyOut(connection, statement)

    def loader(self, connection: Connection, table_name: str) -> Loader:
        from csvhub.warehouse.dialects.postgresql_load import PostgreSQLLoader

        return PostgreSQLLoader(self, connection, table_name)


_CATALOG_TYPES = {
    "int2": ColumnType.INTEGER,
    "int4": ColumnType.INTEGER,
    "int8": ColumnType.INTEGER,
    "numeric": ColumnType.DECIMAL,
    "float4": ColumnType.DECIMAL,
    "float8": ColumnType.DECIMAL,
    "bool": ColumnType.BOOLEAN,
    "date": ColumnType.DATE,
    "timestamp": ColumnType.TIMESTAMP,
    "timestamptz": ColumnType.TIMESTAMP,
}
NUMERIC_TYPMOD_OFFSET = 4  # PostgreSQL's VARHDRSZ: a numeric's typmod is this past its packing


def _catalog_type(type_name: str, modifier: int) -> tuple[ColumnType, int | None]:
    """A column's csvhub type and declared scale from pg_type's name and pg_attribute's
    typmod (a NUMERIC(p, s) packs ((p << 16) | s) + 4; -1 when none is declared)."""
    column_type = _CATALOG_TYPES.get(type_name, ColumnType.TEXT)
    if type_name != "numeric" or modifier < NUMERIC_TYPMOD_OFFSET:
        return column_type, None
    return column_type, (modifier - NUMERIC_TYPMOD_OFFSET) & 0xFFFF


def _idle_since(_dbapi_connection: Any, record: Any) -> None:
    record.info["idle_since"] = time.monotonic()


def _no_read_timeout(dbapi_connection: Any, record: Any) -> None:
    """Any checkout but a read's: the server's default statement timeout, never a read's."""
    import psycopg

    try:
        _hold_timeout(dbapi_connection, record.info, None)
    except psycopg.OperationalError as error:  # the server dropped it: the pool connects again
        raise InvalidatePoolError(str(error)) from error


def _hold_timeout(driver: Any, info: dict[str, Any], timeout: str | None) -> None:
    """Give the connection's session `timeout` (None: the server's default) unless it holds
    it already. Outside any transaction block, so no rollback undoes it."""
    if info.get(_TIMEOUT_HELD) == timeout:
        return
    # Unknown until the server answered: if anything fails in between, the next checkout
    # sends its own setting again rather than trust a record the server may not match.
    info[_TIMEOUT_HELD] = _TIMEOUT_UNKNOWN
    with _autocommit(driver, required=True):
        if timeout is None:
            driver.execute(_STATEMENT_TIMEOUT_RESET)
        else:
            driver.execute(_STATEMENT_TIMEOUT, (timeout,))
    info[_TIMEOUT_HELD] = timeout


@contextlib.contextmanager
def _autocommit(driver: Any, *, required: bool = False) -> Iterator[None]:
    """The driver in autocommit for the block, if no transaction is open on it: psycopg then
    sends neither BEGIN nor, when the pool takes it back, ROLLBACK (two round trips of a
    one-statement read, whose answer is the same: a statement sees one snapshot either way).
    `required`: a session setting made inside an open transaction would be undone by its
    rollback, which must not happen unseen."""
    import psycopg.pq

    if driver.autocommit:
        yield
        return
    if driver.info.transaction_status != psycopg.pq.TransactionStatus.IDLE:
        if required:
            raise RuntimeError("a session setting inside an open transaction")
        yield
        return
    driver.autocommit = True
    try:
        yield
    finally:
        # A connection the server dropped mid-read cannot change mode; setting it would
        # raise over the error that says what happened (the pool discards it anyway).
        if not driver.closed and not driver.broken:
            driver.autocommit = False


def _ping_after_idle(engine: Engine, dbapi_connection: Any, record: Any) -> None:
    """A connection idle for a while (the server may have restarted meanwhile) answers a ping
    before use, else the pool drops it and every older one and connects afresh; a busy one is
    used as it is. A connection that dies under a busy pool fails that one request: SQLAlchemy
    then discards the pool's older connections, and the next request gets a new one."""
    idle_since = record.info.get("idle_since")
    if idle_since is None or time.monotonic() - idle_since < IDLE_PING_SECONDS:
        return
    try:
        engine.dialect.do_ping(dbapi_connection)
    except Exception as error:
        raise InvalidatePoolError(str(error)) from error


class _CopyOut(ServerCsv):
    """COPY (query) TO STDOUT (FORMAT csv): the server writes the CSV (a Python loop over
    rows runs at a third of its speed)."""

    def __init__(self, connection: Connection, statement: Select[*tuple[Any, ...]]) -> None:
        statement, settings = _values_as_settings(statement)
        for name, value in settings.items():
            connection.execute(select(func.set_config(name, value, True)))
        compiled = statement.compile(dialect=connection.dialect)
        assert not compiled.params, "COPY cannot take parameters: every value is a setting"
        driver = connection.connection.dbapi_connection
        assert driver is not None
        self._cursor = driver.cursor()
        self._encoding = driver.info.encoding
        self._read = False
        self._copy_block: Any = None
        self._statement = f"COPY ({compiled.string}) TO STDOUT (FORMAT csv)"

    def start(self) -> None:
        self._copy_block = self._cursor.copy(self._statement)
        self._copy = self._copy_block.__enter__()

    def chunks(self, check: Callable[[], None]) -> Iterator[bytes]:
        # COPY sends a message per row: gather them into chunks worth a write.
        buffer = bytearray()
        for data in self._copy:
            buffer += data
            if len(buffer) >= EXPORT_CHUNK_BYTES:
                check()
                yield self._utf8(buffer)
                buffer.clear()
        if buffer:
            yield self._utf8(buffer)
        self._read = True

    def _utf8(self, data: bytearray) -> bytes:
        if self._encoding == "utf-8":
            return bytes(data)
        return bytes(data).decode(self._encoding).encode()

    def close(self) -> None:
        try:
            if self._copy_block is not None:
                # Left before its end, a COPY must be cancelled on the server and what it
                # already sent drained; psycopg does that when told the block failed.
                copy_block, self._copy_block = self._copy_block, None
                if self._read:
                    copy_block.__exit__(None, None, None)
                else:
                    stop = RuntimeError("CSV export closed before its end")
                    copy_block.__exit__(type(stop), stop, None)
        finally:
            self._cursor.close()


def _values_as_settings(
    statement: Select[*tuple[Any, ...]],
) -> tuple[Select[*tuple[Any, ...]], dict[str, str]]:
    """The statement with every bound value read from a transaction-local setting.

    COPY takes no parameters; rather than writing values into its SQL text, each is sent with
    `set_config(name, value, true)` as a bound parameter and the query reads it back, cast to
    its type, with `(SELECT current_setting(name))`: an uncorrelated subquery the server runs
    once per statement (a bare current_setting() ran for every row, and cost an export of 10M
    rows a third of its time); indexes still apply.
    """
    settings: dict[str, str] = {}

    def replace(element: Any) -> Any:
        if not isinstance(element, BindParameter):
            return None
        name = f"csvhub.v{len(settings)}"  # our own name, safe as SQL text
        settings[name] = _setting_text(element.effective_value)
        kind = Text() if isinstance(element.type, NullType) else element.type
        setting = cast(func.current_setting(literal_column(f"'{name}'")), kind)
        return select(setting).scalar_subquery()

    # SQLAlchemy's stub wants a replace(element, **kw) and returns the base type; the traversal
    # of a Select gives a Select. (TEMPORARY: typed properly once i12's logic edits are merged.)
    return replacement_traverse(statement, {}, replace), settings  # type: ignore[call-overload]


def _setting_text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, date):  # dates, and aware datetimes with their offset
        return value.isoformat()
    return str(value)
