"""Analysis of a dataset: its summary, and counts, time spans, aggregates, time series and
histograms of its rows.

`parse_analysis_query` reads the query string (pure, no database); the selectors take a dataset
and parsed pieces and return JSON-ready dicts. Filters are the rows endpoint's grammar, parsed
by rowquery and matched and typed by the selection seam (csvhub.selection), so
`analysis/?Fare=gt:7` and `rows/?Fare=gt:7` see the same rows. What ingestion keeps in the
dataset's metadata (row count, per-column counts and extremes, the range of row ids) answers
the summary, and unfiltered row_count and time_span, without touching the table. Documented
in docs/api.md, "Analysis".
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import ROUND_CEILING, ROUND_FLOOR, Decimal
from typing import Any

from csvhub.datasets import kept
from csvhub.datasets.errors import DatasetError
from csvhub.datasets.models import Dataset
from csvhub.datasets.rowquery import (
    EndpointWords,
    Filter,
    SortKey,
    endpoint_params_split,
    parse_row_query,
)
from csvhub.grammar.analysis import (
    DATE_BUCKETS,
    DEFAULT_BINS,
    DEFAULT_GROUPS,
    MAX_BINS,
    MAX_GROUP_BY,
    MAX_GROUPS,
    MAX_METRICS,
    MAX_POINTS,
    METRIC_FUNCTION,
    PARAMETERS,
    SPLIT_LINES,
    WORDS,
    AnalysisType,
    Bucket,
    Function,
)
from csvhub.grammar.terms import NUMBERS, TIMES
from csvhub.metrics import observe_query
from csvhub.schema import Column, ColumnStats, ColumnType, values
from csvhub.selection.columns import ColumnResolver
from csvhub.selection.plan import filtered_rows, query_time_limit
from csvhub.selection.shape import column_json, json_row_maker
from csvhub.warehouse import analysis as warehouse_analysis
from csvhub.warehouse.analysis import Metric
from csvhub.warehouse.query import Order, RowSet, rows_count

_ALIAS = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,62}")
_DIGITS = re.compile(r"[0-9]{1,9}")
# The columns a time series splits by: values that read as names of lines.
SPLIT_TYPES = (ColumnType.TEXT, ColumnType.BOOLEAN)


class InvalidAnalysis(DatasetError):
    """An analysis the user can fix: the message names the problem and the valid choices."""

    status_code = 400


@dataclass(frozen=True)
class MetricSpec:
    """A metric as written: `count`, `count:col`, `sum:col` ..., optionally `alias=...`."""

    function: Function
    column: str | None = None
    alias: str | None = None


COUNT = MetricSpec(Function.COUNT)


@dataclass(frozen=True)
class AnalysisQuery:
    type: AnalysisType
    filters: tuple[Filter, ...] = ()
    column: str | None = None
    group_by: tuple[str, ...] = ()
    metrics: tuple[MetricSpec, ...] = (COUNT,)
    metric: MetricSpec = COUNT
    bucket: Bucket = Bucket.DAY
    split: str | None = None  # timeseries: one series per value of this column
    bins: int = DEFAULT_BINS
    sort: tuple[SortKey, ...] = ()
    limit: int = DEFAULT_GROUPS
    search: str | None = None  # `q=`: as on the rows endpoint


# -- parsing -----------------------------------------------------------------------------------


def parse_analysis_query(params: Iterable[tuple[str, str]]) -> AnalysisQuery:
    """Read the query string's (key, value) pairs: `type`, its parameters, and filters."""
    options, filter_pairs = _split(params)
    kind = _analysis_type(options.pop("type", ""))
    allowed = PARAMETERS[kind]
    for word in options:
        if word not in allowed:
            takes = ", ".join(allowed) if allowed else "no parameters besides filters"
            raise InvalidAnalysis(
                f"{word} does not apply to type={kind.value}, which takes: {takes}. To filter "
                f"a column named {word}, write {word}__eq=value."
            )
    rows = parse_row_query(filter_pairs)
    return AnalysisQuery(
        type=kind,
        filters=rows.filters,
        search=rows.search,
        column=options.get("column", "").strip() or None,
        group_by=_names("group_by", options.get("group_by", ""), MAX_GROUP_BY),
        metrics=_metrics(options.get("metrics", "")),
        metric=_one_metric(options.get("metric", "")),
        bucket=_bucket(options.get("bucket", "")),
        split=options.get("split", "").strip() or None,
        bins=_whole("bins", options.get("bins", ""), DEFAULT_BINS, MAX_BINS),
        sort=parse_row_query([("sort", options["sort"])]).sort if options.get("sort") else (),
        limit=_whole("limit", options.get("limit", ""), DEFAULT_GROUPS, MAX_GROUPS),
    )


