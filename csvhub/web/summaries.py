"""The dataset page's column list: each column with the summaries kept at ingestion
(Dataset.schema's stats), so the page never scans the table."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from csvhub.datasets.models import Dataset
from csvhub.schema import Column, ColumnStats, ColumnType


@dataclass(frozen=True, slots=True)
class ColumnSummary:
    """A column as the page shows it: the schema's column and its statistics, with the words
    and shares a reader needs (page wording, not part of the schema)."""

    column: Column
    stats: ColumnStats

    @property
    def type_words(self) -> str:
        """The type said once, as the grid's headers say it: `decimal`, not `decimal number`."""
        return self.column.type.value

    @property
    def is_text(self) -> bool:
        return self.column.type is ColumnType.TEXT

    @property
    def smallest(self) -> str | None:
        return self._readable(self.stats.min_value)

    @property
    def largest(self) -> str | None:
        return self._readable(self.stats.max_value)

    def _readable(self, value: str | None) -> str | None:
        """Extremes as the grid shows them: a decimal with its column's scale (`7899.50`)."""
        scale = self.column.scale
        if value is None or self.column.type is not ColumnType.DECIMAL or scale is None:
            return value
        return with_scale(value, scale)

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
            "scale": self.column.scale,
            "description": self.column.description,
            "unit": self.column.unit,
        }


def column_summaries(dataset: Dataset) -> list[ColumnSummary]:
    schema = dataset.schema
    return [ColumnSummary(column, schema.stats_of(column.name)) for column in schema]


def with_scale(value: str, scale: int) -> str:
    """`7899.5` with scale 2 → `7899.50`: the digits the column keeps, as text, so exactly."""
    whole, _, fraction = value.partition(".")
    if scale <= 0:
        return whole
    return f"{whole}.{fraction[:scale].ljust(scale, '0')}"
