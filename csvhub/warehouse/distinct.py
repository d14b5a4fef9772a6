"""A column's distinct values with their counts (GROUP BY in the warehouse), for cleaning's
clustering suggestions: the table never comes into Python, only its distinct values."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Engine, func, select

from csvhub.schema import Column
from csvhub.warehouse.dialects import dialect_of
from csvhub.warehouse.engine import get_engine, read_connection
from csvhub.warehouse.query import QueryBuilder, RowSet


@dataclass(frozen=True)
class DistinctValues:
    values: list[tuple[str, int]]  # value, rows holding it; most frequent first
    complete: bool  # False: the column has more distinct values than the cap


def distinct_values(
    *, table_name: str, column: Column, cap: int, engine: Engine | None = None
) -> DistinctValues:
    """The `cap` most frequent non-null values of a text column and their counts. Text is
    compared in code point order on every warehouse (binary collations), so `Acme` and `ACME`
    are two values here, as they are in the rows."""
    engine = engine or get_engine()
    query = QueryBuilder(RowSet(table_name, (column,)), dialect_of(engine))
    value = query.table.c[column.name]
    count = func.count().label("n")
    statement = (
        select(value, count)
        .where(value.is_not(None))
        .group_by(value)
        .order_by(count.desc(), value)
        .limit(cap + 1)
    )
    with read_connection(engine) as connection:
        found = [(str(row[0]), int(row[1])) for row in connection.execute(statement)]
    return DistinctValues(found[:cap], complete=len(found) <= cap)
