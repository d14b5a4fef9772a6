"""Retention in the warehouse: old rows deleted by time range in chunks of row ids, a table's
summary recomputed from what is left, and a table's size on disk.

Each chunk is one write transaction holding the table's write lock (as loads take it), so a
load waits for a chunk rather than interleaving with it, and a run killed between chunks has
deleted whole chunks only. Deleting "rows older than the cut" is idempotent: a resumed run finds
the rows already gone and deletes the rest. The summary (counts, row id range, per-column
nulls/extremes/lengths) is recomputed set-based afterwards, inside the table's lock, so it is
exact whatever chunks a killed run had committed.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import Engine, delete, func, null, select
from sqlalchemy.engine import Connection
from sqlalchemy.sql.elements import ColumnElement

from csvhub.grammar.filters import Operator
from csvhub.schema import Column as DatasetColumn
from csvhub.schema import ColumnStats, ColumnType, values
from csvhub.warehouse.analysis import _reader
from csvhub.warehouse.dialects import dialect_of
from csvhub.warehouse.engine import get_engine
from csvhub.warehouse.query import Condition, QueryBuilder, RowSet
from csvhub.warehouse.schema import LOADS, check_table_name
from csvhub.warehouse.tables import table_exists

RANGE_TYPES = (ColumnType.DATE, ColumnType.TIMESTAMP)
EXTREME_TYPES = (ColumnType.INTEGER, ColumnType.DECIMAL, ColumnType.DATE, ColumnType.TIMESTAMP)


@dataclass(frozen=True)
class TableSummary:
    """What a dataset's metadata says about its rows, as the table holds them now."""

    row_count: int
    first_row_id: int | None
    last_row_id: int | None
    stats: dict[str, ColumnStats]
    # Uploads recorded in the table (csvhub_loads): a load committed here but not yet published
    # to the metadata makes the summary ahead of it; the caller waits for the publish.
    loaded_uploads: frozenset[str]


def rows_delete_before(
    *,
    table_name: str,
    fields: Sequence[DatasetColumn],
    column: DatasetColumn,
    cut: date | datetime,
    chunk_rows: int,
    engine: Engine | None = None,
) -> Iterator[int]:
    """Delete the rows whose `column` is before `cut`, one range of `chunk_rows` row ids per
    transaction, in row id order; yields each committed chunk's count (chunks that deleted
    nothing are not yielded). Rows whose `column` is empty are kept: they have no age.

    Chunks are ranges of the primary key, so each DELETE reads at most `chunk_rows` rows
    whatever the table's size, with or without an index on `column`."""
    if column.type not in RANGE_TYPES:
        raise ValueError(f"{column.name} is {column.type}, not a date or timestamp column")
    engine = engine or get_engine()
    if not table_exists(table_name=table_name, engine=engine):
        return
    query = QueryBuilder(RowSet(check_table_name(table_name), tuple(fields)), dialect_of(engine))
    older = query.condition(Condition(column.name, Operator.LT, cut))
    with engine.connect() as connection:
        first, last = connection.execute(
            select(func.min(query.row_id), func.max(query.row_id)).where(older)
        ).one()
    if first is None:
        return
    for start in range(int(first), int(last) + 1, chunk_rows):
        deleted = _delete_range(engine, query, older, start, start + chunk_rows)
        if deleted:
            yield deleted


def _delete_range(
    engine: Engine, query: QueryBuilder, older: ColumnElement[Any], start: int, end: int
) -> int:
    """Delete the rows before the cut among row ids start <= id < end, in one transaction
    holding the table's write lock (a load waits for one chunk at most)."""
    dialect = dialect_of(engine)
    with engine.connect() as connection:
        connection = dialect.for_writes(connection)
        with connection.begin():
            dialect.lock_table(connection, query.table.name)
            statement = delete(query.table).where(older, query.row_id >= start, query.row_id < end)
            return connection.execute(statement).rowcount or 0


