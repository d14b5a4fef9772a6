"""Samples for alarms: (row id, time, group, value) of a dataset's rows, in sample order.

Alarm evaluation reads the rows one commit added (a row-id range); a dry run reads the rows
stored (no range, capped). Both come ordered by the time column (empty times last), then by
row id, in canonical text like every other read (csvhub.warehouse.query), so the three
warehouses answer alike.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Engine, select
from sqlalchemy.sql.elements import ColumnElement

from csvhub.schema import Column as DatasetColumn
from csvhub.warehouse.dialects import dialect_of
from csvhub.warehouse.engine import get_engine, read_connection
from csvhub.warehouse.query import Order, QueryBuilder, RowSet
from csvhub.warehouse.schema import ROW_ID


@dataclass(frozen=True)
class SampleRow:
    row_id: int
    time: str | None  # canonical text of the time column; None without one, or an empty cell
    group: str | None
    value: str | None


@dataclass(frozen=True)
class SampleQuery:
    table_name: str
    fields: tuple[DatasetColumn, ...]  # the dataset's columns
    value: str
    time: str | None = None
    group: str | None = None


def samples_read(
    query: SampleQuery,
    *,
    first_row_id: int | None = None,
    last_row_id: int | None = None,
    limit: int | None = None,
    engine: Engine | None = None,
) -> list[SampleRow]:
    """The rows with `first_row_id <= _row_id <= last_row_id` (either bound optional), at most
    `limit` of them, ordered by time then row id."""
    engine = engine or get_engine()
    order = (Order(query.time),) if query.time else ()
    builder = QueryBuilder(RowSet(query.table_name, query.fields, order=order), dialect_of(engine))
    names = list(dict.fromkeys(n for n in (query.time, query.group, query.value) if n))
    statement = select(builder.row_id, *(builder.text(name) for name in names))
    statement = statement.where(*_row_range(builder.row_id, first_row_id, last_row_id))
    statement = statement.order_by(*builder.order_by(builder.keys(reverse=False)))
    if limit is not None:
        statement = statement.limit(limit)
    fix = builder.fixer([ROW_ID, *names])
    with read_connection(engine) as connection:
        rows = [tuple(row) for row in connection.execute(statement)]
    rows = [fix(row) for row in rows] if fix else rows
    return [_sample(query, names, row) for row in rows]


def _row_range(
    row_id: ColumnElement[int], first: int | None, last: int | None
) -> list[ColumnElement[bool]]:
    bounds = []
    if first is not None:
        bounds.append(row_id >= first)
    if last is not None:
        bounds.append(row_id <= last)
    return bounds


def _sample(query: SampleQuery, names: list[str], row: tuple[object, ...]) -> SampleRow:
    cells = dict(zip(names, row[1:], strict=True))

    def cell(name: str | None) -> str | None:
        found = cells.get(name) if name else None
        return None if found is None else str(found)

    return SampleRow(
        row_id=int(str(row[0])),
        time=cell(query.time),
        group=cell(query.group),
        value=cell(query.value),
    )
