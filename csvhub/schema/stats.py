"""Per-column statistics kept at ingestion (Dataset.stats), mergeable across batches and uploads."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field, fields, replace
from decimal import Decimal
from operator import itemgetter
from types import MappingProxyType
from typing import Any

from csvhub.schema import values
from csvhub.schema.types import ColumnType, widen

NUMERIC = (ColumnType.INTEGER, ColumnType.DECIMAL)
TEMPORAL = (ColumnType.DATE, ColumnType.TIMESTAMP)
# A text column's most frequent values kept at ingestion (TopValues): how many, and the longest
# value counted (a facet of long texts says little, and the stats JSON stays small).
TOP_VALUES_KEPT = 32
TOP_VALUE_LENGTH = 200
# A date or timestamp column's rows per UTC day kept at ingestion (DayCounts): at most this many
# days (about ten years), so the stats JSON every page reads stays small; past it none are kept.
DAYS_KEPT = 3_660


@dataclass(frozen=True, slots=True)
class TopValues:
    """A text column's most frequent values with their counts: a Misra-Gries summary of at
    most TOP_VALUES_KEPT counters, mergeable across batches and uploads in any order.

    Each count is at most `error` short of the true count (never over it), and any value
    missing here occurs at most `error` times; `error` is 0 while the column has held no more
    than TOP_VALUES_KEPT distinct values, and the counts are then exact. Values longer than
    TOP_VALUE_LENGTH characters are not counted.
    """

    counts: tuple[tuple[str, int], ...] = ()  # most frequent first, ties by value
    error: int = 0

    @classmethod
    def of(cls, cells: Iterable[str]) -> TopValues:
        """The summary of one batch's non-empty cells (empty cells are NULL, not values)."""
        counted = Counter(cells)  # counting runs in C; long values are dropped after
        counted.pop("", None)
        if counted and max(map(len, counted)) > TOP_VALUE_LENGTH:  # one pass in C first
            for value in [v for v in counted if len(v) > TOP_VALUE_LENGTH]:
                del counted[value]
        return _trimmed(counted, 0)

    @classmethod
    def of_counts(cls, counts: Mapping[str, int], error: int) -> TopValues:
        """The summary of values counted elsewhere (csvread.columns.line_counts, which may
        have trimmed them already: `error` is then what it took off each count)."""
        return _trimmed(counts, error)

    def merged(self, other: TopValues) -> TopValues:
        counted: Counter[str] = Counter(dict(self.counts))
        counted.update(dict(other.counts))
        return _trimmed(counted, self.error + other.error)

    def to_json(self) -> dict[str, Any]:
        return {"counts": [list(pair) for pair in self.counts], "error": self.error}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> TopValues:
        counts = tuple((str(value), int(count)) for value, count in data.get("counts", ()))
        return cls(counts, int(data.get("error", 0)))


def _trimmed(counted: Mapping[str, int], error: int) -> TopValues:
    """Misra-Gries: past TOP_VALUES_KEPT counters, every count drops by the next largest one
    (which then bounds the error), and counts that reach 0 go."""
    # The counts alone are sorted in C, with no Python call per distinct value to find the
    # cut (a batch of 20,000 distinct cells: 3.0 -> 1.7 ms, the Counter itself being 1 ms).
    counts = sorted(counted.values(), reverse=True)
    cut = counts[TOP_VALUES_KEPT] if len(counts) > TOP_VALUES_KEPT else 0
    # At most TOP_VALUES_KEPT counts exceed the cut, the (TOP_VALUES_KEPT + 1)-th largest; when
    # none does (a batch of distinct values ties at 1), the items need not be walked at all.
    kept = []
    if counts and counts[0] > cut:
        kept = [(value, count - cut) for value, count in counted.items() if count > cut]
    kept.sort(key=lambda kv: (-kv[1], kv[0]))
    return TopValues(tuple(kept), error + cut)


