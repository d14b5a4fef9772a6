"""widen, and the type inference rules, one column at a time."""

import calendar
import random

import pytest
from csvread_support import infer, infer_type

from csvhub.csvread import ColumnType, TypeTracker, fixed_width, formats, widen
from csvhub.csvread.formats import DateStyle, Kind

INT, DEC, BOOL, DATE, TS, TEXT = (
    ColumnType.INTEGER,
    ColumnType.DECIMAL,
    ColumnType.BOOLEAN,
    ColumnType.DATE,
    ColumnType.TIMESTAMP,
    ColumnType.TEXT,
)


@pytest.mark.parametrize(
    ("a", "b", "joined"),
    [
        (None, None, None),
        (None, INT, INT),
        (DEC, None, DEC),
        (INT, INT, INT),
        (INT, DEC, DEC),
        (DEC, INT, DEC),
        (DATE, TS, TS),
        (TS, DATE, TS),
        (BOOL, BOOL, BOOL),
        (INT, BOOL, TEXT),
        (INT, DATE, TEXT),
        (DEC, TS, TEXT),
        (BOOL, DATE, TEXT),
        (TEXT, INT, TEXT),
        (TS, TEXT, TEXT),
    ],
)
def test_widen_is_the_lattice_join(a, b, joined) -> None:
    assert widen(a, b) is joined


@pytest.mark.parametrize(
    ("cells", "expected"),
    [
        # integers
        (["1", "-2", "+3", "0", "-0", "42"], INT),
        (["9223372036854775807", "-9223372036854775808"], INT),
        # Beyond int64: no decimal column holds them exactly on every warehouse either.
        (["9223372036854775808"], TEXT),
        (["-9223372036854775809", "1"], TEXT),
        (["123456789012345678901234567890"], TEXT),
        (["007"], TEXT),  # leading zeros: a code, not a number
        (["1", "02134"], TEXT),
        (["1,000"], TEXT),  # thousands separators
        # decimals
        (["1.5", "-.5", "3.", "1e5", "2.5E-3", "0.25", "-0.0", "+1.5e+10"], DEC),
        (["1", "2.5"], DEC),
        (["nan"], TEXT),
        (["inf"], TEXT),
        (["-"], TEXT),
        (["."], TEXT),
        (["1e1234"], TEXT),
        (["00.5"], TEXT),
        # booleans
        (["true", "False", "YES", "no", "t", "F", "y", "N"], BOOL),
        (["1", "0"], INT),  # 1/0 are integers, not booleans
        (["true", "1"], TEXT),
        (["yess"], TEXT),
        # dates, one style per column
        (["2020-01-31", "2024-02-29", "2000-02-29"], DATE),
        (["2021-02-29"], TEXT),  # not a leap year
        (["1900-02-29"], TEXT),  # divisible by 100, not by 400
        (["2020-02-30"], TEXT),
        (["2020-04-31"], TEXT),
        (["2020-13-01"], TEXT),
        (["2020-00-10"], TEXT),
        (["0000-01-01"], TEXT),
        (["2020/03/15", "2020/3/5", "2020/2/29"], DATE),
        (["03/15/2020", "3/5/2020", "12/31/1999"], DATE),
        (["31/12/2020"], TEXT),  # slashes with the year last are month first
        (["15.03.2020", "5.3.2020", "29.02.2020"], DATE),
        (["31.04.2020"], TEXT),
        (["2020-03-15", "03/15/2020"], TEXT),  # two styles
        (["15.03.2020", "2020/03/15"], TEXT),
        # timestamps
        (["2020-03-15 10:20:30", "2020-03-15T10:20", "2020-03-15T10:20:30.123456Z"], TS),
        (["2020-03-15T10:20:30+02:00", "2020-03-15T10:20:30-0530"], TS),
        (["2020-03-15", "2020-03-15 10:20:30"], TS),  # dates and timestamps mix
        (["03/15/2020 9:05", "03/15/2020", "12/31/2020 23:59:59"], TS),
        (["15.03.2020 14:30", "15.03.2020"], TS),
        (["2020/03/15 14:30:00"], TS),
        (["2020-03-15 24:00:00"], TEXT),
        (["2020-03-15 10:60:00"], TEXT),
        (["2020-03-15T10:20:30.1234567"], TEXT),  # 7 fraction digits
        (["2020-03-15 10:20:30", "03/15/2020 10:20"], TEXT),
        (["2020-03-15T10:20:30+25:00"], TEXT),
        # empties
        (["", "  ", "\t"], None),
        (["", " 12 ", "  ", "7"], INT),  # surrounding whitespace is accepted
        (["hello", ""], TEXT),
    ],
)
def test_inferred_type(cells: list[str], expected: ColumnType | None) -> None:
    assert infer_type(cells) is expected
    assert infer_type(*([cell] for cell in cells)) is expected  # one value per batch