_ANALYSIS_WORDS = EndpointWords(
    words=WORDS,
    error=InvalidAnalysis,
    twice=lambda word: (
        f"{word!r} is given more than once (as {word} or _{word}); give it once. "
        f"To filter a column named {word}, write {word}__eq=value."
    ),
    rows_word=lambda key, word: (
        f"{key} is a parameter of the rows endpoint, not of analysis. Analysis takes "
        f"{', '.join(WORDS)} and filters. To filter a column named {word}, write "
        f"{word}__eq=value."
    ),
    unknown=lambda key: (
        f"Unknown parameter {key!r}. Analysis takes {', '.join(WORDS)} (each also with "
        "a leading _); any other name filters the column of that name."
    ),
)


def _split(params: Iterable[tuple[str, str]]) -> tuple[dict[str, str], list[tuple[str, str]]]:
    """Analysis parameters (each also written with a leading _), and the filter pairs."""
    return endpoint_params_split(params, _ANALYSIS_WORDS)


def _analysis_type(raw: str) -> AnalysisType:
    choices = ", ".join(kind.value for kind in AnalysisType)
    if not raw:
        raise InvalidAnalysis(f"Say which analysis with type=: one of {choices}.")
    try:
        return AnalysisType(raw.strip().lower())
    except ValueError:
        raise InvalidAnalysis(f"type={raw!r} is not one of: {choices}.") from None


def _bucket(raw: str) -> Bucket:
    if not raw:
        return Bucket.DAY
    try:
        return Bucket(raw.strip().lower())
    except ValueError:
        choices = ", ".join(bucket.value for bucket in Bucket)
        raise InvalidAnalysis(f"bucket={raw!r} is not one of: {choices}.") from None


def _whole(what: str, raw: str, default: int, maximum: int) -> int:
    raw = raw.strip()
    if not raw:
        return default
    # Digits counted before int(): Python refuses to parse more than 4300 of them.
    too_long = len(raw.lstrip("0")) > len(str(maximum))
    if not _DIGITS.fullmatch(raw) or too_long or not 1 <= int(raw) <= maximum:
        shown = raw if len(raw) <= 40 else f"{raw[:20]}…"
        raise InvalidAnalysis(
            f"{what}={shown!r} is not a whole number from 1 to {maximum} (default {default})."
        )
    return int(raw)


def _names(what: str, raw: str, maximum: int) -> tuple[str, ...]:
    if not raw.strip():
        return ()
    names = tuple(name.strip() for name in raw.split(","))
    if not all(names):
        raise InvalidAnalysis(f"{what}={raw!r} has an empty item; write {what}=col1,col2.")
    if len(names) > maximum:
        raise InvalidAnalysis(f"{what} takes at most {maximum} columns, not {len(names)}.")
    return names


_METRIC_FORMS = (
    "count, count:col, sum:col, avg:col, min:col, max:col, each optionally named (total=sum:col)"
)


def _metrics(raw: str) -> tuple[MetricSpec, ...]:
    if not raw.strip():
        return (COUNT,)
    items = [item.strip() for item in raw.split(",")]
    if not all(items):
        raise InvalidAnalysis(f"metrics={raw!r} has an empty item; write metrics=count,sum:col.")
    if len(items) > MAX_METRICS:
        raise InvalidAnalysis(f"metrics takes at most {MAX_METRICS} metrics, not {len(items)}.")
    return tuple(_metric(item) for item in items)


def _one_metric(raw: str) -> MetricSpec:
    if not raw.strip():
        return COUNT
    if "," in raw:
        raise InvalidAnalysis(f"metric={raw!r}: a time series has one metric, such as sum:col.")
    return _metric(raw.strip())


def _metric(item: str) -> MetricSpec:
    alias, sep, spec = item.partition("=")
    if not sep:
        alias, spec = "", item
    alias = alias.strip()
    if sep and not _ALIAS.fullmatch(alias):
        raise InvalidAnalysis(
            f"{alias!r} in {item!r} cannot name a metric: use letters, digits and _ (not first)."
        )
    written, _, column = spec.partition(":")
    try:
        function = Function(written.strip().lower())
    except ValueError:
        raise InvalidAnalysis(f"Unknown metric {item!r}. Metrics are {_METRIC_FORMS}.") from None
    if function is not Function.COUNT and not column.strip():
        raise InvalidAnalysis(f"{function.value} needs a column: {function.value}:col.")
    return MetricSpec(function, column.strip() or None, alias or None)


# -- running -----------------------------------------------------------------------------------


