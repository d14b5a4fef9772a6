"""Per-column summaries kept during the same pass as type inference.

Everything here works on a whole batch column at once (map/min/max/count in C); a Python
loop per value only runs for the rare batch with whitespace-only cells or tied float extremes.
"""

from collections.abc import Sequence
from decimal import Decimal
from typing import Any

from csvhub.csvread.columns import CellSummary
from csvhub.schema.stats import NUMERIC, TEMPORAL, ColumnStats
from csvhub.schema.types import ColumnType


def batch_stats(
    values: Sequence[str],
    value_type: ColumnType | None,
    *,
    clean: bool,
    ordered: Sequence[str] | None = None,
    exponents: bool = True,
    width: int | None = None,
) -> ColumnStats:
    """Stats of one batch column whose non-null cells all fit `value_type`.

    Nulls are the cells the warehouse stores as NULL: empty cells, and whitespace-only cells
    of typed columns (text keeps them as written). `clean` promises no whitespace-only cells
    and no surrounding whitespace (the strict grammar matched), which keeps everything in C.
    `ordered` is the canonical text of the cells ('' for nulls) when a date/timestamp column
    is not written canonically. `exponents=False` promises numbers without exponents: those
    of at most 15 characters never share a float, which spares looking for ties. `width`
    promises that every cell has that many characters (no nulls), which spares a pass.
    """
    if value_type is None:
        return ColumnStats(nulls=len(values))
    if not clean and value_type is not ColumnType.TEXT:
        return _stats_one_by_one(values, value_type, ordered)
    lengths = {width} if width else set(map(len, values))  # min/max over the set are free
    nulls = values.count("") if 0 in lengths else 0
    non_null = len(values) - nulls
    if non_null == 0:
        return ColumnStats(nulls=nulls, value_type=value_type)
    lengths.discard(0)
    low = high = None
    if value_type in NUMERIC:
        numbers = list(filter(None, values)) if nulls else values
        exact = not exponents and max(lengths) <= 15
        low, high = numeric_bounds(numbers, floats_exact=exact)
    elif value_type in TEMPORAL:
        low, high = _time_bounds(values if ordered is None else ordered)
    return ColumnStats(nulls, non_null, low, high, min(lengths), max(lengths), value_type)


def summary_stats(
    summary: CellSummary, value_type: ColumnType | None, row_count: int, *, clean: bool
) -> ColumnStats | None:
    """`batch_stats` from what the C splitter noted while splitting the column, without
    looking at the cells again; None when the summary does not tell (whitespace to strip, or
    numbers the splitter does not compare, such as exponents)."""
    if value_type is None:
        return ColumnStats(nulls=row_count)
    if not clean and value_type is not ColumnType.TEXT:
        return None
    non_null = row_count - summary.empties
    if non_null == 0:
        return ColumnStats(nulls=summary.empties, value_type=value_type)
    low = high = None
    if value_type in NUMERIC:
        if summary.number_min is None:
            return None
        low, high = summary.number_min, summary.number_max
    elif value_type in TEMPORAL:  # written canonically: code-point order is time order
        low, high = summary.text_min, summary.text_max
    lengths = (summary.min_length, summary.max_length)
    return ColumnStats(summary.empties, non_null, low, high, *lengths, value_type)


def _stats_one_by_one(
    values: Sequence[str], value_type: ColumnType, ordered: Sequence[str] | None
) -> ColumnStats:
    """The general case: whitespace around values, or whitespace-only cells."""
    present = [v for v in values if v and not v.isspace()]
    nulls = len(values) - len(present)
    if not present:
        return ColumnStats(nulls=nulls, value_type=value_type)
    lengths = list(map(len, present))
    low = high = None
    if value_type in NUMERIC:
        low, high = numeric_bounds([v.strip() for v in present])
    elif value_type in TEMPORAL:
        low, high = _time_bounds(values if ordered is None else ordered)
    return ColumnStats(nulls, len(present), low, high, min(lengths), max(lengths), value_type)


def _time_bounds(canonical: Sequence[str]) -> tuple[str, str]:
    # Canonical ISO text sorts chronologically; '' (null) sorts first, so only min skips it.
    return min(filter(None, canonical)), max(canonical)


def numeric_bounds(numbers: Sequence[str], *, floats_exact: bool = False) -> tuple[str, str]:
    """Exact numeric min and max of number texts, using floats to find them.

    Float conversion is monotonic, so the exact extreme is among the values whose float equals
    the float extreme; ties (equal values, or digits beyond float precision) are settled with
    Decimal unless `floats_exact` rules them out.
    """
    floats = list(map(float, numbers))
    return _exact(min, numbers, floats, floats_exact), _exact(max, numbers, floats, floats_exact)


def _exact(pick: Any, numbers: Sequence[str], floats: list[float], floats_exact: bool) -> str:
    best = pick(floats)
    if floats_exact or floats.count(best) == 1:
        return numbers[floats.index(best)]
    return str(pick((n for n, f in zip(numbers, floats, strict=True) if f == best), key=Decimal))
