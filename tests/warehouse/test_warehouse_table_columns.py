"""A table's columns as loads read them (WarehouseDialect.table_columns): on every engine the
same types and scales as SQLAlchemy's reflection, whether the engine asks its catalog in one
query (PostgreSQL) or reflects."""

from __future__ import annotations

import pytest
from sqlalchemy import Engine, Numeric

from csvhub.schema import ColumnType
from csvhub.warehouse.dialects import dialect_of
from csvhub.warehouse.engine import get_engine
from csvhub.warehouse.schema import dataset_table, reflect_columns

pytestmark = pytest.mark.django_db(transaction=True)

TABLE = "ds_" + "c0" * 16
COLUMNS = [
    ("sensor", ColumnType.TEXT, None),
    ("count", ColumnType.INTEGER, None),
    ("price", ColumnType.DECIMAL, 2),
    ("ratio", ColumnType.DECIMAL, 10),
    ("ok", ColumnType.BOOLEAN, None),
    ("day", ColumnType.DATE, None),
    ("at", ColumnType.TIMESTAMP, None),
]


def test_table_columns_match_reflection_with_types_and_scales(warehouse):
    engine = get_engine()
    dialect = dialect_of(engine)
    with engine.begin() as connection:
        dataset_table(TABLE, COLUMNS, dialect).create(connection)
    try:
        with engine.connect() as connection:
            found = dialect.table_columns(connection, TABLE)
            reflected = reflect_columns(connection, TABLE, dialect)
        assert found == reflected
        assert found == {name: (kind, scale) for name, kind, scale in COLUMNS}
        assert list(found) == [name for name, _, _ in COLUMNS]  # in table order
    finally:
        _drop(engine)


def test_table_columns_read_an_unscaled_decimal_as_reflection_does(warehouse):
    """A decimal column made before exact decimals has no declared scale (None): appends keep
    it so (csvhub.datasets.typed_writes)."""
    engine = get_engine()
    dialect = dialect_of(engine)
    table = dataset_table(TABLE, [("amount", ColumnType.DECIMAL, 2)], dialect)
    if warehouse == "postgres":  # NUMERIC without a scale, as such tables were made
        table.c.amount.type = Numeric()
    with engine.begin() as connection:
        table.create(connection)
    try:
        with engine.connect() as connection:
            found = dialect.table_columns(connection, TABLE)
            assert found == reflect_columns(connection, TABLE, dialect)
        if warehouse == "postgres":
            assert found == {"amount": (ColumnType.DECIMAL, None)}
    finally:
        _drop(engine)


def test_table_columns_of_a_missing_table_are_none(warehouse):
    engine = get_engine()
    with engine.connect() as connection:
        assert dialect_of(engine).table_columns(connection, TABLE) is None


def _drop(engine: Engine) -> None:
    with engine.begin() as connection:
        quoted = connection.dialect.identifier_preparer.quote_identifier(TABLE)
        dialect_of(engine).drop_table(connection, quoted)