@contextmanager
def summary_locked(
    *, table_name: str, fields: Sequence[DatasetColumn], engine: Engine | None = None
) -> Iterator[TableSummary]:
    """The table's row count, row id range and per-column statistics, in one scan; the
    table's write lock is held until the `with` block ends, so that the caller can write the
    summary to the metadata before any load commits more rows."""
    engine = engine or get_engine()
    dialect = dialect_of(engine)
    query = QueryBuilder(RowSet(check_table_name(table_name), tuple(fields)), dialect)
    with engine.connect() as connection:
        connection = dialect.for_writes(connection)
        with connection.begin():
            dialect.lock_table(connection, query.table.name)
            row: Sequence[Any] = (0, None, None, *([0, None, None, None, None] * len(fields)))
            if table_exists(table_name=table_name, engine=engine):  # else: nothing ever loaded
                row = connection.execute(_summary_statement(query, fields)).one()
            yield _summary(query, fields, row, _loaded_uploads(connection, table_name))


def _summary(
    query: QueryBuilder, fields: Sequence[DatasetColumn], row: Sequence[Any], loaded: frozenset[str]
) -> TableSummary:
    count, first, last = int(row[0]), row[1], row[2]
    stats = {}
    for index, field in enumerate(fields):
        stats[field.name] = _column_stats(query, field, count, row[3 + 5 * index : 8 + 5 * index])
    return TableSummary(
        row_count=count,
        first_row_id=None if first is None else int(first),
        last_row_id=None if last is None else int(last),
        stats=stats,
        loaded_uploads=loaded,
    )


def _summary_statement(query: QueryBuilder, fields: Sequence[DatasetColumn]) -> Any:
    parts: list[ColumnElement[Any]] = [func.count(), func.min(query.row_id), func.max(query.row_id)]
    for field in fields:
        stored = query.table.c[field.name]
        # Extremes are kept for numbers, dates and timestamps only (ColumnStats), and lengths
        # are of cells as written, which only a text column still holds.
        ordered = query.compared(field.name) if field.type in EXTREME_TYPES else null()
        length = query.dialect.text_length(stored) if field.type is ColumnType.TEXT else null()
        parts += [
            func.count(stored),
            func.min(ordered),
            func.max(ordered),
            func.min(length),
            func.max(length),
        ]
    return select(*parts).select_from(query.table)


def _column_stats(
    query: QueryBuilder, field: DatasetColumn, count: int, found: Sequence[Any]
) -> ColumnStats:
    non_null, low, high, shortest, longest = found
    non_null = int(non_null or 0)
    value_type = field.type if field.type in EXTREME_TYPES else None
    read = _reader(field.type, query.dialect, field.scale)
    return ColumnStats(
        nulls=count - non_null,
        non_null=non_null,
        min_value=_text(field.type, read(low)) if value_type else None,
        max_value=_text(field.type, read(high)) if value_type else None,
        min_length=None if shortest is None else int(shortest),
        max_length=None if longest is None else int(longest),
        value_type=value_type,
    )


def _text(column_type: ColumnType, value: Any) -> str | None:
    return None if value is None else values.text(column_type, value)


def _loaded_uploads(connection: Connection, table_name: str) -> frozenset[str]:
    LOADS.create(connection, checkfirst=True)
    found = connection.execute(select(LOADS.c.upload_id).where(LOADS.c.table_name == table_name))
    return frozenset(str(upload_id) for (upload_id,) in found)


def table_bytes(*, table_name: str, engine: Engine | None = None) -> int | None:
    """About the bytes the table and its indexes take (None where the engine cannot say)."""
    engine = engine or get_engine()
    check_table_name(table_name)
    with engine.connect() as connection:
        return dialect_of(engine).table_bytes(connection, table_name)


__all__ = ["TableSummary", "rows_delete_before", "summary_locked", "table_bytes"]
