"""stats_after_update: when an update's own cells tell the column's new statistics exactly, and
when only a recount can (the end-to-end check against a recount is in test_edits_concurrency)."""

from __future__ import annotations

import pytest

from csvhub.edits.summaries import stats_after_update
from csvhub.schema import ColumnStats, ColumnType

DECIMAL = ColumnType.DECIMAL


def _stats(low: str, high: str, non_null: int, nulls: int = 0) -> ColumnStats:
    return ColumnStats(
        nulls=nulls,
        non_null=non_null,
        min_value=low,
        max_value=high,
        min_length=len(low),
        max_length=len(high),
        value_type=DECIMAL,
    )


CURRENT = _stats("1.00", "100.00", 1000)


@pytest.mark.parametrize(
    ("removed", "added", "expected"),
    [
        # Removed values strictly inside: the untouched cells keep both extremes.
        (_stats("2.00", "50.00", 10), _stats("2.10", "52.50", 10), ("1.00", "100.00")),
        # The maximum raised (x 1.05): the new values pass it, so the new maximum is theirs.
        (_stats("2.00", "100.00", 10), _stats("2.10", "105.00", 10), ("1.00", "105.00")),
        # The minimum lowered below itself: theirs too.
        (_stats("1.00", "50.00", 10), _stats("0.50", "25.00", 10), ("0.50", "100.00")),
        # The maximum lowered (x 0.5): the next largest untouched value is unknown.
        (_stats("2.00", "100.00", 10), _stats("1.00", "50.00", 10), None),
        # The minimum raised: unknown as well.
        (_stats("1.00", "50.00", 10), _stats("1.05", "52.50", 10), None),
        # Every value emptied, the maximum among them: unknown.
        (_stats("2.00", "100.00", 10), ColumnStats(nulls=10, value_type=DECIMAL), None),
    ],
)
def test_extremes_are_kept_or_reached_or_recounted(removed, added, expected) -> None:
    found = stats_after_update(CURRENT, removed, added, DECIMAL)
    if expected is None:
        assert found is None
        return
    assert found is not None
    assert (found.min_value, found.max_value) == expected
    assert (found.nulls, found.non_null) == (0, 1000)
