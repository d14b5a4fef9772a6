"""Table shapes in the warehouse: how csvhub's column types map to SQL types, both ways."""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any, Protocol

from sqlalchemy import (
    JSON,
    Boolean,
    Column,
    Date,
    DateTime,
    Float,
    Integer,
    MetaData,
    Numeric,
    String,
    Table,
    types,
)
from sqlalchemy.engine import Connection

from csvhub.schema import ColumnType

ROW_ID = "_row_id"
# A dataset's table, or the table a replacing load fills before it takes the dataset's name.
_TABLE_NAME = re.compile(r"^ds_[0-9a-f]{32}(_new)?$")
STAGING_SUFFIX = "_new"
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


def staging_name(table_name: str) -> str:
    """The table a replacing load of `table_name` fills (see LoadSession, replace=True)."""
    return check_table_name(check_table_name(table_name) + STAGING_SUFFIX)


def check_table_name(name: str) -> str:
    if not _TABLE_NAME.match(name):
        raise ValueError(f"not a csvhub warehouse table name: {name!r}")
    return name


def check_column_name(name: str) -> str:
    """Column names come from csvread's header cleaning; refuse anything else before it is SQL."""
    if not _COLUMN_NAME.match(name):
        raise ValueError(f"not a safe column name: {name!r}")
    return name


def column_type_of(sql: types.TypeEngine[Any]) -> ColumnType:
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


class TableTypes(Protocol):
    """What a table's shape needs of its warehouse dialect (a dialects.WarehouseDialect; the
    dialects build on this module, so it names none of them)."""

    def row_id_column(self, *, primary_key: bool = True) -> Column[Any]: ...

    def sql_type(
        self, column_type: ColumnType, scale: int | None = None
    ) -> types.TypeEngine[Any]: ...

    def column_type(self, sql: types.TypeEngine[Any]) -> ColumnType: ...


def dataset_table(
    table_name: str,
    columns: Sequence[tuple[str, ColumnType, int | None]],
    dialect: TableTypes,
    *,
    primary_key: bool = True,
) -> Table:
    """The SQLAlchemy Table of a dataset, built from its known (name, type, scale) columns
    (no reflection), with the dialect's declared types.

    `primary_key=False` leaves out the key on the row id, for a table that is filled before
    the key is added (where the dialect supports that).
    """
    return Table(
        check_table_name(table_name),
        MetaData(),
        dialect.row_id_column(primary_key=primary_key),
        *(
            Column(check_column_name(name), dialect.sql_type(column_type, scale))
            for name, column_type, scale in columns
        ),
    )


def reflect_columns(
    connection: Connection, table_name: str, dialect: TableTypes
) -> dict[str, tuple[ColumnType, int | None]] | None:
    """The table's columns as (type, scale) in table order, or None when it does not exist."""
    from sqlalchemy import inspect

    inspector = inspect(connection)
    if not inspector.has_table(check_table_name(table_name)):
        return None
    return {
        column["name"]: (dialect.column_type(column["type"]), scale_of(column["type"]))
        for column in inspector.get_columns(table_name)
        if column["name"] != ROW_ID
    }


def scale_of(sql: types.TypeEngine[Any]) -> int | None:
    """The declared scale of a reflected decimal column (None: none declared)."""
    if isinstance(sql, Numeric) and not isinstance(sql, (Integer, Float)):
        return sql.scale
    return None