def analysis_run(*, dataset: Dataset, query: AnalysisQuery) -> dict[str, Any]:
    """The analysis the query asks for, as a JSON-ready dict."""
    with query_time_limit(), observe_query("analysis"):
        return _analysis_run(dataset, query)


def _analysis_run(dataset: Dataset, query: AnalysisQuery) -> dict[str, Any]:
    if query.type is AnalysisType.ROW_COUNT:
        return analysis_row_count(dataset=dataset, filters=query.filters, search=query.search)
    if query.type is AnalysisType.TIME_SPAN:
        return analysis_time_span(
            dataset=dataset, column=query.column, filters=query.filters, search=query.search
        )
    if query.type is AnalysisType.AGGREGATE:
        return analysis_aggregate(
            dataset=dataset,
            group_by=query.group_by,
            metrics=query.metrics,
            filters=query.filters,
            sort=query.sort,
            limit=query.limit,
            search=query.search,
        )
    if query.type is AnalysisType.TIMESERIES:
        return analysis_timeseries(
            dataset=dataset,
            column=query.column,
            bucket=query.bucket,
            metric=query.metric,
            filters=query.filters,
            search=query.search,
            split=query.split,
        )
    return analysis_histogram(
        dataset=dataset,
        column=query.column,
        bins=query.bins,
        filters=query.filters,
        search=query.search,
    )


# -- summary -----------------------------------------------------------------------------------


def dataset_summary(*, dataset: Dataset) -> dict[str, Any]:
    """Row count, per-column counts and extremes, first and last ingested rows; from metadata
    kept at ingestion and two primary-key lookups, whatever the table's size."""
    schema = dataset.schema
    return {
        "row_count": dataset.row_count,
        "columns": [_column_summary(column, schema.stats.get(column.name)) for column in schema],
        **_end_rows(dataset),
    }


def _column_summary(column: Column, stats: ColumnStats | None) -> dict[str, Any]:
    """A column with its statistics; extremes read like the column's values in rows."""
    low, high = (None, None) if stats is None else stats.bounds(column.type)
    if column.type is ColumnType.DECIMAL and column.scale is not None:
        # As written at ingestion; rows give them at the column's scale.
        unit = Decimal(1).scaleb(-column.scale)
        low, high = (None if v is None else v.quantize(unit) for v in (low, high))
    text = column.type is ColumnType.TEXT
    return {
        **column_json(column),
        "nulls": None if stats is None else stats.nulls,
        "non_null": None if stats is None else stats.non_null,
        "min": values.to_json(column.type, low),
        "max": values.to_json(column.type, high),
        "min_length": stats.min_length if text and stats is not None else None,
        "max_length": stats.max_length if text and stats is not None else None,
    }


def _end_rows(dataset: Dataset) -> dict[str, Any]:
    first_id, last_id = dataset.first_row_id, dataset.last_row_id
    if first_id is None or last_id is None or not dataset.schema:
        return {"first_row": None, "last_row": None}
    found = warehouse_analysis.rows_by_id(filtered_rows(dataset, ()), row_ids=[first_id, last_id])
    to_json = json_row_maker(dataset.schema.columns)
    first, last = found.get(first_id), found.get(last_id)
    return {
        "first_row": None if first is None else to_json(first),
        "last_row": None if last is None else to_json(last),
    }


def _stats_bounds(dataset: Dataset, column: Column) -> tuple[Any, Any]:
    """The column's extremes as kept at ingestion, typed (None for types without them)."""
    return dataset.schema.stats_of(column.name).bounds(column.type)


# -- row_count and time_span -------------------------------------------------------------------


def analysis_row_count(
    *, dataset: Dataset, filters: Sequence[Filter] = (), search: str | None = None
) -> dict[str, Any]:
    """Rows in the dataset (from metadata), or matching the filters and the search (a COUNT in
    the warehouse)."""
    if not filters and search is None:
        return {"type": "row_count", "row_count": dataset.row_count, "source": "summary"}
    selected = filtered_rows(dataset, filters, search)
    count = rows_count(selected) if dataset.schema else 0
    return {"type": "row_count", "row_count": count, "source": "warehouse"}


