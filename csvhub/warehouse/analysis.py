"""The analysis SQL: aggregates, time buckets, histograms and extremes over a dataset's table.

Rows are chosen by a `warehouse.query.RowSet`, whose filters become WHERE clauses through
query.py's own builder, so an analysis sees exactly the rows the rows endpoint would. Column
names are checked (schema.check_column_name, via the RowSet's fields) and every value is a
bound parameter; the only SQL words chosen by a request (an aggregate function, a bucket) are
looked up in fixed tables here.

Both warehouses answer with Python values of one kind per column type: int, Decimal (floats
from SQLite's REAL become the Decimal of their shortest repr), bool, date, aware UTC datetime,
str. Time buckets start at UTC minute, hour, day, ISO week (Monday) or month boundaries on both.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    BigInteger,
    DateTime,
    Engine,
    Float,
    Integer,
    Select,
    Text,
    case,
    cast,
    func,
    literal,
    null,
    select,
)
from sqlalchemy.sql.elements import ColumnElement

from csvhub.grammar.analysis import Bucket, Function  # the names the analysis grammar declares
from csvhub.schema import ColumnType, values
from csvhub.warehouse.engine import get_engine, read_connection

# query.py's builder turns a RowSet's conditions into WHERE clauses; it is the one place that
# does, so analysis borrows it rather than keeping a second copy of the filter SQL.
from csvhub.warehouse.query import Order, QueryBuilder, RowSet

# NULLS LAST arrived in SQLite 3.30; older versions sort on `col IS NULL` first.
_SQLITE_NULLS_ORDER = sqlite3.sqlite_version_info >= (3, 30, 0)


@dataclass(frozen=True)
class Metric:
    function: Function
    column: str | None = None  # None: count rows
    # SQLite sums a decimal column as whole numbers of 10**-scale: exact for values with at most
    # `scale` decimals (choose it so the sum fits 64 bits). Without it, REAL arithmetic.
    scale: int | None = None


_AGGREGATES: dict[Function, Callable[[ColumnElement], ColumnElement]] = {
    Function.COUNT: func.count,
    Function.SUM: func.sum,
    Function.AVG: func.avg,
    Function.MIN: func.min,
    Function.MAX: func.max,
}


class _Source:
    """The RowSet's table and WHERE clauses, and its columns as analysis reads them."""

    def __init__(self, rows: RowSet, dialect: str) -> None:
        self.query = QueryBuilder(rows, dialect)
        self.dialect = dialect
        self.table = self.query.table

    def where(self) -> list[ColumnElement]:
        return self.query.conditions()

    def type_of(self, name: str) -> ColumnType:
        return self.query.field(name).type

    def column(self, name: str) -> ColumnElement:
        self.query.field(name)  # a ValueError for a name that is not one of the RowSet's
        return self.table.c[name]

    def ordered(self, name: str) -> ColumnElement:
        """The column as MIN/MAX and ORDER BY see it: text in code point order on both."""
        self.query.field(name)
        return self.query.compared(name)

    def group_key(self, name: str) -> ColumnElement:
        column = self.ordered(name)
        if self.dialect == "sqlite" and self.type_of(name) is ColumnType.TIMESTAMP:
            # SQLite keeps fractions as written (`.5`, `.500`): group on the shortest spelling.
            trimmed = func.rtrim(func.rtrim(column, "0", type_=Text), ".", type_=Text)
            return case((func.instr(column, ".") > 0, trimmed), else_=column)
        return column

    def argument(self, metric: Metric) -> ColumnElement:
        assert metric.column is not None
        if metric.function in (Function.MIN, Function.MAX, Function.COUNT):
            return self.ordered(metric.column)
        return self.column(metric.column)

    def bucket_start(self, name: str, bucket: Bucket) -> ColumnElement:
        column, column_type = self.column(name), self.type_of(name)
        if self.dialect == "postgresql":
            return _postgres_bucket(column, column_type, bucket)
        return _sqlite_bucket(column, column_type, bucket)


def _postgres_bucket(
    column: ColumnElement, column_type: ColumnType, bucket: Bucket
) -> ColumnElement:
    # date_trunc on a UTC wall-clock timestamp: weeks start on Monday, months on the 1st.
    if column_type is ColumnType.DATE:
        return func.date_trunc(bucket.value, cast(column, DateTime()))
    return func.date_trunc(bucket.value, func.timezone("UTC", column))


