"""ColumnStats: kept while inferring, correct over every batch, mergeable, JSON-safe."""

import json
from dataclasses import replace

import pytest
from csvread_support import infer

from csvhub.csvread import ColumnStats, ColumnType


def test_integer_stats_over_batches() -> None:
    stats = infer(["10", "", "-3"], ["  ", "7", "120"], ["", "5"]).stats[0]
    assert stats == ColumnStats(
        nulls=3,
        non_null=5,
        min_value="-3",
        max_value="120",
        min_length=1,
        max_length=3,
        value_type=ColumnType.INTEGER,
    )


def test_decimal_extremes_are_numeric_not_lexicographic() -> None:
    stats = infer(["9.5", "10.25", "-2"], ["100", "-11.5", "1e3"]).stats[0]
    assert (stats.min_value, stats.max_value) == ("-11.5", "1e3")
    assert stats.value_type is ColumnType.DECIMAL


def test_decimal_extremes_are_exact_beyond_float_precision() -> None:
    big = ["0.100000000000000001", "0.10000000000000000", "0.100000000000000002"]
    stats = infer(big).stats[0]
    assert (stats.min_value, stats.max_value) == (big[1], big[2])


def test_integer_extremes_survive_widening_to_decimal() -> None:
    stats = infer(["5", "-40"], ["0.5", "99.9"]).stats[0]
    assert (stats.min_value, stats.max_value) == ("-40", "99.9")
    assert stats.value_type is ColumnType.DECIMAL


def test_date_extremes_are_chronological_and_canonical() -> None:
    stats = infer(["12/31/2019", "01/02/2020"], ["3/4/2021", ""]).stats[0]
    assert (stats.min_value, stats.max_value) == ("2019-12-31", "2021-03-04")
    assert (stats.nulls, stats.non_null) == (1, 3)


def test_timestamps_extremes_are_utc() -> None:
    stats = infer(["2020-01-01T00:30:00+02:00", "2020-01-01 00:00:00"]).stats[0]
    assert (stats.min_value, stats.max_value) == ("2019-12-31 22:30:00", "2020-01-01 00:00:00")


def test_dates_widened_to_timestamps_become_midnight() -> None:
    stats = infer(["2020-01-05", "2020-01-01"], ["2020-01-03 12:00:00"]).stats[0]
    assert (stats.min_value, stats.max_value) == ("2020-01-01 00:00:00", "2020-01-05 00:00:00")
    assert stats.value_type is ColumnType.TIMESTAMP


def test_widening_to_text_drops_extremes_but_keeps_lengths() -> None:
    stats = infer(["1", "22", "333"], ["hello world"]).stats[0]
    assert (stats.min_value, stats.max_value) == (None, None)
    assert (stats.min_length, stats.max_length) == (1, 11)
    assert (stats.nulls, stats.non_null) == (0, 4)


def test_mixing_date_styles_drops_extremes() -> None:
    stats = infer(["2020-01-01"], ["01/02/2020"]).stats[0]
    assert stats.value_type is ColumnType.TEXT
    assert stats.min_value is None


def test_text_stats_count_empty_cells_and_keep_whitespace_as_written() -> None:
    stats = infer(["abc", "", " "], ["a", "abcdef"]).stats[0]
    assert (stats.nulls, stats.non_null, stats.min_length, stats.max_length) == (1, 4, 1, 6)
    assert stats.min_value is None


def test_boolean_stats_have_no_extremes() -> None:
    stats = infer(["yes", "no", ""]).stats[0]
    assert stats == ColumnStats(1, 2, None, None, 2, 3, ColumnType.BOOLEAN)


def test_empty_column_stats() -> None:
    assert infer(["", ""], [" "]).stats[0] == ColumnStats(nulls=3)


@pytest.mark.parametrize(
    ("a", "b", "merged"),
    [
        (
            ColumnStats(1, 2, "5", "10", 1, 2, ColumnType.INTEGER),
            ColumnStats(0, 3, "-1.5", "9", 1, 4, ColumnType.DECIMAL),
            ColumnStats(1, 5, "-1.5", "10", 1, 4, ColumnType.DECIMAL),
        ),
        (
            ColumnStats(0, 1, "2020-01-02", "2020-01-02", 10, 10, ColumnType.DATE),
            ColumnStats(2, 1, "2020-01-01 10:00:00", "2020-01-01 10:00:00", 19, 19, "timestamp"),
            ColumnStats(
                2, 2, "2020-01-01 10:00:00", "2020-01-02 00:00:00", 10, 19, ColumnType.TIMESTAMP
            ),
        ),
        (
            ColumnStats(0, 1, "1", "1", 1, 1, ColumnType.INTEGER),
            ColumnStats(0, 1, None, None, 3, 3, ColumnType.TEXT),
            ColumnStats(0, 2, None, None, 1, 3, ColumnType.TEXT),
        ),
        (
            ColumnStats(4),
            ColumnStats(0, 1, "7", "7", 1, 1, ColumnType.INTEGER),
            ColumnStats(4, 1, "7", "7", 1, 1, ColumnType.INTEGER),
        ),
    ],
)
def test_merge(a: ColumnStats, b: ColumnStats, merged: ColumnStats) -> None:
    b = replace(b, value_type=b.value_type and ColumnType(b.value_type))
    assert a.merged(b) == merged
    assert a.merged(b) == b.merged(a)


def test_json_round_trips() -> None:
    stats = infer(["1.5", "", "-2"]).stats[0]
    data = json.loads(json.dumps(stats.to_json()))
    assert data["value_type"] == "decimal"
    assert ColumnStats.from_json(data) == stats
    assert ColumnStats.from_json(ColumnStats().to_json()) == ColumnStats()
