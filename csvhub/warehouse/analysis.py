"""The analysis SQL: aggregates, time buckets, histograms and extremes over a dataset's table.

Rows are chosen by a `warehouse.query.RowSet`, whose filters become WHERE clauses through
query.py's own builder, so an analysis sees exactly the rows the rows endpoint would. Column
names are checked (schema.check_column_name, via the RowSet's fields) and every value is a
bound parameter; the only SQL words chosen by a request (an aggregate function, a bucket) are
looked up in fixed tables here.

Every warehouse answers with Python values of one kind per column type: int, Decimal at the
column's scale (sums too; averages of decimals at the scale plus AVERAGE_DIGITS, rounded half
to even; floats from an older SQLite table's REAL become the Decimal of their shortest repr),
bool, date, aware UTC datetime, str. Averages of integer columns are floats. Time buckets
start at UTC minute, hour, day, ISO week (Monday) or month boundaries on every warehouse.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    Engine,
    Integer,
    Select,
    case,
    func,
    literal,
    literal_column,
    null,
    select,
)
from sqlalchemy.sql.elements import ColumnElement
from sqlalchemy.sql.selectable import Subquery

from csvhub.grammar.analysis import Bucket, Function  # the names the analysis grammar declares
from csvhub.schema import Column, ColumnType, values
from csvhub.warehouse.dialects import WarehouseDialect, dialect_of
from csvhub.warehouse.dialects.base import BucketSteps
from csvhub.warehouse.engine import get_engine, read_connection

# query.py's builder turns a RowSet's conditions into WHERE clauses; it is the one place that
# does, so analysis borrows it rather than keeping a second copy of the filter SQL.
from csvhub.warehouse.query import Order, QueryBuilder, RowSet

# Digits an average of a decimal column has beyond the column's scale (as MySQL's AVG).
AVERAGE_DIGITS = 4
# Histograms with more edges than this are large expressions (dialect.large_expressions): the
# value cells csvhub.datasets.kept counts have 64 to 640.
LARGE_SEARCH_EDGES = 64


@dataclass(frozen=True)
class Metric:
    function: Function
    column: str | None = None  # None: count rows


_AGGREGATES: dict[Function, Callable[[ColumnElement[Any]], ColumnElement[Any]]] = {
    Function.COUNT: func.count,
    Function.MIN: func.min,
    Function.MAX: func.max,
}


class _Source:
    """The RowSet's table and WHERE clauses, and its columns as analysis reads them."""

    def __init__(self, rows: RowSet, dialect: WarehouseDialect) -> None:
        self.query = QueryBuilder(rows, dialect)
        self.dialect = dialect
        self.table = self.query.table

    def where(self) -> list[ColumnElement[Any]]:
        return self.query.conditions()

    def field(self, name: str) -> Column:
        return self.query.field(name)

    def type_of(self, name: str) -> ColumnType:
        return self.query.field(name).type

    def column(self, name: str) -> ColumnElement[Any]:
        self.query.field(name)  # a ValueError for a name that is not one of the RowSet's
        return self.table.c[name]

    def ordered(self, name: str) -> ColumnElement[Any]:
        """The column as MIN/MAX and ORDER BY see it: text in code point order on both."""
        self.query.field(name)
        return self.query.compared(name)

    def group_key(self, name: str) -> ColumnElement[Any]:
        return self.dialect.group_key(self.ordered(name), self.type_of(name))

    def argument(self, metric: Metric) -> ColumnElement[Any]:
        assert metric.column is not None
        if metric.function in (Function.MIN, Function.MAX, Function.COUNT):
            return self.ordered(metric.column)
        return self.column(metric.column)

    def reader(self, name: str) -> Callable[[Any], Any]:
        """Reads the column's values as SQL gives them back (MIN, MAX, group keys)."""
        field = self.field(name)
        return _reader(field.type, self.dialect, field.scale)

    def bucket_start(self, name: str, bucket: Bucket) -> ColumnElement[Any]:
        return self.dialect.bucket_start(self.column(name), self.type_of(name), bucket.value)


