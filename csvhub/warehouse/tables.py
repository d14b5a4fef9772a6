"""Whole-table operations: drop, count, existence."""

from __future__ import annotations

from sqlalchemy import Engine, delete, text
from sqlalchemy.engine import Connection

from csvhub.warehouse.dialects import dialect_of
from csvhub.warehouse.edits import journal_forget_table
from csvhub.warehouse.engine import get_engine
from csvhub.warehouse.schema import LOADS, check_table_name


def table_drop(*, table_name: str, engine: Engine | None = None) -> None:
    """Drop a dataset's table and forget its loads; waits for a load in progress to finish."""
    engine = engine or get_engine()
    check_table_name(table_name)
    quoted = engine.dialect.identifier_preparer.quote_identifier(table_name)
    dialect = dialect_of(engine)
    with engine.connect() as connection:
        # Locked as loads lock (see LoadSession): a load in progress finishes first.
        connection = dialect.for_writes(connection)
        with connection.begin():
            dialect.lock_table(connection, table_name)
            _drop(connection, table_name, quoted)


def _drop(connection: Connection, table_name: str, quoted: str) -> None:
    dialect_of(connection.engine).drop_table(connection, quoted)
    LOADS.create(connection, checkfirst=True)
    connection.execute(delete(LOADS).where(LOADS.c.table_name == table_name))
    journal_forget_table(connection, table_name)


def table_exists(*, table_name: str, engine: Engine | None = None) -> bool:
    from sqlalchemy import inspect

    engine = engine or get_engine()
    with engine.connect() as connection:
        return inspect(connection).has_table(check_table_name(table_name))


def table_row_count(*, table_name: str, engine: Engine | None = None) -> int:
    """An exact COUNT(*): for tests and repair, never for the API (counts come from metadata)."""
    engine = engine or get_engine()
    quoted = engine.dialect.identifier_preparer.quote_identifier(check_table_name(table_name))
    with engine.connect() as connection:
        return connection.execute(text(f"SELECT COUNT(*) FROM {quoted}")).scalar_one()
