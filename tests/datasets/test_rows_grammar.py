"""The row query grammar as parsed, without a database: query string in, RowQuery or error out."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal
from urllib.parse import parse_qsl

import pytest

from csvhub.csvread import ColumnType
from csvhub.datasets.rowquery import (
    CountMode,
    Filter,
    Format,
    InvalidRowQuery,
    Operator,
    SortKey,
    format_from_accept,
    parse_list,
    parse_row_query,
    parse_value,
)


def parsed(query: str, accept: str = ""):
    return parse_row_query(parse_qsl(query, keep_blank_values=True), accept=accept)


def test_issue_example_parses_into_filters_sort_and_page():
    query = parsed(
        "limit=0,2&sex=male&Name=like:Braund&Ticket=like:A&Fare=gt:7&sort=name:desc,Sex:asc"
    )
    assert query.filters == (
        Filter("sex", Operator.EQ, "male", implicit=True),
        Filter("Name", Operator.LIKE, "Braund"),
        Filter("Ticket", Operator.LIKE, "A"),
        Filter("Fare", Operator.GT, "7"),
    )
    assert [(k.column, k.descending) for k in query.sort] == [("name", True), ("Sex", False)]
    assert (query.offset, query.limit, query.limit_given) == (0, 2, True)
    assert query.format is Format.JSON and query.count is CountMode.CAPPED


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("time=12:30", Filter("time", Operator.EQ, "12:30", implicit=True)),
        ("a=eq:gt:5", Filter("a", Operator.EQ, "gt:5")),
        ("a=gt:", Filter("a", Operator.GT, "")),
        ("a=GT:7", Filter("a", Operator.EQ, "GT:7", implicit=True)),
        ("a=in:1,2,3", Filter("a", Operator.IN, "1,2,3")),
        ("a=isnull:", Filter("a", Operator.ISNULL, "")),
        ("a=isnull", Filter("a", Operator.EQ, "isnull", implicit=True)),
        ("a=", Filter("a", Operator.EQ, "", implicit=True)),
        ("sort__eq=3", Filter("sort", Operator.EQ, "3")),
        ("count__gt=gt:1", Filter("count", Operator.GT, "gt:1")),
        ("a__b__lte=4", Filter("a__b", Operator.LTE, "4")),
        ("a__bigger=4", Filter("a__bigger", Operator.EQ, "4", implicit=True)),
        ("Some Label=startswith:x", Filter("Some Label", Operator.STARTSWITH, "x")),
    ],
)
def test_filter_forms(query, expected):
    assert parsed(query).filters == (expected,)


def test_same_column_may_repeat_and_filters_keep_their_order():
    query = parsed("Fare=gt:7&Fare=lt:50&sex=male")
    assert [(f.column, f.op, f.value) for f in query.filters] == [
        ("Fare", Operator.GT, "7"),
        ("Fare", Operator.LT, "50"),
        ("sex", Operator.EQ, "male"),
    ]


@pytest.mark.parametrize("word", ["sort", "limit", "offset", "fields", "cursor", "format", "count"])
def test_reserved_words_accept_an_underscore_prefix(word):
    value = {
        "sort": "a",
        "limit": "5",
        "offset": "1",
        "fields": "a",
        "cursor": "c",
        "format": "csv",
        "count": "exact",
    }[word]
    assert parsed(f"_{word}={value}") == parsed(f"{word}={value}")
    assert parsed(f"_{word}={value}").filters == ()


def test_org_is_left_to_the_organization_choice():
    assert parsed("org=acme").filters == ()


@pytest.mark.parametrize(
    ("query", "limit", "offset"),
    [
        ("", 100, 0),
        ("limit=5", 5, 0),
        ("limit=10,5", 5, 10),
        ("limit=5&offset=10", 5, 10),
        ("offset=7", 100, 7),
        ("limit=0", 0, 0),
        ("limit=1000", 1000, 0),
    ],
)
def test_limit_and_offset(query, limit, offset):
    page = parsed(query)
    assert (page.limit, page.offset) == (limit, offset)


def test_sort_directions_and_labels_with_colons():
    query = parsed("sort=a:DESC,b,c:asc,time:utc")
    assert query.sort == (
        SortKey("a", True, "a:DESC"),
        SortKey("b", False, "b"),
        SortKey("c", False, "c:asc"),
        SortKey("time:utc", False, "time:utc"),
    )


def test_fields_are_split_on_commas():
    assert parsed("fields=name, fare").fields == ("name", "fare")
    assert parsed("fields=").fields is None


@pytest.mark.parametrize(
    ("query", "accept", "expected"),
    [
        ("format=csv", "", Format.CSV),
        ("format=NDJSON", "", Format.NDJSON),
        ("", "text/csv", Format.CSV),
        ("", "application/x-ndjson", Format.NDJSON),
        ("", "text/html,application/xhtml+xml,*/*;q=0.8", Format.JSON),
        ("", "text/csv;q=0.5, application/json", Format.JSON),
        ("format=json", "text/csv", Format.JSON),
    ],
)
def test_format_from_parameter_or_accept_header(query, accept, expected):
    assert parsed(query, accept).format is expected


def test_accept_header_quality_decides():
    assert format_from_accept("application/json;q=0.1, text/csv;q=0.9") is Format.CSV


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ("limit=abc", "limit='abc' is not a whole number"),
        ("limit=-1", "is not a whole number"),
        ("limit=1001", "limit=1001 is more than the maximum 1000"),
        ("limit=1,2&offset=3", "already gives an offset"),
        ("offset=x", "offset='x' is not a whole number"),
        ("limit=1,x", "limit='x'"),
        ("format=xml", "format='xml' is not one of: json, csv, ndjson"),
        ("count=maybe", "count='maybe' is not one of: capped, exact, none"),
        ("safe=yes", "the only choice is safe=spreadsheet"),
        ("safe=spreadsheet", "CSV exports only"),
        ("_bogus=1", "Unknown parameter '_bogus'. Parameters are sort, limit"),
        ("sort=a&_sort=b", "'sort' is given more than once"),
        ("limit=1&limit=2", "'limit' is given more than once"),
        ("sort=a,,b", "has an empty item"),
        ("fields=a,,b", "has an empty item"),
        ("=5", "Unknown parameter ''"),
    ],
)
def test_malformed_queries_say_what_is_wrong_and_what_is_valid(query, message):
    with pytest.raises(InvalidRowQuery) as raised:
        parsed(query)
    assert message in str(raised.value)
    assert raised.value.status_code == 400


@pytest.mark.parametrize(
    ("column_type", "raw", "value"),
    [
        (ColumnType.INTEGER, "42", 42),
        (ColumnType.INTEGER, "-7", -7),
        (ColumnType.DECIMAL, "7.25", Decimal("7.25")),
        (ColumnType.DECIMAL, "7", Decimal(7)),
        (ColumnType.DECIMAL, "-.5e2", Decimal("-50")),
        (ColumnType.BOOLEAN, "true", True),
        (ColumnType.BOOLEAN, "No", False),
        (ColumnType.BOOLEAN, "1", True),
        (ColumnType.DATE, "2020-06-01", date(2020, 6, 1)),
        (ColumnType.TIMESTAMP, "2020-06-01", datetime(2020, 6, 1, tzinfo=UTC)),
        (ColumnType.TIMESTAMP, "2020-06-01T12:30:00Z", datetime(2020, 6, 1, 12, 30, tzinfo=UTC)),
        (ColumnType.TIMESTAMP, "2020-06-01 14:30+02:00", datetime(2020, 6, 1, 12, 30, tzinfo=UTC)),
        (ColumnType.TEXT, " as is ", " as is "),
    ],
)
def test_values_are_read_as_the_column_type(column_type, raw, value):
    assert parse_value(column_type, raw, column="c") == value


@pytest.mark.parametrize(
    ("column_type", "raw", "expected"),
    [
        (ColumnType.INTEGER, "7.5", "expected a whole number"),
        (ColumnType.INTEGER, "99999999999999999999", "an integer column"),
        (ColumnType.DECIMAL, "abc", "expected a number such as 7.25"),
        (ColumnType.DECIMAL, "NaN", "a decimal column"),
        (ColumnType.BOOLEAN, "maybe", "expected true or false"),
        (ColumnType.DATE, "2020-02-30", "expected a date YYYY-MM-DD"),
        (ColumnType.DATE, "2020-06-01T00:00", "a date column"),
        (ColumnType.TIMESTAMP, "yesterday", "expected an ISO 8601 timestamp"),
        (ColumnType.TIMESTAMP, "2020-06-01 25:00", "a timestamp column"),
    ],
)
def test_bad_values_name_the_column_its_type_and_the_expected_form(column_type, raw, expected):
    with pytest.raises(InvalidRowQuery) as raised:
        parse_value(column_type, raw, column="c")
    assert f"{raw!r} is not a valid value for 'c'" in str(raised.value)
    assert expected in str(raised.value)


def test_lists_split_on_commas_or_read_json_arrays():
    assert parse_list("a,b,c", column="c") == ["a", "b", "c"]
    assert parse_list('["a,b", "c", 3]', column="c") == ["a,b", "c", "3"]
    for bad in ("", '["a"', "[{}]"):
        with pytest.raises(InvalidRowQuery):
            parse_list(bad, column="c")