def analysis_time_span(
    *,
    dataset: Dataset,
    column: str | None = None,
    filters: Sequence[Filter] = (),
    prefer: ColumnType | None = None,
    search: str | None = None,
) -> dict[str, Any]:
    """Earliest and latest value of a date or timestamp column and the time between them;
    from metadata without filters, MIN and MAX in the warehouse with them. Without `column`,
    the first time column in file order, or the first of type `prefer` when there is one."""
    chosen = _time_column(dataset, column, "time_span", prefer)
    column_type = chosen.type
    narrowed = bool(filters) or search is not None
    if narrowed:
        selected = filtered_rows(dataset, filters, search)
        low, high = warehouse_analysis.extremes(selected, column=chosen.name)
    else:
        low, high = _stats_bounds(dataset, chosen)
    delta = None if low is None else _as_datetime(high) - _as_datetime(low)
    return {
        "type": "time_span",
        "column": chosen.name,
        "earliest": _json_value(column_type, low),
        "latest": _json_value(column_type, high),
        "seconds": None if delta is None else _seconds(delta),
        "duration": None if delta is None else iso_duration(delta),
        "source": "warehouse" if narrowed else "summary",
    }


def _as_datetime(value: date | datetime) -> datetime:
    if isinstance(value, datetime):
        return value
    return datetime(value.year, value.month, value.day, tzinfo=UTC)


def _seconds(delta: timedelta) -> int | float:
    if delta.microseconds:
        return delta.total_seconds()
    return delta.days * 86_400 + delta.seconds


def iso_duration(delta: timedelta) -> str:
    """ISO 8601 duration in days, hours, minutes and seconds: `P3DT4H`, `PT0.5S`, `PT0S`."""
    hours, rest = divmod(delta.seconds, 3600)
    minutes, seconds = divmod(rest, 60)
    second_text = str(seconds)
    if delta.microseconds:
        second_text += f".{delta.microseconds:06d}".rstrip("0")
    time = "".join(
        f"{amount}{unit}"
        for amount, unit in ((hours, "H"), (minutes, "M"), (second_text, "S"))
        if amount not in (0, "0")
    )
    days = f"{delta.days}D" if delta.days else ""
    if not days and not time:
        return "PT0S"
    return f"P{days}" + (f"T{time}" if time else "")


# -- aggregate ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Resolved:
    """A metric matched against the dataset's columns."""

    name: str  # its key in the results: the alias, else `function[:column name]`
    canonical: str  # `function[:column name]`
    metric: Metric
    column_type: ColumnType | None


def analysis_aggregate(
    *,
    dataset: Dataset,
    group_by: Sequence[str] = (),
    metrics: Sequence[MetricSpec] = (COUNT,),
    filters: Sequence[Filter] = (),
    sort: Sequence[SortKey] = (),
    limit: int = DEFAULT_GROUPS,
    search: str | None = None,
) -> dict[str, Any]:
    """Metrics per group of the filtered rows (one row without group_by), sorted and limited;
    `truncated` says that more groups than `limit` exist."""
    plan = _aggregate_plan(dataset, group_by, metrics, filters, sort, search)
    groups, resolved = plan.groups, plan.resolved
    if dataset.schema:
        found, truncated = warehouse_analysis.aggregate(plan.rows, **plan.arguments, limit=limit)
    else:  # no table yet: only row counts can be asked for, and they are 0
        found, truncated = [tuple(0 for _ in resolved)], False
    names = [group.name for group in groups] + [item.name for item in resolved]
    kinds: list[ColumnType | None] = [group.type for group in groups]
    kinds += [item.column_type for item in resolved]
    return {
        "type": "aggregate",
        "group_by": [group.name for group in groups],
        "metrics": [item.name for item in resolved],
        "rows": [
            {
                name: _json_value(kind, value)
                for name, kind, value in zip(names, kinds, row, strict=True)
            }
            for row in found
        ],
        "truncated": truncated,
    }


@dataclass(frozen=True)
class _AggregatePlan:
    rows: RowSet
    groups: list[Column]
    resolved: list[_Resolved]
    order: list[Order[int]]

    @property
    def arguments(self) -> dict[str, Any]:
        return {
            "group_by": [group.name for group in self.groups],
            "metrics": [item.metric for item in self.resolved],
            "order": self.order,
        }


def _aggregate_plan(
    dataset: Dataset,
    group_by: Sequence[str],
    metrics: Sequence[MetricSpec],
    filters: Sequence[Filter],
    sort: Sequence[SortKey],
    search: str | None = None,
) -> _AggregatePlan:
    columns = ColumnResolver(dataset.schema)
    groups = _group_columns(columns, group_by)
    resolved = [_resolve_metric(dataset, columns, spec) for spec in metrics]
    _check_names(groups, resolved)
    order = [_sort_position(columns, groups, resolved, key) for key in sort]
    return _AggregatePlan(filtered_rows(dataset, filters, search), groups, resolved, order)


