"""duckdb-engine's SQLAlchemy dialect, with what csvhub's warehouse needs of it.

duckdb-engine reflects no indexes (it warns and answers none), its column reflection (that of
SQLAlchemy's PostgreSQL dialect) reads catalog tables DuckDB lacks, it passes decimals through
float, and it turns SQLAlchemy's statement cache off, which makes every rows page compile its
SELECT anew. Columns and indexes are read from DuckDB's own catalog (`duckdb_columns()`,
`duckdb_indexes()`); the cache is safe with the PostgreSQL compiler it uses.

A DuckDB connection commits each statement by itself until it is told BEGIN (its Python API
has no implicit transaction, unlike most drivers'), and a ROLLBACK with no transaction open
raises. The pool rolls back every connection it takes back, and a rows page runs outside any
transaction, so each page paid for that error (0.2-1 ms of a 10 ms page): the dialect notes the
BEGIN it sends and rolls back only a connection that has one open, or that was marked by
`expect_rollback` (a streamed result: DuckDB keeps a statement's transaction open until its
result is read to the end). The rule that follows: csvhub begins DuckDB transactions through
SQLAlchemy only, never with the driver's `begin()` or a BEGIN statement.
Registered as `duckdb+csvhub` by dialects/duckdb.py.
"""

from __future__ import annotations

from typing import Any

import duckdb
from duckdb_engine import Dialect, DuckDBIdentifierPreparer
from sqlalchemy import (
    BigInteger,
    Boolean,
    Date,
    DateTime,
    Double,
    Integer,
    Numeric,
    Text,
    text,
    types,
)


class _Preparer(DuckDBIdentifierPreparer):
    """Quotes every DuckDB keyword, not only the reserved ones: `at` (a column of a user's
    file) is a keyword DuckDB refuses as a bare column name in CREATE TABLE."""

    def __init__(self, dialect: Any, **kwargs: Any) -> None:
        super().__init__(dialect, **kwargs)
        with duckdb.connect(":memory:", config={"autoload_known_extensions": False}) as db:
            rows = db.execute("SELECT keyword_name FROM duckdb_keywords()").fetchall()
        self.reserved_words.update(name for (name,) in rows)


# In a pooled connection's info: a BEGIN was sent (or a streamed result is open, see
# expect_rollback) and no COMMIT or ROLLBACK has ended it yet.
_OPEN_TRANSACTION = "csvhub_duckdb_open_transaction"


class CsvhubDuckDB(Dialect):
    supports_statement_cache = True
    # DuckDB hands DECIMAL values over as Decimal: SQLAlchemy must not round-trip them
    # through float (79930.22 would read 79930.2207031250).
    supports_native_decimal = True
    preparer = _Preparer

    # SQLAlchemy hands these the pool's proxy of the connection, whose `info` lasts as long
    # as the DuckDB connection; a connection without one (the first connect's) is rolled back
    # as before.
    def do_begin(self, dbapi_connection: Any) -> None:
        super().do_begin(dbapi_connection)
        if (marks := _transaction_marks(dbapi_connection)) is not None:
            marks[_OPEN_TRANSACTION] = True

    def do_commit(self, dbapi_connection: Any) -> None:
        super().do_commit(dbapi_connection)  # type: ignore[no-untyped-call]
        if (marks := _transaction_marks(dbapi_connection)) is not None:
            marks.pop(_OPEN_TRANSACTION, None)

    def do_rollback(self, dbapi_connection: Any) -> None:
        marks = _transaction_marks(dbapi_connection)
        if marks is not None and not marks.get(_OPEN_TRANSACTION):
            return
        # Cleared once it succeeded: SQLAlchemy retries a failed rollback at the pool's reset
        # (and invalidates the connection if that fails too).
        super().do_rollback(dbapi_connection)
        if marks is not None:
            marks.pop(_OPEN_TRANSACTION, None)

    def get_columns(
        self, connection: Any, table_name: str, schema: str | None = None, **kw: Any
    ) -> list[Any]:
        # SQLAlchemy 2.1's PostgreSQL reflection reads pg_collation, which DuckDB lacks.
        rows = connection.execute(
            text(
                "SELECT column_name, data_type, is_nullable, numeric_precision, numeric_scale "
                "FROM duckdb_columns() WHERE table_name = :table_name AND schema_name = 'main' "
                "ORDER BY column_index"
            ),
            {"table_name": table_name},
        )
        return [
            {
                "name": name,
                "type": _type_of(data_type, precision, scale),
                "nullable": bool(nullable),
                "default": None,
            }
            for name, data_type, nullable, precision, scale in rows
        ]

    def get_indexes(
        self, connection: Any, table_name: str, schema: str | None = None, **kw: Any
    ) -> list[Any]:
        rows = connection.execute(
            text(
                "SELECT index_name, expressions, is_unique FROM duckdb_indexes() "
                "WHERE table_name = :table_name ORDER BY index_name"
            ),
            {"table_name": table_name},
        )
        return [
            {"name": name, "column_names": _column_names(expressions), "unique": bool(unique)}
            for name, expressions, unique in rows
        ]


def expect_rollback(pooled: Any) -> None:
    """Have the pool roll back this connection (the pool's proxy) when it takes it back."""
    if (marks := _transaction_marks(pooled)) is not None:
        marks[_OPEN_TRANSACTION] = True


def _transaction_marks(dbapi_connection: Any) -> dict[str, Any] | None:
    try:
        return dbapi_connection.info  # type: ignore[no-any-return]
    except (AttributeError, NotImplementedError):  # the driver's own, or an ad hoc proxy
        return None


def _column_names(expressions: str) -> list[str]:
    """`[client_id, '"order"', _row_id]` → the column names (csvhub's are plain identifiers,
    quoted when they are keywords)."""
    inner = expressions.strip().removeprefix("[").removesuffix("]")
    return [part.strip().strip("'").strip('"') for part in inner.split(",") if part.strip()]


_TYPES: dict[str, type[types.TypeEngine[Any]]] = {
    "BIGINT": BigInteger,
    "INTEGER": Integer,
    "HUGEINT": BigInteger,
    "BOOLEAN": Boolean,
    "DATE": Date,
    "DOUBLE": Double,
    "VARCHAR": Text,
}


def _type_of(data_type: str, precision: int | None, scale: int | None) -> types.TypeEngine[Any]:
    if data_type.startswith("DECIMAL"):
        return Numeric(precision, scale)
    if data_type.startswith("TIMESTAMP"):
        return DateTime(timezone="TIME ZONE" in data_type)
    return _TYPES.get(data_type, Text)()