# -- queries ---------------------------------------------------------------------------------


def aggregate(
    rows: RowSet,
    *,
    group_by: Sequence[str],
    metrics: Sequence[Metric],
    order: Sequence[Order[int]] = (),
    limit: int,
    engine: Engine | None = None,
    seconds: float | None = None,
) -> tuple[list[tuple[Any, ...]], bool]:
    """One result row per group: the group keys, then the metrics; and whether more groups
    than `limit` exist. Without `group_by`, one row over all the rows. `seconds`: a time
    limit shorter than the read timeout (facets give up early and answer from a summary).

    Rows are sorted by `order`, then by the group keys not in it, ascending; NULLs last.
    """
    engine = engine or get_engine()
    source, computed, statement = _aggregate_plan(rows, group_by, metrics, order, limit, engine)
    with read_connection(engine, seconds=seconds) as connection:
        found = connection.execute(statement).all()
    readers = [source.reader(name) for name in group_by]
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
) -> tuple[_Source, list[_Computed], Select[*tuple[Any, ...]]]:
    """The statement `aggregate` runs (one row past `limit` tells that more groups exist)."""
    source = _Source(rows, dialect_of(engine))
    computed = [_Computed(source, metric) for metric in metrics]
    statement = _aggregate_statement(source, group_by, computed, order).limit(limit + 1)
    return source, computed, statement


class _Computed:
    """How one metric is computed in SQL and read back into a value.

    Sums are the dialect's exact sums (sum_parts, read back by sum_value); averages are such
    a sum and a count, divided here, so every warehouse gives the same digits.
    """

    def __init__(self, source: _Source, metric: Metric) -> None:
        self.metric = metric
        self.dialect = source.dialect
        self.kind = _metric_type(source, metric)
        self.type: ColumnType | None = None
        self.scale: int | None = None
        self._read = _reader(self.kind, self.dialect, None)
        if metric.column is not None:
            self.type = source.type_of(metric.column)
            self.scale = source.field(metric.column).scale
            if self.kind is self.type:  # MIN and MAX
                self._read = source.reader(metric.column)
        self.width = len(self.columns(literal_column("a")))

    def argument(self, source: _Source) -> ColumnElement[Any] | None:
        if self.metric.column is None:
            return None
        return source.argument(self.metric)

    def columns(self, argument: ColumnElement[Any] | None) -> list[ColumnElement[Any]]:
        if argument is None:
            return [func.count()]
        if self.metric.function in (Function.SUM, Function.AVG):
            assert self.type is not None
            parts = self.dialect.sum_parts(argument, self.type, self.scale)
            if self.metric.function is Function.AVG:
                return [*parts, func.count(argument)]
            return parts
        return [_AGGREGATES[self.metric.function](argument)]

    def combined(self, parts: list[ColumnElement[Any]]) -> list[ColumnElement[Any]]:
        """`columns` again over groups of partial results of it: extremes of the extremes,
        sums of the counts and sums (exact; an average is a sum and a count)."""
        combine = _AGGREGATES[self.metric.function] if self._is_extreme() else func.sum
        return [combine(part) for part in parts]

    def _is_extreme(self) -> bool:
        return self.metric.function in (Function.MIN, Function.MAX)

    def sort_key(self, outputs: list[ColumnElement[Any]]) -> ColumnElement[Any]:
        if self.metric.function is Function.SUM:
            return self.dialect.sum_order_key(outputs)
        if self.metric.function is Function.AVG:
            total = self.dialect.sum_order_key(outputs[:-1])
            return self.dialect.average_sort_key(total, outputs[-1])
        return outputs[0]

    def read(self, values: Sequence[Any]) -> Any:
        if self.metric.function is Function.AVG:
            count, total = values[-1], self._sum(values[:-1])
            if not count or total is None:
                return None
            if self.type is ColumnType.DECIMAL and self.scale is not None:
                # sum_value gives a DECIMAL column's sum as a Decimal; its type says int | Decimal.
                return exact_average(total, count, self.scale + AVERAGE_DIGITS)  # type: ignore[arg-type]
            return total / count
        if self.metric.function is Function.SUM:
            return self._sum(values)
        return self._read(values[0])

    def _sum(self, parts: Sequence[Any]) -> int | Decimal | None:
        assert self.type is not None
        return self.dialect.sum_value(parts, self.type, self.scale)