@pytest.mark.parametrize(
    ("batches", "expected"),
    [
        ([["1", "2"], ["3.5"]], DEC),
        ([["1", "2"], ["abc"]], TEXT),
        ([["2020-01-01"], ["2020-01-01 10:00:00"]], TS),
        ([["2020-01-01 10:00:00"], ["2020-01-02"]], TS),
        ([["2020-01-01"], ["01/02/2020"]], TEXT),
        ([["", ""], ["5"], ["", "6"]], INT),
        ([["1.5"], ["7"], ["8"]], DEC),
        ([["abc"], ["1"]], TEXT),
        ([["1"], ["9223372036854775808"]], TEXT),
        ([["yes"], ["no"], ["maybe"]], TEXT),
    ],
)
def test_types_widen_across_batches(batches: list[list[str]], expected: ColumnType) -> None:
    assert infer_type(*batches) is expected


def test_observe_returns_types_per_column() -> None:
    tracker = TypeTracker(3)
    assert tracker.observe([["1", "x", ""], ["2", "y", ""]]) == [INT, TEXT, None]
    assert tracker.observe([["2.5", "1", "2020-01-01"]]) == [DEC, TEXT, DATE]
    assert tracker.types == [DEC, TEXT, DATE]
    assert tracker.date_styles == [None, None, DateStyle.ISO]


def test_observe_rejects_rows_of_the_wrong_width() -> None:
    with pytest.raises(ValueError):
        TypeTracker(2).observe([["1", "2"], ["3"]])


def test_cells_with_newlines_are_classified_one_by_one() -> None:
    assert infer_type(["1", "2\n"]) is INT
    assert infer_type(["1", "2\n3"]) is TEXT


# The fixed-layout proof must agree with the regex grammars on any fixed-width column.
def _random_timestamp(rng: random.Random, layout: str) -> str:
    year = rng.choice(["0000", "1900", "2000", "2020", "2021", "2024", "9999", "0004"])
    month = rng.choice(["00", "01", "02", "04", "09", "11", "12", "13", "20"])
    day = rng.choice(["00", "01", "09", "10", "28", "29", "30", "31", "32", "40"])
    hour = rng.choice(["00", "09", "19", "20", "23", "24", "30"])
    minute, second = rng.choice(["00", "59", "60", "99"]), rng.choice(["00", "59", "60"])
    return layout.format(y=year, m=month, d=day, h=hour, mi=minute, s=second)


@pytest.mark.parametrize(
    "layout",
    ["{y}-{m}-{d}", "{y}-{m}-{d} {h}:{mi}:{s}", "{y}-{m}-{d}T{h}:{mi}:{s}.123Z"],
)
def test_fixed_layout_proof_agrees_with_the_grammar(layout: str) -> None:
    rng = random.Random(1234)
    timestamps = "{h}" in layout
    kind = Kind(TS if timestamps else DATE, DateStyle.ISO)
    grammar = formats.column_pattern(formats.accepted(kind), lenient=False)
    for _ in range(3000):
        cells = [_random_timestamp(rng, layout) for _ in range(rng.choice([1, 2, 3]))]
        joined = "\n".join(cells)
        proven = fixed_width.layout_fit(joined, len(cells), timestamps=timestamps)
        if proven is not None:
            assert grammar.fullmatch(joined), cells
        elif all(formats.classify(c) in (kind, Kind(DATE, DateStyle.ISO)) for c in cells):
            pytest.fail(f"valid cells not proven: {cells}")


def _valid_timestamp(rng: random.Random, layout: str) -> str:
    """A real day and time in `layout`, of any month, February 29 of leap years included."""
    year = rng.choice([1600, 1900, 2000, 2023, 2024, 2100, 9999, 4])
    month = rng.randrange(1, 13)
    days = calendar.monthrange(year, month)[1]
    return layout.format(
        y=f"{year:04d}",
        m=f"{month:02d}",
        d=f"{rng.choice([1, days, rng.randrange(1, days + 1)]):02d}",
        h=f"{rng.randrange(24):02d}",
        mi=f"{rng.randrange(60):02d}",
        s=f"{rng.randrange(60):02d}",
    )


