"""Per-column statistics kept at ingestion (Dataset.stats), mergeable across batches and uploads."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, fields, replace
from decimal import Decimal
from typing import Any

from csvhub.schema import values
from csvhub.schema.types import ColumnType, widen

NUMERIC = (ColumnType.INTEGER, ColumnType.DECIMAL)
TEMPORAL = (ColumnType.DATE, ColumnType.TIMESTAMP)


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
        )

    def retyped(self, value_type: ColumnType | None) -> ColumnStats:
        """The extremes re-expressed for a column that widened to `value_type`."""
        low, high = self.bounds_as(value_type)
        return replace(self, min_value=low, max_value=high, value_type=value_type)

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
        return data

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> ColumnStats:
        known = {field.name for field in fields(cls)}
        value_type = data.get("value_type")
        return cls(
            **{key: value for key, value in data.items() if key in known - {"value_type"}},
            value_type=None if value_type is None else ColumnType(value_type),
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
        return pick(a, b, key=Decimal)
    return pick(a, b)  # canonical ISO text sorts chronologically