def _sqlite_bucket(column: ColumnElement, column_type: ColumnType, bucket: Bucket) -> ColumnElement:
    # Dates and timestamps are ISO text in UTC ('YYYY-MM-DD HH:MM:SS[.f]'): most bucket starts
    # are a prefix of that text; a week goes back to its Monday with SQLite's date modifiers.
    def prefix(length: int) -> ColumnElement:
        return func.substr(column, 1, length, type_=Text)

    if bucket is Bucket.MINUTE:
        return prefix(16).concat(":00")
    if bucket is Bucket.HOUR:
        return prefix(13).concat(":00:00")
    if bucket is Bucket.DAY:
        return prefix(10)
    if bucket is Bucket.WEEK:
        return func.date(prefix(10), "-6 days", "weekday 1", type_=Text)
    return prefix(7).concat("-01")


# -- queries ---------------------------------------------------------------------------------


def aggregate(
    rows: RowSet,
    *,
    group_by: Sequence[str],
    metrics: Sequence[Metric],
    order: Sequence[Order[int]] = (),
    limit: int,
    engine: Engine | None = None,
) -> tuple[list[tuple], bool]:
    """One result row per group: the group keys, then the metrics; and whether more groups
    than `limit` exist. Without `group_by`, one row over all the rows.

    Rows are sorted by `order`, then by the group keys not in it, ascending; NULLs last.
    """
    engine = engine or get_engine()
    source, computed, statement = _aggregate_plan(rows, group_by, metrics, order, limit, engine)
    with read_connection(engine) as connection:
        found = connection.execute(statement).all()
    readers = [_reader(source.type_of(name)) for name in group_by]
    results = [_result_row(row, readers, computed) for row in found]
    return results[:limit], len(results) > limit


def aggregate_sql(
    rows: RowSet,
    *,
    group_by: Sequence[str],
    metrics: Sequence[Metric],
    order: Sequence[Order[int]] = (),
    limit: int,
    engine: Engine | None = None,
) -> str:
    """The SQL `aggregate` runs, with its values inlined: for benchmarks against psql only."""
    engine = engine or get_engine()
    _, _, statement = _aggregate_plan(rows, group_by, metrics, order, limit, engine)
    return str(statement.compile(engine, compile_kwargs={"literal_binds": True}))


def _aggregate_plan(
    rows: RowSet,
    group_by: Sequence[str],
    metrics: Sequence[Metric],
    order: Sequence[Order[int]],
    limit: int,
    engine: Engine,
) -> tuple[_Source, list[_Computed], Select]:
    """The statement `aggregate` runs (one row past `limit` tells that more groups exist)."""
    source = _Source(rows, engine.dialect.name)
    computed = [_Computed(source, metric) for metric in metrics]
    statement = _aggregate_statement(source, group_by, computed, order).limit(limit + 1)
    return source, computed, statement


class _Computed:
    """How one metric is computed in SQL and read back into a value.

    Averages are computed as an exact sum and a count, divided here, so both warehouses give
    the same digits. On SQLite a decimal sum adds integers of 10**-scale (Metric.scale), which
    is exact where the REAL values' own sum is not.
    """

    def __init__(self, source: _Source, metric: Metric) -> None:
        self.metric = metric
        self.dialect = source.dialect
        self.kind = _metric_type(source, metric)
        self.scale = None
        if (
            source.dialect == "sqlite"
            and metric.column is not None
            and metric.function in (Function.SUM, Function.AVG)
            and source.type_of(metric.column) is ColumnType.DECIMAL
            and metric.scale is not None
        ):
            self.scale = metric.scale
        self.width = 2 if metric.function is Function.AVG else 1
        self._read = _reader(self.kind)

    def argument(self, source: _Source) -> ColumnElement | None:
        if self.metric.column is None:
            return None
        argument = source.argument(self.metric)
        if self.scale is not None:
            return cast(func.round(argument * (10**self.scale)), BigInteger)
        return argument

    def columns(self, argument: ColumnElement | None) -> list[ColumnElement]:
        if argument is None:
            return [func.count()]
        if self.metric.function is Function.AVG:
            return [func.sum(argument), func.count(argument)]
        return [_AGGREGATES[self.metric.function](argument)]

    def sort_key(self, outputs: list[ColumnElement]) -> ColumnElement:
        if self.metric.function is not Function.AVG:
            return outputs[0]
        total, count = outputs
        return (cast(total, Float) if self.dialect == "sqlite" else total) / count

    def read(self, values: Sequence[Any]) -> Any:
        if self.metric.function is Function.AVG:
            total, count = values
            return None if not count else self._sum(total) / count
        if self.metric.function is Function.SUM and values[0] is not None:
            return self._sum(values[0])
        return self._read(values[0])

    def _sum(self, total: Any) -> int | Decimal:
        if self.scale is not None:
            return Decimal(total).scaleb(-self.scale)
        return int(total) if self.kind is ColumnType.INTEGER else _number(total)


