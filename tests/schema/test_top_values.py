"""TopValues: the most frequent values of a text column, kept at ingestion (Misra-Gries)."""

from __future__ import annotations

import random
from collections import Counter

from csvhub.schema import ColumnStats, TopValues
from csvhub.schema.stats import TOP_VALUE_LENGTH, TOP_VALUES_KEPT


def test_few_distinct_values_are_counted_exactly():
    top = TopValues.of(["b", "a", "b", "", "c", "b", "a"])
    assert top.counts == (("b", 3), ("a", 2), ("c", 1))
    assert top.error == 0


def test_many_values_keep_the_frequent_ones_within_the_error_bound():
    rng = random.Random(7)
    cells = [f"v{min(int(rng.expovariate(0.05)), 500)}" for _ in range(20_000)]
    batches = [cells[i : i + 1000] for i in range(0, len(cells), 1000)]
    top = TopValues()
    for batch in batches:
        top = top.merged(TopValues.of(batch))
    truth = Counter(cells)
    assert top.error > 0
    assert len(top.counts) <= TOP_VALUES_KEPT
    for value, count in top.counts:
        assert truth[value] - top.error <= count <= truth[value]
    # Every value more frequent than the error bound is kept.
    assert {v for v, n in truth.items() if n > top.error} <= {v for v, _ in top.counts}
    assert top.counts[0][0] == truth.most_common(1)[0][0]


def test_long_values_are_not_counted():
    top = TopValues.of(["x" * (TOP_VALUE_LENGTH + 1), "short"])
    assert top.counts == (("short", 1),)


def test_stats_json_round_trips_and_reads_json_stored_without_top_values():
    stats = ColumnStats(nulls=1, non_null=3, top_values=TopValues.of(["a", "a", "b"]))
    assert ColumnStats.from_json(stats.to_json()) == stats
    old = ColumnStats(nulls=1, non_null=3).to_json()
    assert "top_values" not in old
    assert ColumnStats.from_json(old).top_values is None


def test_merging_with_values_counted_without_a_summary_keeps_none():
    kept = ColumnStats(non_null=2, top_values=TopValues.of(["a", "b"]))
    unknown = ColumnStats(non_null=5)  # stored before top values were kept
    assert kept.merged(unknown).top_values is None
    assert unknown.merged(kept).top_values is None
    only_nulls = ColumnStats(nulls=4)
    assert kept.merged(only_nulls).top_values == kept.top_values


def _reference_summary(cells: list[str]) -> TopValues:
    """Misra-Gries spelled out: the counts over the (K + 1)-th largest, less that count."""
    counted = Counter(cell for cell in cells if cell and len(cell) <= TOP_VALUE_LENGTH)
    ranked = sorted(counted.values(), reverse=True)
    cut = ranked[TOP_VALUES_KEPT] if len(ranked) > TOP_VALUES_KEPT else 0
    kept = sorted(
        ((v, n - cut) for v, n in counted.items() if n > cut), key=lambda vn: (-vn[1], vn[0])
    )
    return TopValues(tuple(kept), cut)


def test_a_batch_summary_is_misra_gries_with_ties_at_the_cut():
    rng = random.Random(11)
    for distinct in (1, TOP_VALUES_KEPT, TOP_VALUES_KEPT + 1, 40, 300, 5_000):
        # Few repeats (ties at the cut), skewed counts and all-distinct batches alike.
        cells = [f"v{rng.randrange(distinct)}" for _ in range(rng.choice((50, 2_000)))]
        cells += ["", "x" * (TOP_VALUE_LENGTH + 1)] * rng.randrange(3)
        assert TopValues.of(cells) == _reference_summary(cells), distinct
    every_value_once = [f"id-{i}" for i in range(1_000)]
    assert TopValues.of(every_value_once) == TopValues((), 1)