@pytest.mark.parametrize(
    "layout",
    ["{y}-{m}-{d}", "{y}-{m}-{d} {h}:{mi}:{s}", "{y}-{m}-{d}T{h}:{mi}:{s}.123Z"],
)
def test_the_c_layout_proof_answers_what_the_python_one_answers(layout: str) -> None:
    layout_fits = pytest.importorskip("csvhub.csvread._splitter").layout_fits
    rng = random.Random(99)
    with_time = "{h}" in layout
    zeros = _random_timestamp(rng, layout).translate(str.maketrans("123456789", "0" * 9))
    # Damage that the layout check must see: a character replaced in place (the length and
    # the kind of str kept: a letter for a digit, a digit for a separator or a line break),
    # a non-ASCII digit, a cell longer or shorter, wider characters.
    damage = [("-", "/"), ("0", "٣"), ("0", "00"), ("0", ""), ("\n", ""), ("2", "😀")]
    in_place = "x0 :-T\n"
    for _ in range(20_000):
        cells = [_random_timestamp(rng, layout) for _ in range(rng.choice([1, 2, 3, 50]))]
        if rng.random() < 0.5:  # valid values of every month, so that most columns can pass
            cells = [_valid_timestamp(rng, layout) for _ in cells]
        joined = "\n".join(cells)
        if rng.random() < 0.1:
            old, new = rng.choice(damage)
            joined = joined.replace(old, new, 1)
        elif rng.random() < 0.2:
            at = rng.randrange(len(joined))
            joined = joined[:at] + rng.choice(in_place) + joined[at + 1 :]
        expected = fixed_width._layout_fits_in_python(joined, zeros, len(cells), with_time)
        assert layout_fits(joined, zeros, len(cells), with_time) is expected, cells


def test_fixed_layout_handles_leap_days() -> None:
    assert fixed_width.layout_fit("2024-02-29\n2000-02-29", 2, timestamps=False) == "0000-00-00"
    assert fixed_width.layout_fit("2024-02-29\n1900-02-29", 2, timestamps=False) is None
    assert infer_type(["2024-02-29 00:00:00", "2023-02-28 00:00:00"]) is TS
    assert infer_type(["2024-02-29 00:00:00", "2023-02-29 00:00:00"]) is TEXT


def test_large_column_of_valid_timestamps_stays_a_timestamp() -> None:
    cells = [
        f"2020-{m:02d}-{d:02d} {h:02d}:59:59"
        for m in range(1, 13)
        for d in (1, 28)
        for h in range(24)
    ]
    tracker = infer(cells, cells[:5])
    assert tracker.types == [TS]
    assert tracker.stats[0].min_value == "2020-01-01 00:59:59"
    assert tracker.stats[0].max_value == "2020-12-28 23:59:59"


@pytest.mark.parametrize(
    ("batches", "scale", "expected"),
    [
        ([["1", "2"]], None, INT),
        ([["1.5", "79930.00", ""]], 2, DEC),
        ([["1", "2"], ["3.25"]], 2, DEC),
        ([["0.5"], ["1"], ["-0.125"]], 3, DEC),
        ([["1e-10", "2.5E-3", "1.5e3"]], 10, DEC),
        ([["12345678901234567.89", "-0.50"]], 2, DEC),
        ([["92233720368547758.07"]], 2, DEC),  # 2**63 - 1 hundredths: the largest
        ([["92233720368547758.07"], ["0.001"]], None, TEXT),  # not at scale 3
        ([["1.0000000000000000001"]], None, TEXT),  # 19 digits after the point
    ],
)
def test_decimal_columns_get_the_scale_of_their_longest_fraction(
    batches: list[list[str]], scale: int | None, expected: ColumnType
) -> None:
    tracker = TypeTracker(1)
    for batch in batches:
        tracker.observe([[cell] for cell in batch])
    assert (tracker.types[0], tracker.scales[0]) == (expected, scale)


def test_a_column_stored_as_text_counts_digits_as_text() -> None:
    # A table's text column takes digits as text: counted as values (top values, whitespace
    # too), not read as integers whose batch stats would keep no top values.
    from csvhub.csvread import Columns

    tracker = TypeTracker(2, text_columns=[0])
    tracker.observe_columns(Columns([["123", "123", ""], ["1", "2", "3"]]))
    tracker.observe_columns(Columns([["A1", "123", " "], ["4", "5", "6"]]))
    assert tracker.types == [ColumnType.TEXT, ColumnType.INTEGER]
    text = tracker.stats[0]
    assert text.top_values is not None
    assert dict(text.top_values.counts) == {"123": 3, "A1": 1, " ": 1}
    assert (text.nulls, text.non_null) == (1, 5)
