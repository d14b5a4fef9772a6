"""The dataset page's column list: each column with the summaries kept at ingestion
(Dataset.stats), so the page never scans the table."""

from __future__ import annotations

from dataclasses import dataclass

from csvhub.datasets.models import Dataset

TYPE_WORDS = {
    "integer": "whole number",
    "decimal": "number",
    "boolean": "true / false",
    "date": "date",
    "timestamp": "date and time (UTC)",
    "text": "text",
}


@dataclass(frozen=True)
class ColumnSummary:
    name: str
    label: str
    type: str
    nullable: bool
    nulls: int
    filled: int
    min_value: str | None
    max_value: str | None
    min_length: int | None
    max_length: int | None

    @property
    def type_words(self) -> str:
        return TYPE_WORDS.get(self.type, self.type)

    @property
    def empty_share(self) -> float | None:
        total = self.nulls + self.filled
        return self.nulls / total if total else None

    @property
    def empty_percent(self) -> str:
        share = self.empty_share
        if share is None:
            return ""
        return f"{share:.0%}" if share >= 0.01 or share == 0 else "<1%"

    def as_json(self) -> dict:
        """What the page script needs to build filters and charts."""
        return {
            "name": self.name,
            "label": self.label,
            "type": self.type,
            "min": self.min_value,
            "max": self.max_value,
        }

    @property
    def is_numeric(self) -> bool:
        return self.type in ("integer", "decimal")

    @property
    def is_temporal(self) -> bool:
        return self.type in ("date", "timestamp")


def column_summaries(dataset: Dataset) -> list[ColumnSummary]:
    stats = dataset.stats or {}
    return [_summary(column, stats.get(column["name"]) or {}) for column in dataset.columns]


def _summary(column: dict, stats: dict) -> ColumnSummary:
    return ColumnSummary(
        name=column["name"],
        label=column.get("label") or column["name"],
        type=column["type"],
        nullable=bool(column.get("nullable")),
        nulls=int(stats.get("nulls") or 0),
        filled=int(stats.get("non_null") or 0),
        min_value=stats.get("min_value"),
        max_value=stats.get("max_value"),
        min_length=stats.get("min_length"),
        max_length=stats.get("max_length"),
    )
