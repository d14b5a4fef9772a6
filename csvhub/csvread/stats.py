"""Per-column summaries kept during the same pass as type inference.

Everything here works on a whole batch column at once (map/min/max/count in C); a Python
loop per value only runs for the rare batch with whitespace-only cells or tied float extremes.
"""

from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from decimal import Decimal
from typing import Any

from csvhub.csvread.column_types import ColumnType, widen
from csvhub.csvread.columns import CellSummary

NUMERIC = (ColumnType.INTEGER, ColumnType.DECIMAL)
TEMPORAL = (ColumnType.DATE, ColumnType.TIMESTAMP)


@dataclass
class ColumnStats:
    """Counts, extremes and lengths of one column, mergeable across batches and uploads.

    Nulls are the cells stored as NULL: empty cells, and whitespace-only cells of typed
    columns (text columns keep those as written). `min_value`/`max_value` are canonical text
    (numbers as written, 'YYYY-MM-DD', 'YYYY-MM-DD HH:MM:SS[.f]' in UTC) compared numerically
    or chronologically, and only kept while `value_type` is a number, date or timestamp.
    Lengths are of the non-null cells as written, for every type, so that a column widened to
    text late still has correct lengths.
    """

    nulls: int = 0
    non_null: int = 0
    min_value: str | None = None
    max_value: str | None = None
    min_length: int | None = None
    max_length: int | None = None
    value_type: ColumnType | None = None  # the type min_value/max_value are written in

    def merge(self, other: "ColumnStats") -> None:
        """Fold `other` into this summary; extremes follow the widened type."""
        value_type = widen(self.value_type, other.value_type)
        self.retype(value_type)
        low, high = other.bounds_as(value_type)
        self.min_value = _extreme(value_type, self.min_value, low, lowest=True)
        self.max_value = _extreme(value_type, self.max_value, high, lowest=False)
        self.nulls += other.nulls
        self.non_null += other.non_null
        self.min_length = _optional(min, self.min_length, other.min_length)
        self.max_length = _optional(max, self.max_length, other.max_length)

    def retype(self, value_type: ColumnType | None) -> None:
        """Re-express the extremes for a column that widened to `value_type`."""
        self.min_value, self.max_value = self.bounds_as(value_type)
        self.value_type = value_type

    def bounds_as(self, value_type: ColumnType | None) -> tuple[str | None, str | None]:
        if value_type not in NUMERIC + TEMPORAL or self.min_value is None:
            return None, None
        low, high = self.min_value, self.max_value
        if value_type is ColumnType.TIMESTAMP and self.value_type is ColumnType.DATE:
            return f"{low} 00:00:00", f"{high} 00:00:00"  # a date is its midnight
        return low, high

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["value_type"] = None if self.value_type is None else str(self.value_type)
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "ColumnStats":
        value_type = data.get("value_type")
        fields = {**data, "value_type": None if value_type is None else ColumnType(value_type)}
        return cls(**fields)


def _optional[T: (int, str)](pick: Callable[[T, T], T], a: T | None, b: T | None) -> T | None:
    if a is None:
        return b
    return a if b is None else pick(a, b)


def _extreme(
    value_type: ColumnType | None, a: str | None, b: str | None, *, lowest: bool
) -> str | None:
    if a is None or b is None:
        return a if b is None else b
    pick = min if lowest else max
    if value_type in NUMERIC:
        return pick(a, b, key=Decimal)
    return pick(a, b)  # canonical ISO text sorts chronologically


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
    stats = ColumnStats(value_type=value_type)
    lengths = {width} if width else set(map(len, values))  # min/max over the set are free
    stats.nulls = values.count("") if 0 in lengths else 0
    stats.non_null = len(values) - stats.nulls
    if stats.non_null == 0:
        return stats
    lengths.discard(0)
    stats.min_length, stats.max_length = min(lengths), max(lengths)
    if value_type in NUMERIC:
        numbers = list(filter(None, values)) if stats.nulls else values
        exact = not exponents and stats.max_length <= 15
        stats.min_value, stats.max_value = numeric_bounds(numbers, floats_exact=exact)
    elif value_type in TEMPORAL:
        _set_time_bounds(stats, values if ordered is None else ordered)
    return stats


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
    stats = ColumnStats(value_type=value_type, nulls=summary.empties)
    stats.non_null = row_count - summary.empties
    if stats.non_null == 0:
        return stats
    stats.min_length, stats.max_length = summary.min_length, summary.max_length
    if value_type in NUMERIC:
        if summary.number_min is None:
            return None
        stats.min_value, stats.max_value = summary.number_min, summary.number_max
    elif value_type in TEMPORAL:  # written canonically: code-point order is time order
        stats.min_value, stats.max_value = summary.text_min, summary.text_max
    return stats


def _stats_one_by_one(
    values: Sequence[str], value_type: ColumnType, ordered: Sequence[str] | None
) -> ColumnStats:
    """The general case: whitespace around values, or whitespace-only cells."""
    present = [v for v in values if v and not v.isspace()]
    stats = ColumnStats(value_type=value_type, nulls=len(values) - len(present))
    stats.non_null = len(present)
    if not present:
        return stats
    lengths = list(map(len, present))
    stats.min_length, stats.max_length = min(lengths), max(lengths)
    if value_type in NUMERIC:
        stats.min_value, stats.max_value = numeric_bounds([v.strip() for v in present])
    elif value_type in TEMPORAL:
        _set_time_bounds(stats, values if ordered is None else ordered)
    return stats


def _set_time_bounds(stats: ColumnStats, canonical: Sequence[str]) -> None:
    # Canonical ISO text sorts chronologically; '' (null) sorts first, so only min skips it.
    stats.min_value, stats.max_value = min(filter(None, canonical)), max(canonical)


def numeric_bounds(numbers: Sequence[str], *, floats_exact: bool = False) -> tuple[str, str]:
    """Exact numeric min and max of number texts, using floats to find them.

    Float conversion is monotonic, so the exact extreme is among the values whose float equals
    the float extreme; ties (equal values, or digits beyond float precision) are settled with
    Decimal unless `floats_exact` rules them out.
    """
    floats = list(map(float, numbers))
    return (
        _exact(numbers, floats, floats_exact, lowest=True),
        _exact(numbers, floats, floats_exact, lowest=False),
    )


def _exact(numbers: Sequence[str], floats: list[float], floats_exact: bool, *, lowest: bool) -> str:
    pick = min if lowest else max
    best = pick(floats)
    if floats_exact or floats.count(best) == 1:
        return numbers[floats.index(best)]
    return pick((n for n, f in zip(numbers, floats, strict=True) if f == best), key=Decimal)