def _result_row(row: Sequence[Any], readers: list, computed: list[_Computed]) -> tuple:
    values = [read(value) for read, value in zip(readers, row[: len(readers)], strict=True)]
    position = len(readers)
    for metric in computed:
        values.append(metric.read(row[position : position + metric.width]))
        position += metric.width
    return tuple(values)


def _aggregate_statement(
    source: _Source, group_by: Sequence[str], computed: list[_Computed], order: Sequence[Order[int]]
) -> Select:
    # Three layers, which both planners flatten: the filtered rows with the group keys and
    # metric arguments as labelled columns; the groups; their order. Grouping and sorting by
    # those labels keeps each expression (and its bound values) written once.
    keys = [source.group_key(name).label(f"g{i}") for i, name in enumerate(group_by)]
    arguments = [
        (i, argument)
        for i, metric in enumerate(computed)
        if (argument := metric.argument(source)) is not None
    ]
    picked = select(*keys, *(argument.label(f"a{i}") for i, argument in arguments))
    picked = picked.select_from(source.table).where(*source.where())
    if not keys and not arguments:
        picked = select(literal(1).label("one")).select_from(source.table).where(*source.where())
    inner = picked.subquery("picked")
    groups = [inner.c[f"g{i}"] for i in range(len(group_by))]
    named = {i for i, _ in arguments}
    values = [
        column.label(f"m{i}_{j}")
        for i, metric in enumerate(computed)
        for j, column in enumerate(metric.columns(inner.c[f"a{i}"] if i in named else None))
    ]
    grouped = select(*groups, *values).select_from(inner).group_by(*groups).subquery("grouped")
    outputs = list(grouped.c)
    sort_keys = outputs[: len(groups)]
    position = len(groups)
    for metric in computed:
        sort_keys.append(metric.sort_key(outputs[position : position + metric.width]))
        position += metric.width
    return select(*outputs).order_by(*_sort(sort_keys, order, len(groups), source.dialect))


def _sort(keys: list, order: Sequence[Order[int]], groups: int, dialect: str) -> list:
    wanted = list(order)
    named = {item.key for item in wanted}
    wanted += [Order(position) for position in range(groups) if position not in named]
    return [
        clause
        for item in wanted
        for clause in _nulls_last(keys[item.key], item.descending, dialect)
    ]


def _nulls_last(column: ColumnElement, descending: bool, dialect: str) -> list[ColumnElement]:
    ordered = column.desc() if descending else column.asc()
    if dialect == "postgresql" or _SQLITE_NULLS_ORDER:
        return [ordered.nulls_last()]
    return [column.is_(None).asc(), ordered]


def _metric_type(source: _Source, metric: Metric) -> ColumnType | None:
    """The kind of a metric's value: None for counts, DECIMAL for averages."""
    if metric.function is Function.COUNT:
        return None
    if metric.function is Function.AVG:
        return ColumnType.DECIMAL
    assert metric.column is not None
    return source.type_of(metric.column)


def timeseries(
    rows: RowSet,
    *,
    column: str,
    bucket: Bucket,
    metric: Metric,
    limit: int,
    engine: Engine | None = None,
) -> list[tuple[date | datetime, Any]]:
    """(bucket start, metric) for each bucket that holds rows, in time order, at most `limit`.

    Bucket starts are dates for a date column and aware UTC datetimes for a timestamp column.
    Rows whose `column` is NULL belong to no bucket.
    """
    engine = engine or get_engine()
    source = _Source(rows, engine.dialect.name)
    computed = _Computed(source, metric)
    start = source.bucket_start(column, bucket).label("bucket")
    argument = computed.argument(source)
    arguments = [argument.label("a0")] if argument is not None else []
    time = source.column(column)
    inner = select(start, *arguments).where(*source.where(), time.is_not(None)).subquery()
    values = computed.columns(inner.c.a0 if argument is not None else None)
    statement = (
        select(inner.c.bucket, *values)
        .group_by(inner.c.bucket)
        .order_by(inner.c.bucket)
        .limit(limit)
    )
    with read_connection(engine) as connection:
        found = connection.execute(statement).all()
    read_start = _bucket_reader(source.type_of(column))
    return [(read_start(row[0]), computed.read(row[1:])) for row in found]


