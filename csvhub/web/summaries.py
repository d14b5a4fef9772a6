"""The dataset page's column list: each column with the summaries kept at ingestion
(Dataset.stats), so the page never scans the table."""

from __future__ import annotations

from dataclasses import dataclass

from csvhub.datasets.models import Dataset

TEXT = "text"


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
    # Digits after the point of a decimal column, when the schema fixes them (`7899.50`).
    scale: int | None = None

    @property
    def type_words(self) -> str:
        """The type said once, as the grid's headers say it: `decimal`, not `decimal number`."""
        return self.type

    @property
    def is_text(self) -> bool:
        return self.type == TEXT

    @property
    def smallest(self) -> str | None:
        return self._readable(self.min_value)

    @property
    def largest(self) -> str | None:
        return self._readable(self.max_value)

    def _readable(self, value: str | None) -> str | None:
        if value is None:
            return None
        if self.type == "decimal" and self.scale is not None:
            return with_scale(value, self.scale)
        return value

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
            "scale": self.scale,
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
        scale=column.get("scale"),
    )


def with_scale(value: str, scale: int) -> str:
    """`7899.5` with scale 2 → `7899.50`: the digits the column keeps, as text, so exactly."""
    whole, _, fraction = value.partition(".")
    if scale <= 0:
        return whole
    return f"{whole}.{fraction[:scale].ljust(scale, '0')}"
