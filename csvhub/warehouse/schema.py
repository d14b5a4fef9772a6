"""Table shapes in the warehouse: how csvhub's column types map to SQL types, both ways."""

from __future__ import annotations

import re
from collections.abc import Sequence

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Column,
    Date,
    DateTime,
    Float,
    Identity,
    Integer,
    MetaData,
    Numeric,
    String,
    Table,
    Text,
    types,
)
from sqlalchemy.dialects.sqlite import REAL
from sqlalchemy.engine import Connection

from csvhub.schema import ColumnType

ROW_ID = "_row_id"
_TABLE_NAME = re.compile(r"^ds_[0-9a-f]{32}$")
_COLUMN_NAME = re.compile(r"^[a-z][a-z0-9_]{0,62}$")

LOADS = Table(
    "csvhub_loads",
    MetaData(),
    Column("upload_id", String(36), primary_key=True),
    Column("table_name", String(64), nullable=False, index=True),
    Column("result", JSON, nullable=False),
)


def table_name_for(dataset_hex: str) -> str:
    name = f"ds_{dataset_hex}"
    check_table_name(name)
    return name


def check_table_name(name: str) -> str:
    if not _TABLE_NAME.match(name):
        raise ValueError(f"not a csvhub warehouse table name: {name!r}")
    return name


def check_column_name(name: str) -> str:
    """Column names come from csvread's header cleaning; refuse anything else before it is SQL."""
    if not _COLUMN_NAME.match(name):
        raise ValueError(f"not a safe column name: {name!r}")
    return name


def sql_type(column_type: ColumnType, dialect: str) -> types.TypeEngine:
    if column_type is ColumnType.INTEGER:
        return BigInteger()
    if column_type is ColumnType.DECIMAL:
        # SQLite has no exact decimal: REAL keeps numeric order and arithmetic (docs/decisions.md).
        return REAL() if dialect == "sqlite" else Numeric()
    if column_type is ColumnType.BOOLEAN:
        return Boolean(create_constraint=False)
    if column_type is ColumnType.DATE:
        return Date()
    if column_type is ColumnType.TIMESTAMP:
        return DateTime(timezone=True)
    return Text()


def column_type_of(sql: types.TypeEngine) -> ColumnType:
    """Read back the csvhub type of a reflected warehouse column."""
    if isinstance(sql, Integer):
        return ColumnType.INTEGER
    if isinstance(sql, (Numeric, Float)):  # SQLAlchemy 2.1: Float is not a Numeric
        return ColumnType.DECIMAL
    if isinstance(sql, Boolean):
        return ColumnType.BOOLEAN
    if isinstance(sql, DateTime):
        return ColumnType.TIMESTAMP
    if isinstance(sql, Date):
        return ColumnType.DATE
    return ColumnType.TEXT


def dataset_table(
    table_name: str,
    columns: Sequence[tuple[str, ColumnType]],
    dialect: str,
    *,
    primary_key: bool = True,
) -> Table:
    """The SQLAlchemy Table of a dataset, built from its known columns (no reflection).

    `primary_key=False` (PostgreSQL only) leaves out the key on the row id, for a table that
    is filled before the key is added (see add_primary_key).
    """
    row_id = (
        Column(ROW_ID, Integer, primary_key=True)
        if dialect == "sqlite"  # INTEGER PRIMARY KEY is SQLite's rowid: free and ordered
        else Column(
            ROW_ID, BigInteger, Identity(always=False), primary_key=primary_key, nullable=False
        )
    )
    return Table(
        check_table_name(table_name),
        MetaData(),
        row_id,
        *(
            Column(check_column_name(name), sql_type(column_type, dialect))
            for name, column_type in columns
        ),
    )


def add_primary_key(connection: Connection, table_name: str) -> None:
    """Key a table made with dataset_table(primary_key=False) on its row id (PostgreSQL)."""
    quote = connection.dialect.identifier_preparer.quote_identifier
    connection.exec_driver_sql(
        f"ALTER TABLE {quote(check_table_name(table_name))} ADD PRIMARY KEY ({quote(ROW_ID)})"
    )


def reflect_columns(connection: Connection, table_name: str) -> dict[str, ColumnType] | None:
    """The table's columns and types in table order, or None when it does not exist."""
    from sqlalchemy import inspect

    inspector = inspect(connection)
    if not inspector.has_table(check_table_name(table_name)):
        return None
    return {
        column["name"]: column_type_of(column["type"])
        for column in inspector.get_columns(table_name)
        if column["name"] != ROW_ID
    }