def analysis_aggregate_sql(*, dataset: Dataset, query: AnalysisQuery) -> str:
    """The SQL an aggregate query runs on this dataset, values inlined: for benchmarks."""
    plan = _aggregate_plan(
        dataset, query.group_by, query.metrics, query.filters, query.sort, query.search
    )
    return warehouse_analysis.aggregate_sql(plan.rows, **plan.arguments, limit=query.limit)


def _group_columns(columns: ColumnResolver, group_by: Sequence[str]) -> list[Column]:
    groups = [columns.get(written, role="group_by") for written in group_by]
    names = [group.name for group in groups]
    if len(set(names)) != len(names):
        raise InvalidAnalysis(f"group_by names a column twice ({', '.join(names)}).")
    return groups


def _resolve_metric(dataset: Dataset, columns: ColumnResolver, spec: MetricSpec) -> _Resolved:
    function = spec.function
    if spec.column is None:
        return _Resolved(spec.alias or "count", "count", Metric(function), None)
    column = columns.get(spec.column, role="metrics")
    column_type = column.type
    allowed = METRIC_FUNCTION[function].column_types
    if function is not Function.COUNT and column_type not in allowed:
        raise _wrong_type(columns, f"{function.value}:{spec.column}", column, allowed)
    canonical = f"{function.value}:{column.name}"
    kinds = {Function.COUNT: None, Function.AVG: ColumnType.DECIMAL}
    kind = kinds.get(function, column_type)
    metric = Metric(function, column.name)
    return _Resolved(spec.alias or canonical, canonical, metric, kind)


def _wrong_type(
    columns: ColumnResolver, what: str, column: Column, allowed: Sequence[ColumnType]
) -> InvalidAnalysis:
    kinds = _a(" or ".join(kind.value for kind in allowed))
    fitting = [c.name for c in columns.schema.of_types(tuple(allowed))]
    choices = f"Such columns here: {', '.join(fitting)}." if fitting else "This dataset has none."
    return InvalidAnalysis(
        f"{what} needs {kinds} column; {column.name!r} is {_a(column.type.value)} column. "
        + choices
    )


def _check_names(groups: list[Column], resolved: list[_Resolved]) -> None:
    seen: set[str] = {group.name for group in groups}
    for item in resolved:
        if item.name in seen:
            raise InvalidAnalysis(
                f"Two results would be named {item.name!r}; name a metric with an alias, such "
                f"as n={item.canonical}."
            )
        seen.add(item.name)


def _sort_position(
    columns: ColumnResolver, groups: list[Column], resolved: list[_Resolved], key: SortKey
) -> Order[int]:
    by_name = {item.name: i for i, item in enumerate(resolved)}
    by_name.update({item.canonical: i for i, item in enumerate(resolved)})
    offset = len(groups)
    if key.column in by_name:
        return Order(offset + by_name[key.column], key.descending)
    spelled = _metric_spelled(columns, key.column)
    if spelled in by_name:
        return Order(offset + by_name[spelled], key.descending)
    column = columns.find(key.column) if ":" not in key.column else None
    names = [group.name for group in groups]
    if column is not None and column.name in names:
        return Order(names.index(column.name), key.descending)
    choices = ", ".join([*names, *(item.name for item in resolved)])
    raise InvalidAnalysis(
        f"Cannot sort by {key.column!r}: sort by a group_by column or a metric of this request "
        f"({choices}), with :desc for descending."
    )


def _metric_spelled(columns: ColumnResolver, written: str) -> str | None:
    """`sum:Amount` → `sum:amount` when it reads as a metric on a known column, else None."""
    function, sep, column_written = written.partition(":")
    if not sep or function.lower() not in {f.value for f in Function}:
        return None
    column = columns.find(column_written)
    return None if column is None else f"{function.lower()}:{column.name}"


# -- timeseries --------------------------------------------------------------------------------


def analysis_timeseries(
    *,
    dataset: Dataset,
    column: str | None = None,
    bucket: Bucket = Bucket.DAY,
    metric: MetricSpec = COUNT,
    filters: Sequence[Filter] = (),
    search: str | None = None,
    split: str | None = None,
) -> dict[str, Any]:
    """A metric per time bucket of a date or timestamp column, in time order, for a chart:
    buckets from the first to the last that holds rows, empty ones included (count 0, other
    metrics null). Bucket starts are UTC; weeks start on Monday, months on the 1st. With
    `split`, one such series per value of that column (see `_split_series`)."""
    chart = _series_chart(dataset, column, bucket, metric, filters, search)
    answer = {
        "type": "timeseries",
        "column": chart.column.name,
        "bucket": bucket.value,
        "metric": chart.metric.name,
    }
    if split is not None:
        return {**answer, **_split_series(dataset, chart, split, filters, search)}
    narrowed = bool(filters) or search is not None
    from_days = None if narrowed else _kept_timeseries(dataset, chart.column, bucket, chart.raw)
    if from_days is None:
        found = warehouse_analysis.timeseries(
            filtered_rows(dataset, filters, search),
            column=chart.column.name,
            bucket=bucket,
            metric=chart.raw,
            limit=MAX_POINTS + 1,
        )
        source = "warehouse"
    else:
        found, source = from_days
    return {**answer, "points": chart.points(found), "source": source}


