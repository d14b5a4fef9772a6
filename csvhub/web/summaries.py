"""The dataset page's column list: each column with the summaries kept at ingestion
(Dataset.schema's stats), so the page never scans the table."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from csvhub.datasets.models import Dataset
from csvhub.schema import Column, ColumnStats, ColumnType

TYPE_WORDS = {
    ColumnType.INTEGER: "whole number",
    ColumnType.DECIMAL: "number",
    ColumnType.BOOLEAN: "true / false",
    ColumnType.DATE: "date",
    ColumnType.TIMESTAMP: "date and time (UTC)",
    ColumnType.TEXT: "text",
}


@dataclass(frozen=True, slots=True)
class ColumnSummary:
    """A column as the page shows it: the schema's column and its statistics, with the words
    and shares a reader needs (page wording, not part of the schema)."""

    column: Column
    stats: ColumnStats

    @property
    def type_words(self) -> str:
        return TYPE_WORDS[self.column.type]

    @property
    def empty_percent(self) -> str:
        total = self.stats.nulls + self.stats.non_null
        if not total:
            return ""
        share = self.stats.nulls / total
        return f"{share:.0%}" if share >= 0.01 or share == 0 else "<1%"

    def as_json(self) -> dict[str, Any]:
        """What the page script needs to build filters and charts."""
        return {
            "name": self.column.name,
            "label": self.column.heading,
            "type": self.column.type.value,
            "min": self.stats.min_value,
            "max": self.stats.max_value,
        }


def column_summaries(dataset: Dataset) -> list[ColumnSummary]:
    schema = dataset.schema
    return [ColumnSummary(column, schema.stats_of(column.name)) for column in schema]
