"""MariaDB / MySQL as a warehouse: the engine, the column types, and the SQL that differs.

Reached through PyMySQL (pure Python: no client library or headers to install). Every
connection is UTC (`time_zone '+00:00'`), utf8mb4, strict (a value that does not fit is an
error, never silently cut or zeroed), and allowed to send `LOAD DATA LOCAL INFILE` data.

Types (docs/decisions.md): integers BIGINT, decimals DECIMAL(65, scale), booleans BOOLEAN
(TINYINT(1)), dates DATE, timestamps DATETIME(6) holding UTC (MySQL has no type that keeps a
zone), text LONGTEXT in a binary, no-pad collation: exact comparison (trailing spaces count),
and code point order, which is the order of PostgreSQL's "C" collation and of SQLite's BINARY.
"""

from __future__ import annotations

import functools
from typing import Any

from sqlalchemy import Engine, case, cast, create_engine, event, func, types
from sqlalchemy.dialects import mysql
from sqlalchemy.engine import URL, Connection
from sqlalchemy.sql.elements import ColumnElement

from csvhub.csvread import ColumnType

SCHEMES = ("mysql", "mariadb")

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
_SESSION = f"SET time_zone = '+00:00', sql_mode = '{SQL_MODE}', NAMES utf8mb4"

# Binary no-pad collations: MariaDB's, and MySQL 8's (whose utf8mb4_bin pads with spaces).
MARIADB_TEXT_COLLATION = "utf8mb4_nopad_bin"
MYSQL_TEXT_COLLATION = "utf8mb4_0900_bin"
DECIMAL_PRECISION = 65  # the most MySQL allows; digits before the point: 65 - scale

# Timeouts: MariaDB stops a statement after `max_statement_time` seconds (0: none), MySQL a
# SELECT after `max_execution_time` milliseconds. Error codes of a statement stopped by them
# or by KILL QUERY: 1969 (MariaDB timeout), 3024 (MySQL timeout), 1317 (interrupted).
STOPPED_ERRORS = frozenset({1317, 1969, 3024})


def is_mysql_url(url: URL) -> bool:
    return url.get_backend_name() in SCHEMES


def mysql_engine(url: URL) -> Engine:
    """The engine for `mysql://` and `mariadb://` URLs, over PyMySQL."""
    url = url.set(drivername="mysql+pymysql").update_query_dict({"charset": "utf8mb4"})
    engine = create_engine(
        url,
        pool_pre_ping=True,
        pool_size=5,
        max_overflow=10,
        # Servers close idle connections after wait_timeout (8 h by default).
        pool_recycle=3600,
        connect_args={"local_infile": True, "init_command": _SESSION},
    )

    @event.listens_for(engine, "checkin")
    def _on_checkin(dbapi_connection, _record) -> None:
        # Whatever path a read took, the connection a load gets next has no read time limit.
        if dbapi_connection is not None and getattr(dbapi_connection, "open", False):
            with dbapi_connection.cursor() as cursor:
                cursor.execute(timeout_statement(dbapi_connection, 0))

    return engine


def is_mariadb(connection: Any) -> bool:
    """Whether a PyMySQL connection (or a SQLAlchemy one) is to MariaDB rather than MySQL."""
    if isinstance(connection, Connection):
        return bool(connection.dialect.is_mariadb)
    return "MariaDB" in connection.get_server_info()


def text_collation(mariadb: bool) -> str:
    return MARIADB_TEXT_COLLATION if mariadb else MYSQL_TEXT_COLLATION


# -- types ----------------------------------------------------------------------------------


def sql_type(column_type: ColumnType, *, scale: int = 0, mariadb: bool = True) -> types.TypeEngine:
    """The MySQL column type of a csvhub column type (`scale`: decimals only)."""
    if column_type is ColumnType.INTEGER:
        return mysql.BIGINT()
    if column_type is ColumnType.DECIMAL:
        return mysql.DECIMAL(DECIMAL_PRECISION, scale)
    if column_type is ColumnType.BOOLEAN:
        return mysql.BOOLEAN(create_constraint=False)
    if column_type is ColumnType.DATE:
        return mysql.DATE()
    if column_type is ColumnType.TIMESTAMP:
        return mysql.DATETIME(fsp=6)
    return mysql.LONGTEXT(charset="utf8mb4", collation=text_collation(mariadb))


def sql_type_text(column_type: ColumnType, *, scale: int = 0, mariadb: bool = True) -> str:
    """The type as DDL text (CREATE TABLE, ALTER TABLE ... MODIFY)."""
    if column_type is ColumnType.BOOLEAN:
        return "BOOLEAN"
    return sql_type(column_type, scale=scale, mariadb=mariadb).compile(dialect=mysql.dialect())


def column_type_of(sql: types.TypeEngine) -> tuple[ColumnType, int]:
    """csvhub's type (and scale) of a reflected column: TINYINT(1) is a boolean."""
    if isinstance(sql, mysql.TINYINT) and getattr(sql, "display_width", None) == 1:
        return ColumnType.BOOLEAN, 0
    if isinstance(sql, types.Boolean):
        return ColumnType.BOOLEAN, 0
    if isinstance(sql, types.Integer):
        return ColumnType.INTEGER, 0
    if isinstance(sql, types.Numeric):
        return ColumnType.DECIMAL, sql.scale or 0
    if isinstance(sql, types.DateTime):
        return ColumnType.TIMESTAMP, 0
    if isinstance(sql, types.Date):
        return ColumnType.DATE, 0
    return ColumnType.TEXT, 0


