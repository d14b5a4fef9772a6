"""The analysis endpoint's grammar (`GET /api/v1/datasets/{slug}/analysis/`): the analysis
types with the parameters each takes, the metrics and the time buckets. Any other parameter
filters rows with the rows endpoint's filter grammar (csvhub.grammar.filters)."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from csvhub.grammar.terms import (
    ALL_TYPES,
    NUMBERS,
    ORDERED,
    TIMES,
    Choice,
    Parameter,
    ValueType,
)
from csvhub.schema import ColumnType

DEFAULT_GROUPS = 1000
MAX_GROUPS = 10_000
MAX_GROUP_BY = 5
MAX_METRICS = 20
DEFAULT_BINS = 20
MAX_BINS = 200
MAX_POINTS = 10_000
SPLIT_LINES = 10  # a split time series: the commonest values, each its own line, then "other"


class AnalysisType(StrEnum):
    ROW_COUNT = "row_count"
    TIME_SPAN = "time_span"
    AGGREGATE = "aggregate"
    TIMESERIES = "timeseries"
    HISTOGRAM = "histogram"


class Function(StrEnum):
    COUNT = "count"
    SUM = "sum"
    AVG = "avg"
    MIN = "min"
    MAX = "max"


class Bucket(StrEnum):
    MINUTE = "minute"
    HOUR = "hour"
    DAY = "day"
    WEEK = "week"
    MONTH = "month"


@dataclass(frozen=True)
class AnalysisKind:
    name: AnalysisType
    description: str
    parameters: tuple[str, ...]  # what it takes besides `type` and filters, in this order


@dataclass(frozen=True)
class MetricFunction:
    name: Function
    words: str  # what the dataset page's charts call it: "Total amount"
    description: str
    column_types: tuple[ColumnType, ...]


@dataclass(frozen=True)
class TimeBucket:
    name: Bucket
    seconds: int  # about: a month is 30.44 days; for choosing a bucket that fits a chart
    column_types: tuple[ColumnType, ...] = TIMES


ANALYSIS_KINDS: tuple[AnalysisKind, ...] = (
    AnalysisKind(AnalysisType.ROW_COUNT, "rows (matching the filters).", ()),
    AnalysisKind(
        AnalysisType.TIME_SPAN,
        "earliest and latest value of a date or timestamp `column` (default: the first such "
        "column), the time between them in `seconds` and as an ISO 8601 `duration` (`P3DT4H`).",
        ("column",),
    ),
    AnalysisKind(
        AnalysisType.AGGREGATE,
        f"`metrics` per group of the `group_by` columns (up to {MAX_GROUP_BY}), sorted by "
        f"`sort` and limited by `limit` (default {DEFAULT_GROUPS}, at most {MAX_GROUPS:,}; "
        "`truncated` says more groups exist).",
        ("group_by", "metrics", "sort", "limit"),
    ),
    AnalysisKind(
        AnalysisType.TIMESERIES,
        "one `metric` per UTC `bucket` of a date or timestamp `column`, in time order, empty "
        f"buckets included (at most {MAX_POINTS:,} points); with `split`, one such series per "
        f"value of a text or boolean column (the {SPLIT_LINES} commonest) and one for the others.",
        ("column", "bucket", "metric", "split"),
    ),
    AnalysisKind(
        AnalysisType.HISTOGRAM,
        f"counts of a number `column` in about `bins` equal-width bins (default {DEFAULT_BINS}, "
        f"at most {MAX_BINS}) from its min to its max, edges at readable numbers (widths of "
        "1, 2 or 5 x 10^n).",
        ("column", "bins"),
    ),
)

METRIC_FUNCTIONS: tuple[MetricFunction, ...] = (
    MetricFunction(
        Function.COUNT,
        "Number of",
        "`count`: rows; `count:col`: non-empty cells of col",
        ALL_TYPES,
    ),
    MetricFunction(Function.SUM, "Total", "`sum:col`: the sum of a number column", NUMBERS),
    MetricFunction(Function.AVG, "Average", "`avg:col`: the average of a number column", NUMBERS),
    MetricFunction(
        Function.MIN, "Smallest", "`min:col`: the smallest number, date, timestamp or text", ORDERED
    ),
    MetricFunction(
        Function.MAX, "Largest", "`max:col`: the largest number, date, timestamp or text", ORDERED
    ),
)
METRIC_FUNCTION = {function.name: function for function in METRIC_FUNCTIONS}

TIME_BUCKETS: tuple[TimeBucket, ...] = (
    TimeBucket(Bucket.MINUTE, 60, (ColumnType.TIMESTAMP,)),
    TimeBucket(Bucket.HOUR, 3600, (ColumnType.TIMESTAMP,)),
    TimeBucket(Bucket.DAY, 86_400),
    TimeBucket(Bucket.WEEK, 7 * 86_400),
    TimeBucket(Bucket.MONTH, 2_629_746),
)
DATE_BUCKETS = tuple(b.name for b in TIME_BUCKETS if ColumnType.DATE in b.column_types)


def _bucket_types(bucket: TimeBucket) -> str:
    return "for " + " and ".join(kind.value for kind in bucket.column_types) + " columns"


_METRIC_FORM = (
    "`function:column`, optionally named `alias=function:column` (`total=sum:amount`); "
    "functions: " + "; ".join(function.description for function in METRIC_FUNCTIONS)
)

ANALYSIS_PARAMETERS: tuple[Parameter, ...] = (
    Parameter(
        "type",
        "Which analysis.",
        ValueType.CHOICE,
        tuple(Choice(kind.name.value, kind.description) for kind in ANALYSIS_KINDS),
        required=True,
    ),
    Parameter(
        "column",
        "A date or timestamp column (time_span, timeseries) or a number column (histogram). "
        "Default: the first such column.",
    ),
    Parameter(
        "group_by",
        f"Columns, comma-separated (at most {MAX_GROUP_BY}).",
        example="client_name",
    ),
    Parameter(
        "metrics",
        f"Comma-separated metrics (default count, at most {MAX_METRICS}), each "
        + _METRIC_FORM
        + ".",
        example="count,total=sum:transaction_amount",
    ),
    Parameter(
        "metric",
        "One metric (default count), written as in `metrics`.",
        example="sum:transaction_amount",
    ),
    Parameter(
        "bucket",
        "Bucket width (default day; dates take "
        + ", ".join(DATE_BUCKETS)
        + "). UTC; weeks start on Monday.",
        ValueType.CHOICE,
        tuple(Choice(b.name.value, _bucket_types(b)) for b in TIME_BUCKETS),
    ),
    Parameter(
        "split",
        f"A text or boolean column (timeseries): one series per value, for the {SPLIT_LINES} "
        "values in most rows (an empty cell is the value null), and one `other` series of "
        "every other value when there are more.",
        example="client_name",
    ),
    Parameter(
        "bins",
        f"Bins, 1 to {MAX_BINS} (default {DEFAULT_BINS}).",
        ValueType.WHOLE_NUMBER,
        minimum=1,
        maximum=MAX_BINS,
    ),
    Parameter(
        "sort",
        "`key[:asc|:desc],...`; keys are group_by columns, metric names "
        "(`sum:amount`) or aliases. Default: the group_by columns ascending; empty values last.",
        example="total:desc",
    ),
    Parameter(
        "limit",
        f"Groups returned, 1 to {MAX_GROUPS:,} (default {DEFAULT_GROUPS}).",
        ValueType.WHOLE_NUMBER,
        minimum=1,
        maximum=MAX_GROUPS,
    ),
)
WORDS = tuple(parameter.name for parameter in ANALYSIS_PARAMETERS)
# The parameters each type takes besides `type` and the filters.
PARAMETERS: dict[AnalysisType, tuple[str, ...]] = {
    kind.name: kind.parameters for kind in ANALYSIS_KINDS
}


def types_taking(parameter: str) -> tuple[AnalysisType, ...]:
    """The analysis types that take `parameter`, in declaration order."""
    return tuple(kind.name for kind in ANALYSIS_KINDS if parameter in kind.parameters)