def _result_row(
    row: Sequence[Any], readers: list[Callable[[Any], Any]], computed: list[_Computed]
) -> tuple[Any, ...]:
    values = [read(value) for read, value in zip(readers, row[: len(readers)], strict=True)]
    position = len(readers)
    for metric in computed:
        values.append(metric.read(row[position : position + metric.width]))
        position += metric.width
    return tuple(values)


def _aggregate_statement(
    source: _Source, group_by: Sequence[str], computed: list[_Computed], order: Sequence[Order[int]]
) -> Select[*tuple[Any, ...]]:
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
    outputs: list[ColumnElement[Any]] = list(grouped.c)
    sort_keys = outputs[: len(groups)]
    position = len(groups)
    for metric in computed:
        sort_keys.append(metric.sort_key(outputs[position : position + metric.width]))
        position += metric.width
    return select(*outputs).order_by(*_sort(sort_keys, order, len(groups), source.dialect))


def _sort(
    keys: Sequence[ColumnElement[Any]],
    order: Sequence[Order[int]],
    groups: int,
    dialect: WarehouseDialect,
) -> list[ColumnElement[Any]]:
    """ORDER BY for `order`, then the group keys not in it, ascending; NULLs last."""
    wanted = list(order)
    named = {item.key for item in wanted}
    wanted += [Order(position) for position in range(groups) if position not in named]
    return [
        clause
        for item in wanted
        for clause in dialect.order(keys[item.key], descending=item.descending, nulls_first=False)
    ]


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
    source = _Source(rows, dialect_of(engine))
    computed = _Computed(source, metric)
    found = _per_bucket(source, computed, column, bucket, limit, engine)
    read_start = _bucket_reader(source.type_of(column))
    return [(read_start(row[0]), computed.read(row[1:])) for row in found]


def _per_bucket(
    source: _Source,
    computed: _Computed,
    column: str,
    bucket: Bucket,
    limit: int,
    engine: Engine,
    line: ColumnElement[Any] | None = None,
) -> Sequence[Any]:
    """The metric per bucket of `column` (per `line` first, then bucket, when given): rows of
    (line,) bucket start, metric parts, in that order; at most `limit`. One GROUP BY, or two
    where the dialect buckets in steps (dialect.bucket_steps)."""
    time = source.column(column)
    steps = source.dialect.bucket_steps(time, source.type_of(column), bucket.value)
    key = source.bucket_start(column, bucket) if steps is None else steps.fine
    keys = [] if line is None else [line.label("line")]
    argument = computed.argument(source)
    arguments = [argument.label("a0")] if argument is not None else []
    picked = select(*keys, key.label("bucket"), *arguments).where(
        *source.where(), time.is_not(None)
    )
    inner = picked.subquery()
    measured = computed.columns(inner.c.a0 if argument is not None else None)
    if steps is not None:
        inner, measured = _per_fine_key(inner, measured, steps, computed, lines=line is not None)
    grouped = ([] if line is None else [inner.c.line]) + [inner.c.bucket]
    statement = select(*grouped, *measured).group_by(*grouped).order_by(*grouped).limit(limit)
    with read_connection(engine) as connection:
        return connection.execute(statement).all()


def _per_fine_key(
    inner: Subquery,
    measured: list[ColumnElement[Any]],
    steps: BucketSteps,
    computed: _Computed,
    *,
    lines: bool,
) -> tuple[Subquery, list[ColumnElement[Any]]]:
    """The metric's parts per (line and) fine key, each with its bucket's start; and the
    metric of a bucket as combined from them (the GROUP BY per bucket then runs over few rows)."""
    names = [f"p{i}" for i in range(len(measured))]
    keys = ([inner.c.line] if lines else []) + [inner.c.bucket]
    parts = [part.label(name) for part, name in zip(measured, names, strict=True)]
    partial = select(*keys, *parts).group_by(*keys).subquery()
    start = steps.start(partial.c.bucket).label("bucket")
    started = select(*([partial.c.line] if lines else []), start, *(partial.c[n] for n in names))
    per_fine_key = started.subquery()
    return per_fine_key, computed.combined([per_fine_key.c[name] for name in names])