# -- canonical text ------------------------------------------------------------------------


def canonical_text(column: ColumnElement, column_type: ColumnType) -> ColumnElement:
    """The stored value as csvhub's canonical text (what csvread wrote; NULL stays NULL).

    Decimals come out at the column's scale (DECIMAL(65, s) always has s digits); timestamps
    as `YYYY-MM-DD HH:MM:SS[.f]` in UTC without trailing zeros in the fraction.
    """
    if column_type is ColumnType.BOOLEAN:
        return case((column == 1, "true"), (column == 0, "false"))
    if column_type is ColumnType.DATE:
        return func.date_format(column, "%Y-%m-%d", type_=types.Text)
    if column_type is ColumnType.TIMESTAMP:
        return _timestamp_text(column)
    if column_type is ColumnType.TEXT:
        return column
    return cast(column, types.String)  # CAST(... AS CHAR): a DECIMAL keeps its scale


def _timestamp_text(column: ColumnElement) -> ColumnElement:
    whole = func.date_format(column, "%Y-%m-%d %H:%i:%s", type_=types.Text)
    fraction = func.date_format(column, "%Y-%m-%d %H:%i:%s.%f", type_=types.Text)
    return case(
        (func.microsecond(column) == 0, whole),
        else_=func.regexp_replace(fraction, "0+$", "", type_=types.Text),
    )


@functools.cache
def timeout_statement_text(mariadb: bool, seconds: float) -> str:
    if mariadb:
        return f"SET SESSION max_statement_time = {seconds:.3f}"
    return f"SET SESSION max_execution_time = {int(seconds * 1000)}"


def timeout_statement(driver: Any, seconds: float) -> str:
    """The SET that limits the session's statements to `seconds` (0: no limit)."""
    return timeout_statement_text(is_mariadb(driver), seconds)


# -- conversions (widening, provisional text settled) ---------------------------------------


def conversion(
    column: ColumnElement, old: ColumnType, new: ColumnType, scale: int = 0
) -> ColumnElement:
    """SQL turning a stored value of type `old` into type `new`; strict mode makes a value
    that does not convert an error, never a silent zero."""
    if old is new and new is not ColumnType.DECIMAL:  # a decimal may change its scale
        return column
    if new is ColumnType.TEXT:
        return canonical_text(column, old)
    if old is ColumnType.TEXT and new is ColumnType.BOOLEAN:
        return case((column == "true", 1), (column == "false", 0))
    return cast(column, sql_type(new, scale=scale))


# -- indexes --------------------------------------------------------------------------------

# A LONGTEXT column is indexed on its first characters: enough to find and range-scan equal
# and ordered values (the rows are then compared in full), within InnoDB's 3072-byte keys.
TEXT_INDEX_PREFIX = 255


def index_part(quoted: str, column_type: ColumnType) -> str:
    if column_type is ColumnType.TEXT:
        return f"{quoted}({TEXT_INDEX_PREFIX})"
    return quoted


def table_indexes(connection: Connection, table_name: str) -> dict[str, list[str]]:
    """Secondary indexes of a table: name → its columns in order (the primary key left out)."""
    rows = connection.exec_driver_sql(
        "SELECT index_name, column_name FROM information_schema.statistics "
        "WHERE table_schema = DATABASE() AND table_name = %s AND index_name <> 'PRIMARY' "
        "ORDER BY index_name, seq_in_index",
        (table_name,),
    )
    indexes: dict[str, list[str]] = {}
    for name, column in rows:
        indexes.setdefault(name, []).append(column)
    return indexes


def drop_indexes(connection: Connection, table_name: str) -> None:
    quote = connection.dialect.identifier_preparer.quote_identifier
    names = table_indexes(connection, table_name)
    if names:
        drops = ", ".join(f"DROP INDEX {quote(name)}" for name in names)
        connection.exec_driver_sql(f"ALTER TABLE {quote(table_name)} {drops}")


def create_index(
    connection: Connection,
    table_name: str,
    name: str,
    columns: list[tuple[str, ColumnType | None]],
) -> None:
    """CREATE INDEX built online (readers and writers go on): ALGORITHM=INPLACE, LOCK=NONE.
    A None type is the row id."""
    quote = connection.dialect.identifier_preparer.quote_identifier
    parts = ", ".join(
        quote(column) if kind is None else index_part(quote(column), kind)
        for column, kind in columns
    )
    connection.exec_driver_sql(
        f"CREATE INDEX {quote(name)} ON {quote(table_name)} ({parts}) ALGORITHM=INPLACE LOCK=NONE"
    )


def copy_indexes(
    connection: Connection, source: str, target: str, types: dict[str, ColumnType]
) -> None:
    """The secondary indexes of `source` made again on `target`, for its column types."""
    for name, columns in table_indexes(connection, source).items():
        create_index(connection, target, name, [(c, types.get(c)) for c in columns])


def kill_query(engine: Engine, driver: Any) -> None:
    """Stop the statement running on `driver` with KILL QUERY from another connection (the
    protocol has no cancel request); safe from any thread."""
    other = engine.raw_connection()
    try:
        with other.cursor() as cursor:
            cursor.execute(f"KILL QUERY {int(driver.thread_id())}")
    finally:
        other.close()


def is_stopped(error: BaseException) -> bool:
    """Whether a driver error is a statement stopped by its time limit or by KILL QUERY."""
    import pymysql

    return isinstance(error, pymysql.err.MySQLError) and bool(
        error.args and error.args[0] in STOPPED_ERRORS
    )
