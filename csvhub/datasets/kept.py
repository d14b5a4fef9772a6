"""Counts kept in a dataset's column statistics that answer its default charts without a scan.

Two kinds (csvhub.schema.stats): rows per UTC day of a date or timestamp column (DayCounts,
counted at ingestion and merged on append), and a number column's values per cell of a
power-of-ten width (NumberCells, counted by the warehouse on first use). Whatever else changes
rows (edits of the column, take-backs, deletes, retention, stats stored before these existed)
leaves them out of the statistics; the next chart then counts them again with one scan, keeps
them, and the charts after it read them.

Kept counts are used only when they add up to the column's non-null count, and written only
while the dataset is as it was when counting started (its `updated_at`, which every change of
rows moves): a count that raced a change is used for the answer it was made for, never kept.
"""

from __future__ import annotations

from bisect import bisect_right
from dataclasses import replace
from datetime import date, datetime
from decimal import ROUND_FLOOR, Decimal
from typing import Any

from django.db import transaction

from csvhub.datasets.models import Dataset
from csvhub.grammar.analysis import Bucket, Function
from csvhub.schema import Column, ColumnStats, ColumnType, DayCounts, NumberCells
from csvhub.schema.stats import DAYS_KEPT
from csvhub.selection.plan import filtered_rows
from csvhub.warehouse import analysis as warehouse_analysis
from csvhub.warehouse.analysis import Metric

# Number cells: the width is the largest power of ten that splits the range into at least
# this many cells (so at most ten times as many). A histogram's readable width can be as small
# as (range / bars) / 1.58 (histogram_edges rounds 3.16 down to 2), so histograms of up to 40
# bars, all the page offers, are sums of cells.
CELLS_PER_RANGE = 64


def day_counts(dataset: Dataset, column: Column) -> tuple[DayCounts, bool] | None:
    """The column's rows per day, and whether a scan counted them just now; None when more
    than DAYS_KEPT days lie between its extremes (the chart then asks the warehouse itself)."""
    stats = dataset.schema.stats_of(column.name)
    kept = stats.day_counts
    if kept is not None and kept.total() == stats.non_null:
        return kept, False
    low, high = stats.bounds(column.type)
    if low is not None and (_day(high) - _day(low)).days >= DAYS_KEPT:
        return None
    found = warehouse_analysis.timeseries(
        filtered_rows(dataset, ()),
        column=column.name,
        bucket=Bucket.DAY,
        metric=Metric(Function.COUNT),
        limit=DAYS_KEPT + 1,
    )
    if len(found) > DAYS_KEPT:  # extremes not known: the scan itself found too many days
        return None
    counted = DayCounts({_day(start).isoformat(): int(n) for start, n in found})
    _keep(dataset, column.name, stats, replace(stats, day_counts=counted), counted.total())
    return counted, True


def histogram(
    dataset: Dataset, column: Column, low: Any, high: Any, edges: list[Any]
) -> tuple[list[int], bool] | None:
    """The counts of the bins between `edges` over all the rows (`low` and `high` being the
    column's extremes), and whether a scan counted the cells just now; None when a bin is
    narrower than a cell (more bars than the cells answer: the warehouse counts them)."""
    stats = dataset.schema.stats_of(column.name)
    kept = stats.number_cells
    if kept is None or kept.total() != stats.non_null:
        unit = cell_unit(Decimal(high) - Decimal(low), integer=column.type is ColumnType.INTEGER)
        if _cuts(edges, unit):
            return None
        kept = _cells_counted(dataset, column, stats, unit)
        fresh = True
    else:
        fresh = False
    counts = binned(kept, edges)
    return None if counts is None else (counts, fresh)


def _cells_counted(
    dataset: Dataset, column: Column, stats: ColumnStats, unit: Decimal
) -> NumberCells:
    low, high = stats.bounds(column.type)
    first, last = _floor(Decimal(low) / unit), _floor(Decimal(high) / unit)
    edges: list[int | Decimal] = [(first + i) * unit for i in range(last - first + 2)]
    if column.type is ColumnType.INTEGER:
        edges = [int(edge) for edge in edges]
    counts, _ = warehouse_analysis.histogram(
        filtered_rows(dataset, ()), column=column.name, edges=edges
    )
    counted = NumberCells(unit, first, tuple(counts))
    _keep(dataset, column.name, stats, replace(stats, number_cells=counted), counted.total())
    return counted


def cell_unit(span: Decimal, *, integer: bool) -> Decimal:
    """The largest power of ten at most span / CELLS_PER_RANGE (1 at least for integers, and
    for a span of 0)."""
    if span <= 0:
        return Decimal(1)
    power = (span / CELLS_PER_RANGE).adjusted()  # exact: 10**power <= x < 10**(power + 1)
    return Decimal(1).scaleb(max(power, 0) if integer else power)


def binned(cells: NumberCells, edges: list[Any]) -> list[int] | None:
    """The counts of the bins between `edges` as sums of cells; None when an edge cuts a cell
    (a bin narrower than a cell, or not on a multiple of the cell width)."""
    unit = cells.unit
    if _cuts(edges, unit):
        return None
    inner = [Decimal(edge) for edge in edges[1:-1]]
    counts = [0] * (len(edges) - 1)
    for index, count in enumerate(cells.counts):
        if count:
            lower = (cells.first + index) * unit
            counts[min(bisect_right(inner, lower), len(counts) - 1)] += count
    return counts


def _cuts(edges: list[Any], unit: Decimal) -> bool:
    """Whether an edge falls inside a cell of width `unit` (is not a multiple of it)."""
    return any(Decimal(edge) % unit for edge in edges)


def _floor(value: Decimal) -> int:
    return int(value.to_integral_value(rounding=ROUND_FLOOR))


def _day(value: date | datetime) -> date:
    return value.date() if isinstance(value, datetime) else value


def _keep(dataset: Dataset, name: str, seen: ColumnStats, kept: ColumnStats, total: int) -> None:
    """Write the counts into the column's statistics if they are of the rows the statistics
    describe and the dataset did not change since it was read."""
    if total != seen.non_null:
        return
    with transaction.atomic():
        current = Dataset.objects.select_for_update().filter(pk=dataset.pk).first()
        if current is None or current.updated_at != dataset.updated_at:
            return
        schema = current.schema
        if schema.stats.get(name) != seen:
            return
        current.schema = replace(schema, stats={**schema.stats, name: kept})
        # Not `updated_at`: keeping a count changes no data, and moving it would make every
        # other count in flight look stale.
        current.save(update_fields=["stats"])