def top_values(
    rows: RowSet, *, column: str, limit: int, engine: Engine | None = None
) -> tuple[list[Any], bool]:
    """The column's `limit` values in most rows (ties by value, NULL last; NULL is a value
    here), most first; and whether it has more values. One GROUP BY."""
    found, more = aggregate(
        rows,
        group_by=[column],
        metrics=[Metric(Function.COUNT)],
        order=[Order(1, descending=True)],
        limit=limit,
        engine=engine,
    )
    return [row[0] for row in found], more


def split_timeseries(
    rows: RowSet,
    *,
    column: str,
    bucket: Bucket,
    metric: Metric,
    split: str,
    values: Sequence[Any],
    limit: int,
    engine: Engine | None = None,
) -> dict[int, list[tuple[date | datetime, Any]]]:
    """`timeseries` for each of `values` of the `split` column (None: its NULLs) at once, and
    for all its other values: {line: [(bucket start, metric), ...]}, a line being the value's
    index in `values`, or len(values) for the others. One GROUP BY of the line and the bucket,
    the line a CASE over the values (bound, compared as the `eq` filter compares them); at
    most `limit` (line, bucket) pairs."""
    engine = engine or get_engine()
    source = _Source(rows, dialect_of(engine))
    computed = _Computed(source, metric)
    line = _line_of(source, split, values)
    found = _per_bucket(source, computed, column, bucket, limit, engine, line=line)
    read_start = _bucket_reader(source.type_of(column))
    lines: dict[int, list[tuple[date | datetime, Any]]] = {}
    for row in found:
        lines.setdefault(int(row[0]), []).append((read_start(row[1]), computed.read(row[2:])))
    return lines


def _line_of(source: _Source, split: str, values: Sequence[Any]) -> ColumnElement[Any]:
    """The index of the row's `split` value in `values`, or len(values) for any other."""
    other = literal(len(values), Integer)
    if not values:
        return other
    field = source.field(split)
    compared = source.ordered(split)
    whens = [
        (
            compared.is_(None)
            if value is None
            else source.dialect.comparison("eq", compared, field.type, field.scale, value),
            literal(index, Integer),
        )
        for index, value in enumerate(values)
    ]
    return case(*whens, else_=other)


def extremes(rows: RowSet, *, column: str, engine: Engine | None = None) -> tuple[Any, Any]:
    """MIN and MAX of the column over the rows (None, None when it has no values there)."""
    engine = engine or get_engine()
    source = _Source(rows, dialect_of(engine))
    ordered = source.ordered(column)
    statement = select(func.min(ordered), func.max(ordered)).where(*source.where())
    with read_connection(engine) as connection:
        low, high = connection.execute(statement).one()
    read = source.reader(column)
    return read(low), read(high)


def histogram(
    rows: RowSet, *, column: str, edges: Sequence[int | Decimal], engine: Engine | None = None
) -> tuple[list[int], int]:
    """Counts of the column's values in the bins between `edges` (ascending, at least two), and
    the count of NULLs. A bin holds lower <= value < upper; the last bin also holds its upper
    edge, and values outside the edges count in the first or last bin.
    """
    engine = engine or get_engine()
    source = _Source(rows, dialect_of(engine))
    value = source.column(column)
    field = source.query.field(column)
    # Each value finds its bin by binary search over the inner edges: log2(bins) comparisons,
    # each `value < edge` as the dialect compares exactly (whatever digits the edge has).
    below = [
        source.dialect.comparison("lt", value, field.type, field.scale, edge)
        for edge in edges[1:-1]
    ]
    bin_of = case((value.is_(None), null()), else_=_bin_search(below, 0, len(edges) - 2))
    inner = select(bin_of.label("bin")).where(*source.where()).subquery()
    statement = select(inner.c.bin, func.count()).group_by(inner.c.bin)
    with read_connection(engine) as connection:
        if len(edges) > LARGE_SEARCH_EDGES:
            source.dialect.large_expressions(connection)
        found: dict[int | None, int] = dict(connection.execute(statement).all())
    counts = [int(found.get(index, 0)) for index in range(len(edges) - 1)]
    return counts, int(found.get(None, 0))


