"""DayCounts (rows per UTC day, kept at ingestion) and NumberCells (values per cell, counted on
a histogram's first use): how they merge, when they are dropped, and how cells make bins."""

from __future__ import annotations

import copy
import pickle
from collections import Counter
from datetime import date, timedelta
from decimal import Decimal

import pytest

from csvhub.datasets.analysis import histogram_edges
from csvhub.datasets.kept import binned, cell_unit
from csvhub.schema import ColumnStats, ColumnType, DayCounts, NumberCells
from csvhub.schema.stats import DAYS_KEPT


def _stats(cells: list[str]) -> ColumnStats:
    filled = [cell for cell in cells if cell.strip()]
    return ColumnStats(
        nulls=len(cells) - len(filled),
        non_null=len(filled),
        min_value=min(filled),
        max_value=max(filled),
        value_type=ColumnType.TIMESTAMP,
        day_counts=DayCounts.of(cells),
    )


def test_cells_are_counted_by_their_utc_day_and_empty_cells_are_not():
    days = DayCounts.of(["2024-03-31 23:59:59", "", "2024-04-01 00:00:00", "  ", "2024-03-31"])
    assert days is not None
    assert days.counts == (("2024-03-31", 2), ("2024-04-01", 1))


def test_batches_merge_to_the_counts_of_all_their_cells_in_any_order():
    first = ["2024-01-01 10:00:00", "2024-01-02 00:00:00", ""]
    second = ["2024-01-02 23:00:00", "2024-01-05 01:00:00"]
    merged = _stats(first).merged(_stats(second))
    assert merged == _stats(second).merged(_stats(first))
    assert merged.day_counts == DayCounts.of(first + second)
    assert merged.day_counts is not None and merged.day_counts.total() == merged.non_null == 4
    assert hash(merged) == hash(_stats(second).merged(_stats(first)))  # frozen: hashable too


def test_stats_with_counts_pickle_and_deep_copy_as_any_value_does():
    stats = _stats(["2024-01-01 10:00:00", "2024-01-03 00:00:00", "2024-01-03 01:00:00"])
    assert pickle.loads(pickle.dumps(stats)) == stats
    assert copy.deepcopy(stats) == stats


def test_counts_made_from_a_dict_do_not_follow_changes_to_it():
    given = {"2024-01-01": 1}
    days = DayCounts(given)
    given["2024-01-01"] = 5
    assert days.counts == (("2024-01-01", 1),)
    with pytest.raises(TypeError):
        days.by_day["2024-01-02"] = 1  # read-only


def test_a_side_that_counted_values_without_days_makes_the_merge_keep_none():
    counted = _stats(["2024-01-01 10:00:00"])
    unknown = ColumnStats(non_null=3, value_type=ColumnType.TIMESTAMP)  # old, or recounted
    assert counted.merged(unknown).day_counts is None
    assert unknown.merged(counted).day_counts is None
    empty = ColumnStats(nulls=5)  # only empty cells: nothing unknown
    assert counted.merged(empty).day_counts == counted.day_counts


def test_more_days_than_kept_keep_none():
    start = date(2000, 1, 1)
    cells = [(start + timedelta(days=i)).isoformat() for i in range(DAYS_KEPT)]
    assert DayCounts.of(cells) is not None
    assert DayCounts.of([*cells, (start + timedelta(days=DAYS_KEPT)).isoformat()]) is None


def test_a_column_widened_to_text_drops_its_counts_and_cells():
    stats = ColumnStats(
        non_null=1,
        min_value="2024-01-01",
        max_value="2024-01-01",
        value_type=ColumnType.DATE,
        day_counts=DayCounts({"2024-01-01": 1}),
        number_cells=NumberCells(Decimal(1), 0, (1,)),
    )
    assert stats.retyped(ColumnType.TIMESTAMP).day_counts == stats.day_counts
    text = stats.retyped(ColumnType.TEXT)
    assert (text.day_counts, text.number_cells) == (None, None)


def test_counts_and_cells_round_trip_through_json_and_old_stats_have_none():
    stats = ColumnStats(
        non_null=3,
        day_counts=DayCounts({"2024-01-03": 2, "2024-01-01": 1}),
        number_cells=NumberCells(Decimal("0.01"), -3, (1, 0, 2)),
    )
    assert ColumnStats.from_json(stats.to_json()) == stats
    assert list(stats.to_json()["day_counts"]) == ["2024-01-01", "2024-01-03"]  # in day order
    assert stats.day_counts is not None
    assert stats.day_counts.counts == (("2024-01-01", 1), ("2024-01-03", 2))
    old = ColumnStats(non_null=3).to_json()
    assert "day_counts" not in old and "number_cells" not in old
    assert ColumnStats.from_json(old) == ColumnStats(non_null=3)


def test_cells_are_never_merged_a_change_of_values_drops_them():
    cells = NumberCells(Decimal(1), 0, (2,))
    stats = ColumnStats(non_null=2, value_type=ColumnType.INTEGER, number_cells=cells)
    assert stats.merged(ColumnStats(nulls=1)).number_cells is None


def test_the_cell_width_splits_the_range_into_64_to_640_cells():
    assert cell_unit(Decimal(1000), integer=False) == Decimal(10)
    assert cell_unit(Decimal("0.5"), integer=False) == Decimal("0.001")
    assert cell_unit(Decimal(64), integer=False) == Decimal(1)
    assert cell_unit(Decimal("63.9"), integer=False) == Decimal("0.1")
    assert cell_unit(Decimal(30), integer=True) == Decimal(1)  # whole widths for integers
    assert cell_unit(Decimal(0), integer=False) == Decimal(1)


def test_bins_sum_the_cells_and_the_last_bin_holds_the_max():
    values = [Decimal(v) for v in ("0", "9.99", "10", "19.5", "20", "39.99", "40")]
    unit = Decimal("0.1")
    counted = Counter(int(v / unit) for v in values)
    cells = NumberCells(unit, 0, tuple(counted.get(i, 0) for i in range(401)))
    assert binned(cells, [0, 20, 40]) == [4, 3]  # 40, the max, in the last bin
    assert binned(cells, [0, 10, 20, 30, 40]) == [2, 2, 1, 2]
    assert binned(cells, [0, Decimal("20.05"), 40]) is None  # cuts a cell


def test_every_histogram_of_up_to_40_bars_is_a_sum_of_cells():
    for low, high in [(Decimal("-500"), Decimal("499.99")), (Decimal("0.01"), Decimal("4999.5"))]:
        unit = cell_unit(high - low, integer=False)
        for bins in range(1, 41):
            edges = histogram_edges(low, high, bins, integer=False)
            assert all(Decimal(edge) % unit == 0 for edge in edges), (low, high, bins)
    for low, high in [(0, 50), (-7, 1_000_003), (5, 6)]:
        unit = cell_unit(Decimal(high - low), integer=True)
        for bins in range(1, 41):
            edges = histogram_edges(low, high, bins, integer=True)
            assert all(Decimal(edge) % unit == 0 for edge in edges), (low, high, bins)