@dataclass(frozen=True)
class _SeriesChart:
    """What a time series (or each line of a split one) charts, checked against the schema."""

    column: Column
    bucket: Bucket
    metric: _Resolved

    @property
    def raw(self) -> Metric:
        return self.metric.metric

    def points(self, found: list[tuple[Any, Any]]) -> list[dict[str, Any]]:
        """Found buckets as JSON points, the empty buckets between them filled in."""
        _check_points(len(found), self.bucket)
        empty = 0 if self.raw.function is Function.COUNT else None
        filled = _filled(found, self.bucket, empty)
        _check_points(len(filled), self.bucket)
        return [
            {
                "bucket": _json_value(self.column.type, start),
                "value": _json_value(self.metric.column_type, v),
            }
            for start, v in filled
        ]


def _series_chart(
    dataset: Dataset,
    column: str | None,
    bucket: Bucket,
    metric: MetricSpec,
    filters: Sequence[Filter],
    search: str | None,
) -> _SeriesChart:
    chosen = _time_column(dataset, column, "timeseries")
    if chosen.type is ColumnType.DATE and bucket not in DATE_BUCKETS:
        raise InvalidAnalysis(
            f"bucket={bucket.value} needs a timestamp column; {chosen.name!r} holds dates. "
            f"Buckets for dates: {', '.join(b.value for b in DATE_BUCKETS)}."
        )
    resolved = _resolve_metric(dataset, ColumnResolver(dataset.schema), metric)
    if not filters and search is None:
        low, high = _stats_bounds(dataset, chosen)
        if low is not None:
            _check_points(bucket_count(low, high, bucket), bucket)
    return _SeriesChart(chosen, bucket, resolved)


def _split_series(
    dataset: Dataset,
    chart: _SeriesChart,
    split: str,
    filters: Sequence[Filter],
    search: str | None,
) -> dict[str, Any]:
    """One series per value of the `split` column, for the SPLIT_LINES values in most rows
    (ties by value, the empty cell last), and one `other` series of all the remaining rows
    when there are more values. Two warehouse queries whatever the number of lines (the top
    values, then every line's buckets at once); never from kept day counts, which are not
    kept per value."""
    column = _typed_column(dataset, split, SPLIT_TYPES, "split", "text or boolean")
    selected = filtered_rows(dataset, filters, search)
    top, more = warehouse_analysis.top_values(selected, column=column.name, limit=SPLIT_LINES)
    found = warehouse_analysis.split_timeseries(
        selected,
        column=chart.column.name,
        bucket=chart.bucket,
        metric=chart.raw,
        split=column.name,
        values=top,
        limit=(len(top) + 1) * (MAX_POINTS + 1),
    )
    series: list[dict[str, Any]] = [
        {"value": _json_value(column.type, value), "points": chart.points(found.get(line, []))}
        for line, value in enumerate(top)
    ]
    if more:
        series.append({"other": True, "points": chart.points(found.get(len(top), []))})
    return {"split": column.name, "series": series, "source": "warehouse"}


def _kept_timeseries(
    dataset: Dataset, column: Column, bucket: Bucket, metric: Metric
) -> tuple[list[tuple[Any, Any]], str] | None:
    """Rows per day, week or month of all the rows, from the column's rows per day (kept at
    ingestion, or counted by one scan now and kept: csvhub.datasets.kept), and where they came
    from; None for what day counts cannot answer: another metric, a finer bucket, or more days
    than are kept."""
    if metric.function is not Function.COUNT or metric.column is not None:
        return None
    if bucket not in DATE_BUCKETS:
        return None
    found = kept.day_counts(dataset, column)
    if found is None:
        return None
    days, fresh = found
    per_bucket: dict[Any, int] = {}
    for day, count in days.counts:
        start = bucket_start(date.fromisoformat(day), bucket)
        if column.type is ColumnType.TIMESTAMP:
            start = datetime.combine(start, datetime.min.time(), UTC)
        per_bucket[start] = per_bucket.get(start, 0) + count
    return sorted(per_bucket.items()), "warehouse" if fresh else "summary"