def _bin_search(below: list[ColumnElement[Any]], first: int, last: int) -> ColumnElement[Any]:
    """The bin of a value among bins first..last; below[i] says it is under the edge that
    separates bin i from bin i + 1."""
    if first == last:
        return literal(first, Integer)
    middle = (first + last + 1) // 2
    return case(
        (below[middle - 1], _bin_search(below, first, middle - 1)),
        else_=_bin_search(below, middle, last),
    )


def rows_by_id(
    rows: RowSet, *, row_ids: Sequence[int], engine: Engine | None = None
) -> dict[int, tuple[str | None, ...]]:
    """The rows with these hidden row ids (primary-key lookups), as canonical text of every
    field of the RowSet in order, like warehouse.query.rows_page gives them."""
    engine = engine or get_engine()
    query = QueryBuilder(rows, dialect_of(engine))
    names = [field.name for field in rows.fields]
    statement = select(query.row_id, *(query.text(name) for name in names)).where(
        query.row_id.in_(list(row_ids))
    )
    with read_connection(engine) as connection:
        found = [tuple(row) for row in connection.execute(statement)]
    fix = query.fixer(names)
    return {row[0]: fix(row[1:]) if fix else row[1:] for row in found}


# -- reading values back -----------------------------------------------------------------------


def exact_average(total: Decimal, count: int, digits: int) -> Decimal:
    """total / count rounded half to even to `digits` after the point, in integers (exact,
    so every warehouse gives the same digits)."""
    numerator = int(total.scaleb(digits))  # whole: the total has at most `digits` decimals
    quotient, remainder = divmod(abs(numerator), count)
    if 2 * remainder > count or (2 * remainder == count and quotient % 2):
        quotient += 1
    return Decimal(quotient if numerator >= 0 else -quotient).scaleb(-digits)


def value_reader(
    column_type: ColumnType | None, dialect: WarehouseDialect, scale: int | None
) -> Callable[[Any], Any]:
    """Reads a column's values as SQL gives back MIN, MAX and group keys (None stays None)."""
    return _reader(column_type, dialect, scale)


def _reader(
    column_type: ColumnType | None, dialect: WarehouseDialect, scale: int | None
) -> Callable[[Any], Any]:
    read = _READERS.get(column_type, _same)
    if column_type is ColumnType.DECIMAL:

        def read(value: Any) -> Any:
            return dialect.number_value(value, ColumnType.DECIMAL, scale)

    def read_value(value: Any) -> Any:
        return None if value is None else read(value)

    return read_value


def _same(value: Any) -> Any:
    return value


def _date(value: Any) -> date:
    if isinstance(value, datetime):
        return value.date()
    return value if isinstance(value, date) else date.fromisoformat(value)


def _timestamp(value: Any) -> datetime:
    return values.as_utc(value) if isinstance(value, datetime) else values.parse_timestamp(value)


_READERS: dict[ColumnType | None, Callable[[Any], Any]] = {
    None: int,  # counts
    ColumnType.INTEGER: int,  # SUM(bigint) is NUMERIC on PostgreSQL
    ColumnType.BOOLEAN: bool,  # 0/1 on SQLite
    ColumnType.DATE: _date,
    ColumnType.TIMESTAMP: _timestamp,
    ColumnType.TEXT: str,
}


def _bucket_reader(column_type: ColumnType) -> Callable[[Any], date | datetime]:
    return _date if column_type is ColumnType.DATE else _timestamp
