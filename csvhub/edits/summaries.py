"""A column's statistics after an update, from its statistics before and those of the changed
cells before and after: exact without reading the whole table, or None when only a full
recount can tell (a removed value was one of the extremes)."""

from __future__ import annotations

from typing import Any

from csvhub.schema import ColumnStats, ColumnType


def stats_after_update(
    current: ColumnStats, removed: ColumnStats, added: ColumnStats, column_type: ColumnType
) -> ColumnStats | None:
    """`current` less the `removed` cells plus the `added` ones (same rows, new values)."""
    if not _strictly_inside(current, removed, column_type):
        return None
    kept = ColumnStats(
        nulls=current.nulls - removed.nulls,
        non_null=current.non_null - removed.non_null,
        min_value=current.min_value,
        max_value=current.max_value,
        min_length=current.min_length,
        max_length=current.max_length,
        value_type=current.value_type,
    )
    if kept.nulls < 0 or kept.non_null < 0:
        return None  # the summaries disagree: recount
    return kept.merged(added)


def _strictly_inside(current: ColumnStats, removed: ColumnStats, column_type: ColumnType) -> bool:
    """Whether no removed value is an extreme: other cells then still hold the extremes."""
    if removed.non_null == 0:
        return True
    if current.value_type is not column_type:
        return False
    low, high = current.bounds(column_type)
    gone_low, gone_high = removed.bounds(column_type)
    if (low is None) != (gone_low is None):
        return False
    if low is not None and not _between(low, gone_low, gone_high, high):
        return False
    if column_type is not ColumnType.TEXT:
        # Lengths are read for text columns only (analysis's summary); a number's are kept as
        # bounds: the rule on them would send nearly every update to a recount.
        return True
    return _between(current.min_length, removed.min_length, removed.max_length, current.max_length)


def _between(low: Any, inner_low: Any, inner_high: Any, high: Any) -> bool:
    if None in (low, inner_low, inner_high, high):
        return False
    return bool(low < inner_low and inner_high < high)