def _check_points(count: int, bucket: Bucket) -> None:
    if count > MAX_POINTS:
        raise InvalidAnalysis(
            f"bucket={bucket.value} makes more than {MAX_POINTS:,} points; choose a longer "
            f"bucket ({', '.join(b.value for b in Bucket)}) or filter the column's range "
            "(col=gte:2024-01-01&col=lt:2024-02-01)."
        )


def bucket_start(value: date | datetime, bucket: Bucket) -> date | datetime:
    """The start of the bucket that holds `value` (UTC for timestamps)."""
    if bucket is Bucket.MONTH:
        return value.replace(day=1, **_midnight(value))
    if bucket is Bucket.WEEK:
        return (value - timedelta(days=value.weekday())).replace(**_midnight(value))
    if not isinstance(value, datetime) or bucket is Bucket.DAY:
        return value.replace(**_midnight(value))
    if bucket is Bucket.HOUR:
        return value.replace(minute=0, second=0, microsecond=0)
    return value.replace(second=0, microsecond=0)


def _midnight(value: date | datetime) -> dict[str, Any]:
    if isinstance(value, datetime):
        return {"hour": 0, "minute": 0, "second": 0, "microsecond": 0}
    return {}


def next_bucket(start: date | datetime, bucket: Bucket) -> date | datetime:
    if bucket is Bucket.MONTH:
        if start.month == 12:
            return start.replace(year=start.year + 1, month=1)
        return start.replace(month=start.month + 1)
    steps = {
        Bucket.MINUTE: timedelta(minutes=1),
        Bucket.HOUR: timedelta(hours=1),
        Bucket.DAY: timedelta(days=1),
        Bucket.WEEK: timedelta(weeks=1),
    }
    return start + steps[bucket]


def bucket_count(low: date | datetime, high: date | datetime, bucket: Bucket) -> int:
    """How many buckets run from the one holding `low` to the one holding `high`."""
    first, last = bucket_start(low, bucket), bucket_start(high, bucket)
    if bucket is Bucket.MONTH:
        return (last.year - first.year) * 12 + last.month - first.month + 1
    step = next_bucket(first, bucket) - first
    return (last - first) // step + 1


def _filled(found: list[tuple[Any, ...]], bucket: Bucket, empty: Any) -> list[tuple[Any, Any]]:
    if not found:
        return []
    values = dict(found)
    points: list[tuple[Any, Any]] = []
    start, last = found[0][0], found[-1][0]
    while start <= last and len(points) <= MAX_POINTS:
        points.append((start, values.get(start, empty)))
        start = next_bucket(start, bucket)
    return points


# -- histogram ---------------------------------------------------------------------------------


def analysis_histogram(
    *,
    dataset: Dataset,
    column: str | None = None,
    bins: int = DEFAULT_BINS,
    filters: Sequence[Filter] = (),
    search: str | None = None,
) -> dict[str, Any]:
    """Counts of a number column's values in equal-width bins from its min to its max (from
    metadata without filters, from the warehouse with them). See `histogram_edges`."""
    chosen = _typed_column(dataset, column, NUMBERS, "histogram", "number")
    column_type = chosen.type
    stats = dataset.schema.stats.get(chosen.name)
    selected = filtered_rows(dataset, filters, search)
    narrowed = bool(filters) or search is not None
    if narrowed:
        low, high = warehouse_analysis.extremes(selected, column=chosen.name)
    else:
        low, high = _stats_bounds(dataset, chosen)
    if low is None:
        kept_nulls = dataset.row_count if stats is None else stats.nulls
        nulls = rows_count(selected) if narrowed else kept_nulls
        counts: list[int] = []
        edges: list[Any] = []
    else:
        edges = histogram_edges(low, high, bins, integer=column_type is ColumnType.INTEGER)
        from_cells = None
        if not narrowed and stats is not None:
            from_cells = _kept_histogram(dataset, chosen, stats, low, high, edges)
        if from_cells is None:
            counts, nulls = warehouse_analysis.histogram(selected, column=chosen.name, edges=edges)
        else:
            counts, nulls = from_cells
    return {
        "type": "histogram",
        "column": chosen.name,
        "bins": [
            {
                "lower": _edge_json(column_type, edges[i]),
                "upper": _edge_json(column_type, edges[i + 1]),
                "count": count,
            }
            for i, count in enumerate(counts)
        ],
        "nulls": nulls,
        "source": "warehouse" if narrowed else "summary",
    }


def _kept_histogram(
    dataset: Dataset, column: Column, stats: ColumnStats, low: Any, high: Any, edges: list[Any]
) -> tuple[list[int], int] | None:
    """All the rows' bins from the column's kept value cells (csvhub.datasets.kept), one bin
    of every value when its extremes are equal; and the column's NULLs (kept exactly)."""
    if low == high:
        return [stats.non_null], stats.nulls
    found = kept.histogram(dataset, column, low, high, edges)
    return None if found is None else (found[0], stats.nulls)


