"""MariaDB / MySQL: PyMySQL, LOAD DATA LOCAL INFILE, staged loads, online index builds.

Reached through PyMySQL (pure Python: no client library or headers to install). Every
connection is UTC (`time_zone '+00:00'`), utf8mb4, strict (a value that does not fit is an
error, never silently cut or zeroed), and allowed to send `LOAD DATA LOCAL INFILE` data.

Types (docs/decisions.md): integers BIGINT, decimals DECIMAL(65, scale), booleans BOOLEAN
(TINYINT(1)), dates DATE, timestamps DATETIME(6) holding UTC (MySQL has no type that keeps a
zone), text LONGTEXT in a binary, no-pad collation: exact comparison (trailing spaces count)
and code point order, which is PostgreSQL's "C" order and SQLite's BINARY order.

DDL is not transactional here (CREATE, ALTER, RENAME commit): the Loader stages the rows and
publishes them in one atomic step (mysql_load.py).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    Column,
    Engine,
    Index,
    Select,
    case,
    cast,
    create_engine,
    event,
    func,
    types,
)
from sqlalchemy.dialects import mysql
from sqlalchemy.dialects.mysql.base import MySQLDialect as SQLAlchemyMySQLDialect
from sqlalchemy.engine import URL, Connection
from sqlalchemy.sql.elements import ColumnElement

from csvhub.schema import ColumnType
from csvhub.warehouse.dialects.base import Loader
from csvhub.warehouse.dialects.mysql_load import (
    TEXT_INDEX_PREFIX,
    MySQLLoader,
    MySQLTables,
    recover,
)
from csvhub.warehouse.schema import ROW_ID

# Strict: refuse rather than adjust. No NO_BACKSLASH_ESCAPES: PyMySQL escapes values with
# backslashes on the client side. No ANSI_QUOTES: SQLAlchemy's MySQL dialect quotes with `.
SQL_MODE = ",".join(
    (
        "STRICT_ALL_TABLES",
        "NO_ZERO_IN_DATE",
        "NO_ZERO_DATE",
        "ERROR_FOR_DIVISION_BY_ZERO",
        "NO_ENGINE_SUBSTITUTION",
        "ONLY_FULL_GROUP_BY",
        "NO_AUTO_VALUE_ON_ZERO",
    )
)
SESSION = f"SET time_zone = '+00:00', sql_mode = '{SQL_MODE}', NAMES utf8mb4"

# Binary no-pad collations: MariaDB's, and MySQL 8's (whose utf8mb4_bin pads with spaces).
MARIADB_TEXT_COLLATION = "utf8mb4_nopad_bin"
MYSQL_TEXT_COLLATION = "utf8mb4_0900_bin"
DECIMAL_PRECISION = 65  # the most MySQL allows: 65 - scale digits before the point
# A decimal column created without a scale (none known) keeps this many places.
UNKNOWN_SCALE = 30
# Error codes of a statement stopped by a time limit or by KILL QUERY: 1969 (MariaDB's
# max_statement_time), 3024 (MySQL's max_execution_time), 1317 (query interrupted).
STOPPED_ERRORS = frozenset({1317, 1969, 3024})


class MySQLDialect(MySQLTables):
    name = "mysql"
    transactional_ddl = False
    # Its loads publish after their commit (MySQLLoader.committed), where replace_table would
    # have to run too: not built yet, so mode=replace is refused on this engine.
    replaces_atomically = False
    nulls_order_syntax = False  # NULLs sort first ascending: emulated with `col IS NULL`

    def __init__(self, *, mariadb: bool = True) -> None:
        # Which server family: chosen by the server each engine connects to (see
        # create_engine), since the text collation and the time limit are spelled differently.
        self.mariadb = mariadb

    # -- connections -----------------------------------------------------------------------

    def create_engine(self, url: URL) -> Engine:
        url = url.set(drivername="mysql+pymysql").update_query_dict({"charset": "utf8mb4"})
        engine = create_engine(
            url,
            pool_pre_ping=True,
            pool_size=5,
            max_overflow=10,
            pool_recycle=3600,  # servers drop idle connections after wait_timeout
            connect_args={"local_infile": True, "init_command": SESSION},
        )
        event.listen(engine, "checkin", _on_checkin)
        with engine.connect() as connection:
            dialect = connection.dialect
            assert isinstance(dialect, SQLAlchemyMySQLDialect)  # create_engine of a mysql:// URL
            self.mariadb = bool(dialect.is_mariadb)
        return engine

    def lock_table(self, connection: Connection, table_name: str) -> None:
        # A named lock, held by the connection (not the transaction, which DDL ends): the
        # pool's check-in releases it, and a killed worker's connection loses it.
        got = connection.exec_driver_sql(
            "SELECT GET_LOCK(%s, %s)", (f"csvhub:{table_name}", LOCK_WAIT_SECONDS)
        ).scalar()
        if got != 1:
            raise TimeoutError(f"another load of {table_name} held its lock too long")
        recover(connection, table_name)

    # -- read deadlines --------------------------------------------------------------------

    def start_deadline(
        self, connection: Connection, seconds: float, stop: Callable[[], bool]
    ) -> None:
        # For the session; check-in takes it off again (end_deadline, _on_checkin).
        if seconds:
            connection.exec_driver_sql(_timeout_statement(self.mariadb, seconds))

    def cancel_statement(self, driver: Any) -> None:
        # The protocol has no cancel request: KILL QUERY from a connection of our own.
        import pymysql

        other = pymysql.connect(
            host=driver.host,
            port=driver.port,
            user=driver.user,
            password=driver.password,
            unix_socket=driver.unix_socket,
            # The same TLS context where TLS was required; else PyMySQL's default (preferred).
            ssl=driver.ctx if getattr(driver, "_ssl_required", False) else None,
            connect_timeout=5,
        )
        try:
            with other.cursor() as cursor:
                cursor.execute(f"KILL QUERY {int(driver.thread_id())}")
        finally:
            other.close()

    def end_deadline(self, driver: Any) -> None:
        return  # the pool's check-in resets the session (_on_checkin)

    def is_stopped(self, error: BaseException) -> bool:
        import pymysql

        return isinstance(error, pymysql.err.MySQLError) and bool(
            error.args and error.args[0] in STOPPED_ERRORS
        )

    # -- SQL types -------------------------------------------------------------------------

    def sql_type(self, column_type: ColumnType, scale: int | None = None) -> types.TypeEngine[Any]:
        if column_type is ColumnType.TIMESTAMP:
            return mysql.DATETIME(fsp=6)
        if column_type is ColumnType.TEXT:
            return mysql.LONGTEXT(charset="utf8mb4", collation=self.text_collation)
        return super().sql_type(column_type, scale)

    def decimal_type(self, scale: int | None) -> types.TypeEngine[Any]:
        return mysql.DECIMAL(DECIMAL_PRECISION, UNKNOWN_SCALE if scale is None else scale)

    def query_type(
        self, column_type: ColumnType, scale: int | None = None
    ) -> types.TypeEngine[Any]:
        # Values are bound as given (unrounded): `eq:7.251` must not match a stored 7.25.
        if column_type is ColumnType.DECIMAL:
            return types.Numeric(asdecimal=True)
        return self.sql_type(column_type, scale)

    def column_type(self, sql: types.TypeEngine[Any]) -> ColumnType:
        # BOOLEAN is TINYINT(1): read back as a boolean, not an integer.
        if isinstance(sql, mysql.TINYINT) and sql.display_width == 1:
            return ColumnType.BOOLEAN
        return super().column_type(sql)

    def row_id_column(self, *, primary_key: bool = True) -> Column[Any]:
        return Column(ROW_ID, BigInteger, primary_key=True, autoincrement=True)

    @property
    def text_collation(self) -> str:
        return MARIADB_TEXT_COLLATION if self.mariadb else MYSQL_TEXT_COLLATION

    def type_text(self, column_type: ColumnType, scale: int | None) -> str:
        """The column type as DDL text."""
        if column_type is ColumnType.BOOLEAN:
            return "BOOLEAN"
        return str(self.sql_type(column_type, scale).compile(dialect=mysql.dialect()))

    # -- values in queries -----------------------------------------------------------------

    def canonical_text(
        self, column: ColumnElement[Any], column_type: ColumnType, scale: int | None = None
    ) -> ColumnElement[Any]:
        if column_type is ColumnType.BOOLEAN:
            return case((column == 1, "true"), (column == 0, "false"))
        if column_type is ColumnType.DATE:
            return func.date_format(column, "%Y-%m-%d", type_=types.Text)
        if column_type is ColumnType.TIMESTAMP:
            whole = func.date_format(column, "%Y-%m-%d %H:%i:%s", type_=types.Text)
            fraction = func.date_format(column, "%Y-%m-%d %H:%i:%s.%f", type_=types.Text)
            # Whole seconds without a fraction, others without trailing zeros, as csvread writes.
            return case(
                (func.microsecond(column) == 0, whole),
                else_=_trailing_zeros(fraction),
            )
        if column_type is ColumnType.TEXT:
            return column
        text = cast(column, types.String)  # CAST(... AS CHAR): DECIMAL(65, s) keeps s places
        if column_type is ColumnType.DECIMAL and scale is None:
            return _trimmed_decimal(text)
        return text

    def stored(self, column_type: ColumnType, scale: int | None, value: Any) -> Any:
        if column_type is ColumnType.TIMESTAMP and isinstance(value, datetime):
            # DATETIME holds UTC wall-clock time; an aware value would be refused.
            return value.astimezone(UTC).replace(tzinfo=None) if value.tzinfo else value
        return value

    # -- bulk edits ------------------------------------------------------------------------

    def from_canonical_text(
        self, canonical: ColumnElement[Any], column_type: ColumnType, scale: int | None
    ) -> ColumnElement[Any]:
        if column_type is ColumnType.BOOLEAN:
            return case((canonical == "true", 1), (canonical == "false", 0))
        if column_type is ColumnType.TIMESTAMP:  # DATETIME(6) holds UTC wall-clock time
            return cast(canonical, mysql.DATETIME(fsp=6))
        return super().from_canonical_text(canonical, column_type, scale)

    # -- analysis --------------------------------------------------------------------------

    def bucket_start(
        self, column: ColumnElement[Any], column_type: ColumnType, bucket: str
    ) -> ColumnElement[Any]:
        # The stored values are UTC wall-clock times (the session is UTC): formatting the
        # start of the bucket needs no zone arithmetic. Weeks start on Monday (WEEKDAY 0).
        if bucket == "week":
            start = func.subdate(func.date(column), func.weekday(column))
            return cast(start, mysql.DATETIME())
        formats = {
            "minute": "%Y-%m-%d %H:%i:00",
            "hour": "%Y-%m-%d %H:00:00",
            "day": "%Y-%m-%d 00:00:00",
            "month": "%Y-%m-01 00:00:00",
        }
        return cast(func.date_format(column, formats[bucket]), mysql.DATETIME())

    def table_bytes(self, connection: Connection, table_name: str) -> int | None:
        # InnoDB's statistics: an estimate, refreshed by the server now and then.
        found = connection.exec_driver_sql(
            "SELECT data_length + index_length FROM information_schema.tables "
            "WHERE table_schema = DATABASE() AND table_name = %s",
            (table_name,),
        ).scalar()
        return None if found is None else int(found)

    # -- DDL and exports -------------------------------------------------------------------

    def create_index(self, engine: Engine, index: Index, current: str | None) -> None:
        # Built online (ALGORITHM=INPLACE, LOCK=NONE): loads and reads go on while it builds.
        if current is not None:
            return
        table_name = index.table.name  # type: ignore[union-attr]
        with engine.connect() as connection:
            quote = connection.dialect.identifier_preparer.quote_identifier
            parts = ", ".join(_index_part(quote, expression) for expression in index.expressions)
            connection.exec_driver_sql(
                f"CREATE INDEX {quote(str(index.name))} ON {quote(table_name)} ({parts}) "
                "ALGORITHM=INPLACE LOCK=NONE"
            )

    def indexes_building(self, connection: Connection, table_name: str) -> set[str]:
        # A build in progress is a running CREATE INDEX statement naming its index.
        rows = connection.exec_driver_sql(
            "SELECT info FROM information_schema.processlist "
            "WHERE command = 'Query' AND info LIKE %s",
            (f"CREATE INDEX % ON `{table_name}` %",),
        )
        statements: list[str | None] = list(rows.scalars())
        return {info.split("`")[1] for info in statements if info and "`" in info}

    def streaming_cursor(
        self, connection: Connection, statement: Select[*tuple[Any, ...]], batch_rows: int
    ) -> Any:
        return _StreamingCursor(connection, statement)

    def loader(self, connection: Connection, table_name: str) -> Loader:
        return MySQLLoader(self, connection, table_name)


LOCK_WAIT_SECONDS = 3600  # a load waits this long for the one before it on the same table


def _timeout_statement(mariadb: bool, seconds: float) -> str:
    if mariadb:
        return f"SET SESSION max_statement_time = {seconds:.3f}"
    return f"SET SESSION max_execution_time = {int(seconds * 1000)}"


def _on_checkin(dbapi_connection: Any, _record: Any) -> None:
    """Back in the pool: no read time limit, no table lock (whatever path the user took)."""
    if dbapi_connection is None or not dbapi_connection.open:
        return
    try:
        with dbapi_connection.cursor() as cursor:
            mariadb = "MariaDB" in dbapi_connection.get_server_info()
            cursor.execute(_timeout_statement(mariadb, 0))
            cursor.execute("SELECT RELEASE_ALL_LOCKS()")
    except Exception:  # a connection in a state we cannot reset is not used again
        dbapi_connection.close()


def _trailing_zeros(text: ColumnElement[Any]) -> ColumnElement[Any]:
    return func.regexp_replace(text, "\\.?0+$", "", type_=types.Text)


def _trimmed_decimal(text: ColumnElement[Any]) -> ColumnElement[Any]:
    """A decimal of UNKNOWN_SCALE places without its trailing zeros (`1.50` → `1.5`)."""
    return case((text.contains("."), _trailing_zeros(text)), else_=text)


def _index_part(quote: Callable[[str], str], expression: Any) -> str:
    """One indexed column; text on its first TEXT_INDEX_PREFIX characters."""
    name = quote(expression.name)
    if isinstance(expression.type, types.String):  # LONGTEXT is a String, not a Text
        return f"{name}({TEXT_INDEX_PREFIX})"
    return name


class _StreamingCursor:
    """An unbuffered (server-side) PyMySQL cursor: rows are read as they are fetched.

    Closing it before its end would make PyMySQL read every remaining row; the statement is
    stopped first with KILL QUERY, and the connection not used again.
    """

    def __init__(self, connection: Connection, statement: Select[*tuple[Any, ...]]) -> None:
        import pymysql.cursors

        compiled = statement.compile(
            dialect=connection.dialect, compile_kwargs={"render_postcompile": True}
        )
        self._connection = connection
        driver = connection.connection.dbapi_connection
        assert driver is not None  # a checked-out connection holds its driver's
        self._driver: Any = driver  # PyMySQL's connection, which cancel_statement reads
        self._cursor = self._driver.cursor(pymysql.cursors.SSCursor)
        self._done = False
        params: Any = compiled.construct_params()  # PyMySQL's pyformat takes them by name
        if compiled.positiontup:
            params = [params[name] for name in compiled.positiontup]
        self._cursor.execute(compiled.string, params)

    def fetchmany(self, size: int) -> Sequence[Any]:
        rows = self._cursor.fetchmany(size)
        if not rows:
            self._done = True
        return rows

    def close(self) -> None:
        if not self._done:
            MySQLDialect().cancel_statement(self._driver)
            self._connection.invalidate()  # whatever the statement still sends is dropped
            return
        self._cursor.close()
