"""Converter: canonical text for the warehouse, ~free when there is nothing to do."""

import pytest

from csvhub.csvread import ColumnType, Converter, TypeTracker

INT, DEC, BOOL, DATE, TS, TEXT = (
    ColumnType.INTEGER,
    ColumnType.DECIMAL,
    ColumnType.BOOLEAN,
    ColumnType.DATE,
    ColumnType.TIMESTAMP,
    ColumnType.TEXT,
)


@pytest.mark.parametrize(
    ("stored", "cells", "expected"),
    [
        (INT, ["1", " 2 ", "", "  ", "+3", "-4"], ["1", "2", "", "", "+3", "-4"]),
        (DEC, ["1.5", " 2", "1e5", "7", ""], ["1.5", "2", "1e5", "7", ""]),
        (
            BOOL,
            ["true", "FALSE", "Yes", "n", " t ", "", "F"],
            ["true", "false", "true", "false", "true", "", "false"],
        ),
        (
            DATE,
            ["2020-03-15", "03/15/2020", "3/5/2020", "2020/3/5", "15.03.2020", ""],
            ["2020-03-15", "2020-03-15", "2020-03-05", "2020-03-05", "2020-03-15", ""],
        ),
        (
            TS,
            [
                "2020-03-15 10:20:30",
                "2020-03-15T10:20:30Z",
                "2020-03-15T10:20",
                "2020-03-15 10:20:30.5",
                "",
            ],
            [
                "2020-03-15 10:20:30",
                "2020-03-15 10:20:30",
                "2020-03-15 10:20:00",
                "2020-03-15 10:20:30.5",
                "",
            ],
        ),
        (
            TS,
            [
                "2020-03-15T10:20:30+02:00",
                "2020-03-15T22:20:30.123456-0300",
                "2020-12-31T23:30:00-01:00",
                "2020-03-15 01:00+05:30",
            ],
            [
                "2020-03-15 08:20:30",
                "2020-03-16 01:20:30.123456",
                "2021-01-01 00:30:00",
                "2020-03-14 19:30:00",
            ],
        ),
        (  # fractions lose trailing zeros, as PostgreSQL writes them
            TS,
            [
                "2020-03-15 10:20:30.500",
                "2020-03-15T10:20:30.000Z",
                "2020-03-15T10:20:30.120+01:00",
                "2020-03-15 10:20:30.000100",
            ],
            [
                "2020-03-15 10:20:30.5",
                "2020-03-15 10:20:30",
                "2020-03-15 09:20:30.12",
                "2020-03-15 10:20:30.0001",
            ],
        ),
        (
            TS,
            ["2020-03-15", "03/15/2020 9:05", "15.03.2020 14:30:15", "2020/3/5 1:02"],
            [
                "2020-03-15 00:00:00",
                "2020-03-15 09:05:00",
                "2020-03-15 14:30:15",
                "2020-03-05 01:02:00",
            ],
        ),
        (TEXT, ["03/15/2020", " x ", "", "  "], ["03/15/2020", " x ", "", "  "]),
    ],
)
def test_canonical_text(stored: ColumnType, cells: list[str], expected: list[str]) -> None:
    rows = [[cell] for cell in cells]
    assert Converter([stored]).convert(rows) == [[value] for value in expected]
    tracker = TypeTracker(1)
    tracker.observe(rows)
    observed = Converter([stored]).convert(rows, tracker.last_observation)
    assert observed == [[value] for value in expected]


def test_canonical_rows_come_back_as_the_same_object() -> None:
    rows = [
        ["1", "2.5", "2020-01-01", "2020-01-01 10:00:00", "true", "x"],
        ["", "", "", "", "", ""],
    ]
    converter = Converter([INT, DEC, DATE, TS, BOOL, TEXT])
    assert converter.convert(rows) is rows
    tracker = TypeTracker(6)
    tracker.observe(rows)
    assert converter.convert(rows, tracker.last_observation) is rows


def test_converting_does_not_touch_the_input_rows() -> None:
    rows = [["1", "YES"]]
    assert Converter([INT, BOOL]).convert(rows) == [["1", "true"]]
    assert rows == [["1", "YES"]]


def test_integers_are_canonical_decimals() -> None:
    rows = [["1"], ["-20"]]
    tracker = TypeTracker(1)
    tracker.observe(rows)
    assert Converter([DEC]).convert(rows, tracker.last_observation) is rows


def test_dates_into_a_timestamp_column_become_midnight() -> None:
    rows = [["2020-01-01"], ["2020-02-29"]]
    tracker = TypeTracker(1)
    tracker.observe(rows)
    converted = Converter([TS]).convert(rows, tracker.last_observation)
    assert converted == [["2020-01-01 00:00:00"], ["2020-02-29 00:00:00"]]


@pytest.mark.parametrize(
    ("stored", "cell"),
    [
        (INT, "1.5"),
        (INT, "9223372036854775808"),
        (INT, "007"),
        (DEC, "abc"),
        (BOOL, "maybe"),
        (DATE, "2021-02-29"),
        (DATE, "2020-01-01 10:00:00"),
        (TS, "tomorrow"),
    ],
)
def test_a_cell_that_does_not_fit_raises(stored: ColumnType, cell: str) -> None:
    with pytest.raises(ValueError, match="not"):
        Converter([stored]).convert([["1" if stored in (INT, DEC) else ""], [cell]])


def test_an_observation_of_other_rows_is_refused() -> None:
    tracker = TypeTracker(1)
    tracker.observe([["1"]])
    with pytest.raises(ValueError, match="another batch"):
        Converter([INT]).convert([["2"], ["3"]], tracker.last_observation)


@pytest.mark.parametrize(
    ("cells", "expected"),
    [
        (
            ["2020-03-15T10:20:30Z", "2020-12-31T00:00:00Z"],
            ["2020-03-15 10:20:30", "2020-12-31 00:00:00"],
        ),
        (
            ["2020-03-15T10:20:30.250", "2021-01-01T01:02:03.500"],
            ["2020-03-15 10:20:30.25", "2021-01-01 01:02:03.5"],
        ),
        (["2020-03-15", "2024-02-29"], ["2020-03-15 00:00:00", "2024-02-29 00:00:00"]),
    ],
)
def test_fixed_iso_layouts_in_a_timestamp_column(cells: list[str], expected: list[str]) -> None:
    tracker = TypeTracker(1)
    tracker.observe([["2000-01-01 00:00:00"]])  # the column is a timestamp already
    rows = [[cell] for cell in cells]
    tracker.observe(rows)
    assert tracker.types == [TS]
    assert Converter([TS]).convert(rows, tracker.last_observation) == [[v] for v in expected]
    assert Converter([TS]).convert(rows) == [[v] for v in expected]
    assert (tracker.stats[0].min_value, tracker.stats[0].max_value) == (
        "2000-01-01 00:00:00",
        expected[-1],
    )
