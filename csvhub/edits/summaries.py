"""A column's statistics after an update, from its statistics before and those of the changed
cells before and after: exact without reading the whole table, or None when only a full
recount can tell (a removed value was one of the extremes, and no new value reaches it)."""

from __future__ import annotations

from typing import Any

from csvhub.schema import ColumnStats, ColumnType


def stats_after_update(
    current: ColumnStats, removed: ColumnStats, added: ColumnStats, column_type: ColumnType
) -> ColumnStats | None:
    """`current` less the `removed` cells plus the `added` ones (same rows, new values)."""
    if not _extremes_known(current, removed, added, column_type):
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


def _extremes_known(
    current: ColumnStats, removed: ColumnStats, added: ColumnStats, column_type: ColumnType
) -> bool:
    """Whether the extremes after the update are known: each one is either still held by a
    cell the update left alone (no removed value is that extreme) or reached by a new value
    (one at or beyond it: raising prices moves the maximum, which then needs no recount)."""
    if removed.non_null == 0:
        return True
    if current.value_type is not column_type:
        return False
    low, high = current.bounds(column_type)
    gone_low, gone_high = removed.bounds(column_type)
    if (low is None) != (gone_low is None):
        return False
    new_low, new_high = (
        added.bounds(column_type) if added.value_type is column_type else (None,) * 2
    )
    if low is not None and not _known(low, gone_low, gone_high, high, new_low, new_high):
        return False
    if column_type is not ColumnType.TEXT:
        # Lengths are read for text columns only (analysis's summary); a number's are kept as
        # bounds: the rule on them would send nearly every update to a recount.
        return True
    return _known(
        current.min_length,
        removed.min_length,
        removed.max_length,
        current.max_length,
        added.min_length,
        added.max_length,
    )


def _known(low: Any, gone_low: Any, gone_high: Any, high: Any, new_low: Any, new_high: Any) -> bool:
    """Both extremes known after removing gone_low..gone_high from low..high and adding
    new_low..new_high (None: no new value); the merge then takes the outer of old and new."""
    if None in (low, gone_low, gone_high, high):
        return False
    low_known = low < gone_low or (new_low is not None and new_low <= low)
    high_known = gone_high < high or (new_high is not None and new_high >= high)
    return bool(low_known and high_known)