def histogram_edges(low: Any, high: Any, bins: int, *, integer: bool) -> list[Any]:
    """Bin edges at readable numbers: a width of 1, 2 or 5 x 10^n (the one nearest to the
    width that would make `bins` bins), from the multiple of the width at or below the min
    to the first at or past the max, so there may be a bin more or fewer than asked. Integers
    take whole widths and the last upper edge is past the max; the last decimal bin holds
    the max."""
    if integer:
        width = int(readable_step(Decimal(max(1, math.ceil((high - low + 1) / bins)))))
        start = (low // width) * width
        count = math.ceil((high - start + 1) / width)
        return [start + i * width for i in range(count + 1)]
    low, high = Decimal(low), Decimal(high)
    if low == high:
        return [low, high]
    step = readable_step((high - low) / bins)
    start = (low / step).to_integral_value(rounding=ROUND_FLOOR) * step
    count = max(1, int(((high - start) / step).to_integral_value(rounding=ROUND_CEILING)))
    return [start + i * step for i in range(count + 1)]


def readable_step(raw: Decimal) -> Decimal:
    """The 1, 2 or 5 x 10^n nearest to `raw` (> 0) on a log scale: 25 → 20, 40 → 50, 8 → 10
    (the cut points are the geometric means, √2, √10 and √50, as charting libraries do)."""
    power = Decimal(1).scaleb(raw.adjusted())
    ratio = raw / power  # 1 <= ratio < 10
    cuts = ((1, _ROOT_2), (2, _ROOT_10), (5, _ROOT_50))
    return next((m for m, cut in cuts if ratio < cut), 10) * power


_ROOT_2, _ROOT_10, _ROOT_50 = Decimal(2).sqrt(), Decimal(10).sqrt(), Decimal(50).sqrt()


# -- columns and values ------------------------------------------------------------------------


def _time_column(
    dataset: Dataset, written: str | None, analysis: str, prefer: ColumnType | None = None
) -> Column:
    return _typed_column(dataset, written, TIMES, analysis, "date or timestamp", prefer)


def _typed_column(
    dataset: Dataset,
    written: str | None,
    allowed: Sequence[ColumnType],
    analysis: str,
    kind: str,
    prefer: ColumnType | None = None,
) -> Column:
    """The column named by `column=`, or the first of an allowed type (of type `prefer` if
    any is); a 400 naming the choices when there is none or it has another type."""
    schema = dataset.schema
    fitting = schema.of_types(tuple(allowed))
    fitting.sort(key=lambda c: c.type is not prefer)  # stable: file order
    if written is None:
        if not fitting:
            raise InvalidAnalysis(
                f"{analysis} needs a {kind} column, and this dataset has none. Columns are: "
                f"{_described(schema.columns) or 'none yet'}."
            )
        return fitting[0]
    column = ColumnResolver(schema).get(written, role="column")
    if column.type not in allowed:
        choices = ", ".join(c.name for c in fitting) or "none in this dataset"
        raise InvalidAnalysis(
            f"{analysis} needs a {kind} column; {column.name!r} is {_a(column.type.value)} "
            f"column. {kind.capitalize()} columns: {choices}."
        )
    return column


def _a(word: str) -> str:
    return f"an {word}" if word[0] in "aeiou" else f"a {word}"


def _described(columns: Sequence[Column]) -> str:
    return ", ".join(f"{c.name} ({c.type.value})" for c in columns)


def _number(value: int | float | Decimal) -> float:
    """A JSON number with the 15 significant digits a double holds exactly (averages of
    integers, histogram edges): every warehouse then prints alike."""
    return float(format(value, ".15g"))


def _edge_json(kind: ColumnType, edge: Any) -> Any:
    """Histogram edges are computed, not data: numbers, as before exact decimals."""
    return _number(edge) if kind is ColumnType.DECIMAL else _json_value(kind, edge)


def _json_value(kind: ColumnType | None, value: Any) -> Any:
    """A group key or metric as JSON: counts and integers as integers, decimals (their sums,
    extremes and averages) as exact text, averages of integers as numbers, dates
    `YYYY-MM-DD`, timestamps ISO 8601 UTC with Z."""
    if value is None:
        return None
    if kind is None:
        return int(value)
    if kind is ColumnType.DECIMAL and not isinstance(value, Decimal):
        return _number(value)  # an average of integers
    return values.to_json(kind, value)