@dataclass(frozen=True, slots=True)
class DayCounts:
    """A date or timestamp column's non-null cells counted per UTC day ('YYYY-MM-DD', the
    first ten characters of canonical text): exact, mergeable across batches and uploads,
    and enough to answer a time chart of rows per day, week or month without a scan.

    Held as a mapping and sorted only when read in order (`counts`): ingestion merges every
    batch's days into the column's (hundreds of days per batch), and a sorted tuple rebuilt
    on each merge cost more than counting the cells.
    """

    by_day: Mapping[str, int] = field(default_factory=dict)

    def __post_init__(self) -> None:
        # Read-only, so that nothing changes the counts (or the hash) of a made DayCounts.
        if not isinstance(self.by_day, MappingProxyType):
            object.__setattr__(self, "by_day", MappingProxyType(dict(self.by_day)))

    @classmethod
    def of(cls, cells: Iterable[str]) -> DayCounts | None:
        """The counts of one batch's canonical cells (empty cells are NULL and not counted);
        None past DAYS_KEPT days."""
        return cls.of_counts(Counter(map(_DAY, cells)))  # slicing and counting both in C

    @classmethod
    def of_counts(cls, counts: Mapping[str, int]) -> DayCounts | None:
        """The same from the cells' first DAY_TEXT_LENGTH characters counted elsewhere
        (csvread.columns.line_counts)."""
        # Empty and whitespace-only cells are NULL: not days. The test is written out rather
        # than called per day, as it runs for every day of every batch.
        days = {
            day: count
            for day, count in counts.items()
            if len(day) == DAY_TEXT_LENGTH and day[4] == "-" and day[7] == "-"
        }
        return _days_kept(days)

    @property
    def counts(self) -> tuple[tuple[str, int], ...]:
        """(day, count) pairs in day order."""
        return tuple(sorted(self.by_day.items()))

    def __hash__(self) -> int:  # a dict does not hash; ColumnStats, frozen, must
        return hash(frozenset(self.by_day.items()))

    def __reduce__(self) -> tuple[type[DayCounts], tuple[dict[str, int]]]:
        # A mapping proxy does not pickle (nor deep-copy); its dict does, as the tuple did.
        return DayCounts, (dict(self.by_day),)

    def merged(self, other: DayCounts) -> DayCounts | None:
        counted = dict(self.by_day)
        for day, count in other.by_day.items():
            counted[day] = counted.get(day, 0) + count
        return _days_kept(counted)

    def total(self) -> int:
        return sum(self.by_day.values())

    def to_json(self) -> dict[str, int]:
        return dict(self.counts)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> DayCounts:
        return cls(MappingProxyType({str(day): int(count) for day, count in data.items()}))


# A cell's day: its first ten characters, cut in C (a Python function per cell would double
# the cost of counting, which ingestion pays on every row).
DAY_TEXT_LENGTH = 10
_DAY = itemgetter(slice(None, DAY_TEXT_LENGTH))


def _days_kept(counted: dict[str, int]) -> DayCounts | None:
    """`counted` (a dict made for it, not copied again) as DayCounts; None past DAYS_KEPT."""
    return None if len(counted) > DAYS_KEPT else DayCounts(MappingProxyType(counted))


@dataclass(frozen=True, slots=True)
class NumberCells:
    """A number column's non-null values counted in cells of width `unit` (a power of ten):
    cell i holds first * unit + i * unit <= value < first * unit + (i + 1) * unit. Any
    histogram whose edges are multiples of `unit` is a sum of these cells, exactly.

    Counted by the warehouse on first use (csvhub.datasets.kept), not at ingestion: a count per
    row in Python would slow loads by a tenth per number column. Not merged: a change of the
    column's values drops them, and the next histogram counts them again.
    """

    unit: Decimal
    first: int
    counts: tuple[int, ...]

    def total(self) -> int:
        return sum(self.counts)

    def to_json(self) -> dict[str, Any]:
        return {"unit": str(self.unit), "first": self.first, "counts": list(self.counts)}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> NumberCells:
        return cls(Decimal(data["unit"]), int(data["first"]), tuple(map(int, data["counts"])))


