"""The analysis query string as parsed, without a database: pairs in, AnalysisQuery or error out."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from urllib.parse import parse_qsl

import pytest

from csvhub.datasets.analysis import (
    COUNT,
    AnalysisType,
    InvalidAnalysis,
    MetricSpec,
    bucket_count,
    iso_duration,
    parse_analysis_query,
)
from csvhub.datasets.rowquery import Filter, InvalidRowQuery, Operator
from csvhub.warehouse.analysis import Bucket, Function


def parsed(query: str):
    return parse_analysis_query(parse_qsl(query, keep_blank_values=True))


def test_aggregate_with_everything():
    query = parsed(
        "type=aggregate&group_by=Sex, class&metrics=count,total=sum:fare,max:Age"
        "&sort=total:desc,sex&limit=5&Fare=gt:7&time=12:30&org=acme"
    )
    assert query.type is AnalysisType.AGGREGATE
    assert query.group_by == ("Sex", "class")
    assert query.metrics == (
        COUNT,
        MetricSpec(Function.SUM, "fare", "total"),
        MetricSpec(Function.MAX, "Age"),
    )
    assert [(key.column, key.descending) for key in query.sort] == [("total", True), ("sex", False)]
    assert query.limit == 5
    assert query.filters == (
        Filter("Fare", Operator.GT, "7"),
        Filter("time", Operator.EQ, "12:30", implicit=True),
    )


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("type=timeseries", (None, Bucket.DAY, COUNT)),
        (
            "_type=timeseries&_bucket=WEEK&metric=avg:x",
            (None, Bucket.WEEK, MetricSpec(Function.AVG, "x")),
        ),
        (
            "type=timeseries&column=at&bucket=minute&metric=n=count:x",
            ("at", Bucket.MINUTE, MetricSpec(Function.COUNT, "x", "n")),
        ),
    ],
)
def test_timeseries_parameters(query, expected):
    found = parsed(query)
    assert (found.column, found.bucket, found.metric) == expected


@pytest.mark.parametrize(
    ("query", "bins"),
    [("type=histogram", 20), ("type=histogram&bins=1", 1), ("type=histogram&bins=200", 200)],
)
def test_histogram_bins(query, bins):
    assert parsed(query).bins == bins


def test_sort_metric_names_keep_their_colon():
    (key,) = parsed("type=aggregate&metrics=sum:amount&sort=sum:amount:desc").sort
    assert (key.column, key.descending) == ("sum:amount", True)
    (key,) = parsed("type=aggregate&metrics=sum:amount&sort=sum:amount").sort
    assert (key.column, key.descending) == ("sum:amount", False)


def test_columns_named_like_parameters_filter_with_an_operator_suffix():
    query = parsed("type=row_count&type__eq=refund&bins__gt=3&sort__eq=x")
    assert query.filters == (
        Filter("type", Operator.EQ, "refund"),
        Filter("bins", Operator.GT, "3"),
        Filter("sort", Operator.EQ, "x"),
    )


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ("", "Say which analysis with type="),
        ("type=everything", "'everything' is not one of"),
        ("type=row_count&column=x", "column does not apply to type=row_count"),
        ("type=aggregate&bucket=day", "which takes: group_by, metrics, sort, limit"),
        ("type=aggregate&metrics=", None),
        ("type=aggregate&metrics=count,,sum:x", "has an empty item"),
        ("type=aggregate&metrics=avg:", "avg needs a column"),
        ("type=aggregate&metrics=9x=count", "cannot name a metric"),
        ("type=aggregate&metrics=mode:x", "Unknown metric 'mode:x'"),
        ("type=aggregate&metrics=" + ",".join(["count"] * 21), "at most 20 metrics"),
        ("type=aggregate&limit=10001", "1 to 10000"),
        ("type=aggregate&limit=-1", "not a whole number"),
        ("type=aggregate&group_by=a,,b", "has an empty item"),
        ("type=aggregate&sort=a,,b", "empty item"),
        ("type=timeseries&metric=count,sum:x", "one metric"),
        ("type=timeseries&bucket=fortnight", "minute, hour, day, week, month"),
        ("type=histogram&bins=2.5", "not a whole number"),
        ("type=row_count&format=csv", "format is a parameter of the rows endpoint"),
        ("type=row_count&_limit=3&limit=4", "given more than once"),
        ("type=row_count&_what=3", "Unknown parameter '_what'"),
    ],
)
def test_bad_query_strings(query, message):
    if message is None:
        assert parsed(query).metrics == (COUNT,)
        return
    with pytest.raises((InvalidAnalysis, InvalidRowQuery)) as caught:
        parsed(query)
    assert message in str(caught.value)
    assert caught.value.status_code == 400


@pytest.mark.parametrize(
    ("delta", "text"),
    [
        (timedelta(0), "PT0S"),
        (timedelta(days=3, hours=4), "P3DT4H"),
        (timedelta(days=2), "P2D"),
        (timedelta(minutes=1, seconds=5), "PT1M5S"),
        (timedelta(seconds=0.5), "PT0.5S"),
        (
            timedelta(days=1096, hours=23, minutes=59, seconds=55, microseconds=120),
            "P1096DT23H59M55.00012S",
        ),
    ],
)
def test_iso_durations(delta, text):
    assert iso_duration(delta) == text


@pytest.mark.parametrize(
    ("low", "high", "bucket", "count"),
    [
        (
            datetime(2024, 1, 31, 23, 59, tzinfo=UTC),
            datetime(2024, 3, 1, tzinfo=UTC),
            Bucket.MONTH,
            3,
        ),
        (date(2024, 4, 7), date(2024, 4, 8), Bucket.WEEK, 2),
        (date(2024, 4, 1), date(2024, 4, 7), Bucket.WEEK, 1),
        (
            datetime(2024, 1, 1, 0, 0, 59, tzinfo=UTC),
            datetime(2024, 1, 1, 0, 1, tzinfo=UTC),
            Bucket.MINUTE,
            2,
        ),
        (
            datetime(2024, 1, 1, tzinfo=UTC),
            datetime(2024, 1, 1, 23, 59, tzinfo=UTC),
            Bucket.HOUR,
            24,
        ),
    ],
)
def test_bucket_counts(low, high, bucket, count):
    assert bucket_count(low, high, bucket) == count
