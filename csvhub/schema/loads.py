"""What a load tells: the contract between ingestion and the warehouse (`csvhub_loads.result`)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from csvhub.schema.columns import Column
from csvhub.schema.stats import ColumnStats
from csvhub.schema.types import ColumnType


@dataclass(frozen=True, slots=True)
class TypeChange:
    """A column of an existing dataset that an upload widened, and the first value that made
    it (`line` of the file and `value` as read; None when no single value did, e.g. a decimal
    with more digits than the stored scale)."""

    column: str
    before: ColumnType
    after: ColumnType
    line: int | None = None
    value: str | None = None

    @property
    def message(self) -> str:
        """The change in words, with the way back."""
        cause = ""
        if self.line is not None and self.value is not None:
            cause = f" because of line {self.line}: {self.value[:80]!r}"
        return (
            f"{self.column} changed from {self.before} to {self.after}{cause}. To keep it "
            f"{self.before}: take this upload back, set a reading rule (a null token, the "
            "column's type, or strict mode), and upload the file again."
        )

    def to_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "column": self.column,
            "from": self.before.value,
            "to": self.after.value,
        }
        if self.line is not None:  # stored only when known: older loads keep their JSON
            data["line"] = self.line
            data["value"] = self.value
        return data

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> TypeChange:
        return cls(
            data["column"],
            ColumnType(data["from"]),
            ColumnType(data["to"]),
            line=data.get("line"),
            value=data.get("value"),
        )


@dataclass(frozen=True, slots=True)
class LoadResult:
    """One upload's load: what was written, what the file was, the columns as loaded (types
    after this load's widening) and their statistics over this upload's rows.

    Recorded in the warehouse in the load's own transaction, so a retried job finds it and only
    publishes it (see datasets.ingest); its JSON is the one stored since the first release.
    """

    rows_loaded: int
    rows_rejected: int
    columns: tuple[Column, ...]
    stats: Mapping[str, ColumnStats] = field(default_factory=dict)
    type_changes: tuple[TypeChange, ...] = ()
    encoding: str = ""
    encoding_reason: str = ""
    delimiter: str = ""
    row_id_range: tuple[int, int] | None = None  # first and last hidden row id given

    def to_json(self) -> dict[str, Any]:
        return {
            "rows_loaded": self.rows_loaded,
            "rows_rejected": self.rows_rejected,
            "encoding": self.encoding,
            "encoding_reason": self.encoding_reason,
            "delimiter": self.delimiter,
            "columns": [column.to_json() for column in self.columns],
            "type_changes": [change.to_json() for change in self.type_changes],
            "stats": {name: stats.to_json() for name, stats in self.stats.items()},
            "row_id_range": None if self.row_id_range is None else list(self.row_id_range),
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> LoadResult:
        row_range = data.get("row_id_range")
        return cls(
            rows_loaded=data["rows_loaded"],
            rows_rejected=data["rows_rejected"],
            columns=tuple(Column.from_json(column) for column in data["columns"]),
            stats={name: ColumnStats.from_json(s) for name, s in data.get("stats", {}).items()},
            type_changes=tuple(TypeChange.from_json(c) for c in data.get("type_changes", ())),
            encoding=data.get("encoding", ""),
            encoding_reason=data.get("encoding_reason", ""),
            delimiter=data.get("delimiter", ""),
            row_id_range=None if not row_range else (row_range[0], row_range[1]),
        )
