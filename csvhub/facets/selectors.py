"""Counting a dataset's most frequent values per column.

Counting runs in the warehouse (one GROUP BY per column over the rows the filters and search
select) under one short time limit for all the columns, CSVHUB_FACET_TIMEOUT_SECONDS. Where
that cannot answer in time (a timeout, or an unfiltered table larger than
CSVHUB_FACET_SCAN_MAX_ROWS, which would time out anyway) the answer comes from the top values
kept at ingestion for text columns, marked `approximate` (and `filtered: false` when the
request had filters or a search), so a facet on 10 million rows answers at once.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from django.conf import settings

from csvhub.datasets.models import Dataset
from csvhub.facets.query import FacetQuery
from csvhub.grammar.analysis import Function
from csvhub.metrics import observe_query
from csvhub.schema import Column, TopValues, values
from csvhub.selection.columns import ColumnResolver
from csvhub.selection.plan import filtered_rows, query_time_limit
from csvhub.warehouse import analysis as warehouse_analysis
from csvhub.warehouse.analysis import Metric
from csvhub.warehouse.engine import QueryTimeout
from csvhub.warehouse.query import Order, RowSet


class Source(StrEnum):
    WAREHOUSE = "warehouse"  # counted now, among the selected rows: exact
    SUMMARY = "summary"  # the top values kept at ingestion
    NONE = "none"  # neither: counting took too long and no summary is kept for this column


@dataclass(frozen=True)
class FacetValue:
    value: Any  # as the rows endpoint writes it (JSON); None for empty cells
    count: int


@dataclass(frozen=True)
class Facet:
    column: Column
    values: tuple[FacetValue, ...]
    more: bool  # other values exist beyond those listed
    source: Source
    approximate: bool = False
    filtered: bool = True  # the counts are of the selected rows, not of the whole table
    error: int = 0  # approximate counts may be this much short of the true ones
    note: str = ""

    def as_json(self) -> dict[str, Any]:
        return {
            "column": self.column.name,
            "values": [{"value": v.value, "count": v.count} for v in self.values],
            "more": self.more,
            "source": self.source.value,
            "approximate": self.approximate,
            "filtered": self.filtered,
            "error": self.error,
            "note": self.note,
        }


def facets_count(*, dataset: Dataset, query: FacetQuery) -> list[Facet]:
    """One facet per requested column, in the order asked."""
    resolver = ColumnResolver(dataset.schema)
    columns = [resolver.get(written, role="columns") for written in query.columns]
    narrowed = bool(query.filters) or query.search is not None
    with query_time_limit():  # a bad filter is a 400 before anything is counted
        rows = filtered_rows(dataset, query.filters, query.search)
    scan = narrowed or dataset.row_count <= settings.CSVHUB_FACET_SCAN_MAX_ROWS
    # One time budget for all the columns: the answer never takes much more than the limit.
    deadline = time.monotonic() + settings.CSVHUB_FACET_TIMEOUT_SECONDS
    facets: list[Facet] = []
    for column in columns:
        stats = dataset.schema.stats_of(column.name)
        kept = _with_nulls(stats.top_values, stats.nulls)
        left = deadline - time.monotonic()
        if not narrowed and kept is not None and kept.error == 0:
            facets.append(_from_summary(column, kept, query.size, narrowed=False))
        elif scan and left > _LEAST_SECONDS:
            try:
                facets.append(_counted(rows, column, query.size, left))
            except QueryTimeout:
                deadline = 0.0  # the next columns would take as long: answer from summaries
                facets.append(_fallback(column, kept, query.size, narrowed, timed_out=True))
        else:
            facets.append(_fallback(column, kept, query.size, narrowed, timed_out=scan))
    return facets


# Less time than this left in the budget: not worth starting a count.
_LEAST_SECONDS = 0.01


@dataclass(frozen=True)
class _Kept:
    """A column's top values kept at ingestion, with its empty cells (counted exactly, apart)
    as one more value, placed by its count as the warehouse would: after those it ties with."""

    counts: tuple[tuple[str | None, int], ...]
    error: int


def _with_nulls(kept: TopValues | None, nulls: int) -> _Kept | None:
    if kept is None:
        return None
    counts: list[tuple[str | None, int]] = list(kept.counts)
    if nulls:
        counts.append((None, nulls))
        counts.sort(key=lambda pair: -pair[1])  # stable: the empty value stays last among ties
    return _Kept(tuple(counts), kept.error)


def _counted(rows: RowSet, column: Column, size: int, seconds: float) -> Facet:
    with observe_query("facets"):
        found, more = warehouse_analysis.aggregate(
            rows,
            group_by=[column.name],
            metrics=[Metric(Function.COUNT)],
            order=[Order(1, descending=True)],
            limit=size,
            seconds=seconds,
        )
    counted = tuple(FacetValue(values.to_json(column.type, key), int(n)) for key, n in found)
    return Facet(column, counted, more, Source.WAREHOUSE)


def _from_summary(column: Column, kept: _Kept, size: int, *, narrowed: bool) -> Facet:
    listed = tuple(FacetValue(value, count) for value, count in kept.counts[:size])
    return Facet(
        column,
        listed,
        more=len(kept.counts) > size or kept.error > 0,
        source=Source.SUMMARY,
        approximate=kept.error > 0 or narrowed,
        filtered=not narrowed,
        error=kept.error,
    )


def _fallback(
    column: Column, kept: _Kept | None, size: int, narrowed: bool, *, timed_out: bool
) -> Facet:
    why = (
        f"Counting took longer than {settings.CSVHUB_FACET_TIMEOUT_SECONDS:g} s"
        if timed_out
        else "The table is too large to count at once"
    )
    if kept is None:
        note = f"{why}, and no top values are kept for this column (text columns only)."
        return Facet(column, (), True, Source.NONE, approximate=True, filtered=False, note=note)
    facet = _from_summary(column, kept, size, narrowed=narrowed)
    scope = "of the whole table, without the filters" if narrowed else "of the whole table"
    return Facet(
        column,
        facet.values,
        facet.more,
        Source.SUMMARY,
        approximate=True,
        filtered=facet.filtered,
        error=facet.error,
        note=f"{why}: the top values kept at ingestion, {scope}.",
    )