@dataclass(frozen=True, slots=True)
class ColumnStats:
    """Counts, extremes and lengths of one column.

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
    # Text columns: the most frequent values (None when not kept: other types, stats stored
    # before it existed, or a column that became text after holding other values).
    top_values: TopValues | None = None
    # Date and timestamp columns: rows per UTC day (None when not kept: other types, stats
    # stored before they existed, past DAYS_KEPT days, or after a recount of the table).
    day_counts: DayCounts | None = None
    # Number columns: values per cell, for histograms (None until the first one counts them).
    number_cells: NumberCells | None = None

    def merged(self, other: ColumnStats) -> ColumnStats:
        """This summary and `other` as one; extremes follow the widened type."""
        value_type = widen(self.value_type, other.value_type)
        mine, theirs = self.bounds_as(value_type), other.bounds_as(value_type)
        return ColumnStats(
            nulls=self.nulls + other.nulls,
            non_null=self.non_null + other.non_null,
            min_value=_extreme(min, value_type, mine[0], theirs[0]),
            max_value=_extreme(max, value_type, mine[1], theirs[1]),
            min_length=_optional(min, self.min_length, other.min_length),
            max_length=_optional(max, self.max_length, other.max_length),
            value_type=value_type,
            top_values=self._top_merged(other),
            day_counts=self._days_merged(other),
        )

    def _days_merged(self, other: ColumnStats) -> DayCounts | None:
        """Both sides' day counts; None when a side counted values without keeping them (as
        for top values: the merged counts would be short, and a chart wrong, silently)."""
        parts = [self, other]
        if any(part.day_counts is None and part.non_null for part in parts):
            return None
        kept = [part.day_counts for part in parts if part.day_counts is not None]
        if not kept:
            return None
        return kept[0] if len(kept) == 1 else kept[0].merged(kept[1])

    def _top_merged(self, other: ColumnStats) -> TopValues | None:
        """Both sides' top values; None when a side counted values without keeping them (its
        values are unknown, so a merged summary would understate counts silently)."""
        parts = [self, other]
        if any(part.top_values is None and part.non_null for part in parts):
            return None
        kept = [part.top_values for part in parts if part.top_values is not None]
        if not kept:
            return None
        return kept[0] if len(kept) == 1 else kept[0].merged(kept[1])

    def retyped(self, value_type: ColumnType | None) -> ColumnStats:
        """The extremes re-expressed for a column that widened to `value_type`."""
        low, high = self.bounds_as(value_type)
        days = self.day_counts if value_type in TEMPORAL else None  # a date is its own day
        return replace(
            self,
            min_value=low,
            max_value=high,
            value_type=value_type,
            day_counts=days,
            number_cells=None,
        )

    def bounds_as(self, value_type: ColumnType | None) -> tuple[str | None, str | None]:
        """The extremes as canonical text of `value_type` (None for types without them)."""
        if value_type not in NUMERIC + TEMPORAL or self.min_value is None:
            return None, None
        low, high = self.min_value, self.max_value
        if value_type is ColumnType.TIMESTAMP and self.value_type is ColumnType.DATE:
            return f"{low} 00:00:00", f"{high} 00:00:00"  # a date is its midnight
        return low, high

    def bounds(self, column_type: ColumnType) -> tuple[Any, Any]:
        """The extremes as Python values of the column's type (None, None when not kept)."""
        low, high = self.min_value, self.max_value
        if low is None or high is None or column_type not in NUMERIC + TEMPORAL:
            return None, None
        if column_type is ColumnType.DATE:  # a date column's extremes may carry a time
            low, high = low[:10], high[:10]
        return values.parse(column_type, low), values.parse(column_type, high)

    def to_json(self) -> dict[str, Any]:
        data = {field.name: getattr(self, field.name) for field in fields(self)}
        data["value_type"] = None if self.value_type is None else str(self.value_type)
        if self.top_values is None:
            del data["top_values"]  # as stored before top values were kept
        else:
            data["top_values"] = self.top_values.to_json()
        for name, kept in (("day_counts", self.day_counts), ("number_cells", self.number_cells)):
            if kept is None:
                del data[name]  # as stored before these were kept
            else:
                data[name] = kept.to_json()
        return data

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> ColumnStats:
        known = {field.name for field in fields(cls)}
        value_type = data.get("value_type")
        top = data.get("top_values")
        days = data.get("day_counts")
        cells = data.get("number_cells")
        kept = {"value_type", "top_values", "day_counts", "number_cells"}
        return cls(
            **{key: value for key, value in data.items() if key in known - kept},
            value_type=None if value_type is None else ColumnType(value_type),
            top_values=None if top is None else TopValues.from_json(top),
            day_counts=None if days is None else DayCounts.from_json(days),
            number_cells=None if cells is None else NumberCells.from_json(cells),
        )


def _optional[T: (int, str)](pick: Any, a: T | None, b: T | None) -> T | None:
    if a is None:
        return b
    return a if b is None else pick(a, b)


def _extreme(
    pick: Callable[..., str],
    value_type: ColumnType | None,
    a: str | None,
    b: str | None,
) -> str | None:
    if a is None or b is None:
        return a if b is None else b
    if value_type in NUMERIC:
        # Equal numbers written differently (1.0, 1.00): the text breaks the tie, so merging
        # gives the same extreme whatever order uploads publish in.
        return pick(a, b, key=lambda text: (Decimal(text), text))
    return pick(a, b)  # canonical ISO text sorts chronologically