def extremes(rows: RowSet, *, column: str, engine: Engine | None = None) -> tuple[Any, Any]:
    """MIN and MAX of the column over the rows (None, None when it has no values there)."""
    engine = engine or get_engine()
    source = _Source(rows, engine.dialect.name)
    ordered = source.ordered(column)
    statement = select(func.min(ordered), func.max(ordered)).where(*source.where())
    with read_connection(engine) as connection:
        low, high = connection.execute(statement).one()
    read = _reader(source.type_of(column))
    return read(low), read(high)


def histogram(
    rows: RowSet, *, column: str, edges: Sequence[int | Decimal], engine: Engine | None = None
) -> tuple[list[int], int]:
    """Counts of the column's values in the bins between `edges` (ascending, at least two), and
    the count of NULLs. A bin holds lower <= value < upper; the last bin also holds its upper
    edge, and values outside the edges count in the first or last bin.
    """
    engine = engine or get_engine()
    source = _Source(rows, engine.dialect.name)
    value = source.column(column)
    field = source.query.field(column)
    # Each value finds its bin by binary search over the inner edges: log2(bins) comparisons,
    # each against the edge in the column's stored type (exact NUMERIC, or SQLite's REAL).
    inner_edges = [literal(source.query.store(field, edge), value.type) for edge in edges[1:-1]]
    bin_of = case(
        (value.is_(None), null()), else_=_bin_search(value, inner_edges, 0, len(edges) - 2)
    )
    inner = select(bin_of.label("bin")).where(*source.where()).subquery()
    statement = select(inner.c.bin, func.count()).group_by(inner.c.bin)
    with read_connection(engine) as connection:
        found = dict(connection.execute(statement).all())
    counts = [int(found.get(index, 0)) for index in range(len(edges) - 1)]
    return counts, int(found.get(None, 0))


def _bin_search(value: ColumnElement, edges: list, first: int, last: int) -> ColumnElement:
    """The bin of `value` among bins first..last; edges[i] separates bin i from bin i + 1."""
    if first == last:
        return literal(first, Integer)
    middle = (first + last + 1) // 2
    return case(
        (value < edges[middle - 1], _bin_search(value, edges, first, middle - 1)),
        else_=_bin_search(value, edges, middle, last),
    )


def rows_by_id(
    rows: RowSet, *, row_ids: Sequence[int], engine: Engine | None = None
) -> dict[int, tuple[str | None, ...]]:
    """The rows with these hidden row ids (primary-key lookups), as canonical text of every
    field of the RowSet in order, like warehouse.query.rows_page gives them."""
    engine = engine or get_engine()
    query = QueryBuilder(rows, engine.dialect.name)
    names = [field.name for field in rows.fields]
    statement = select(query.row_id, *(query.text(name) for name in names)).where(
        query.row_id.in_(list(row_ids))
    )
    with read_connection(engine) as connection:
        found = [query.fix(tuple(row)) for row in connection.execute(statement)]
    return {row[0]: row[1:] for row in found}


# -- reading values back -----------------------------------------------------------------------


def _reader(column_type: ColumnType | None) -> Callable[[Any], Any]:
    read = _READERS.get(column_type, _same)

    def read_value(value: Any) -> Any:
        return None if value is None else read(value)

    return read_value


def _same(value: Any) -> Any:
    return value


def _number(value: Any) -> Decimal:
    return value if isinstance(value, Decimal) else Decimal(repr(float(value)))


def _date(value: Any) -> date:
    if isinstance(value, datetime):
        return value.date()
    return value if isinstance(value, date) else date.fromisoformat(value)


def _timestamp(value: Any) -> datetime:
    return values.as_utc(value) if isinstance(value, datetime) else values.parse_timestamp(value)


_READERS: dict[ColumnType | None, Callable[[Any], Any]] = {
    None: int,  # counts
    ColumnType.INTEGER: int,  # SUM(bigint) is NUMERIC on PostgreSQL
    ColumnType.DECIMAL: _number,
    ColumnType.BOOLEAN: bool,  # 0/1 on SQLite
    ColumnType.DATE: _date,
    ColumnType.TIMESTAMP: _timestamp,
    ColumnType.TEXT: str,
}


def _bucket_reader(column_type: ColumnType) -> Callable[[Any], date | datetime]:
    return _date if column_type is ColumnType.DATE else _timestamp
