"""A dataset's columns: their names, labels, types, and the statistics kept of them."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from csvhub.schema.stats import NUMERIC, TEMPORAL, ColumnStats
from csvhub.schema.types import ColumnType, widen

# Extremes are only meaningful (and only kept) for types that order.
_ORDERED_TYPES = (*NUMERIC, *TEMPORAL)
_NO_STATS = ColumnStats()


@dataclass(frozen=True, slots=True)
class Column:
    """One column of a dataset's table.

    `name` is safe for SQL (lowercase [a-z0-9_], at most 63 characters, unique); `label` is the
    header cell as written (may be empty); `nullable` says an empty cell was ever stored;
    `scale` is the largest number of fraction digits of a decimal column (None when unknown or
    not a decimal). `description` and `unit` are what editors wrote about the column; loads
    keep them.
    """

    name: str
    type: ColumnType
    label: str = ""
    nullable: bool = True
    scale: int | None = None
    description: str = ""
    unit: str = ""

    @property
    def heading(self) -> str:
        """What a person reads as the column's title: its label, else its name."""
        return self.label or self.name

    def to_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "name": self.name,
            "label": self.label,
            "type": self.type.value,
            "nullable": self.nullable,
        }
        if self.scale is not None:
            data["scale"] = self.scale
        if self.description:
            data["description"] = self.description
        if self.unit:
            data["unit"] = self.unit
        return data

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Column:
        """A column as stored; rows written before `nullable` or `scale` existed still read
        (nullable then, since nothing said otherwise)."""
        return cls(
            name=data["name"],
            type=ColumnType(data["type"]),
            label=data.get("label") or "",
            nullable=bool(data.get("nullable", True)),
            scale=data.get("scale"),
            description=data.get("description") or "",
            unit=data.get("unit") or "",
        )


@dataclass(frozen=True, slots=True)
class DatasetSchema:
    """A dataset's columns in file order, found by name, with each column's statistics."""

    columns: tuple[Column, ...] = ()
    stats: Mapping[str, ColumnStats] = field(default_factory=dict)
    _by_name: dict[str, Column] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_by_name", {column.name: column for column in self.columns})

    def __iter__(self) -> Iterator[Column]:
        return iter(self.columns)

    def __len__(self) -> int:
        return len(self.columns)

    @property
    def names(self) -> list[str]:
        return [column.name for column in self.columns]

    def get(self, name: str) -> Column | None:
        """The column called exactly `name` (see selection.columns for names as users write
        them)."""
        return self._by_name.get(name)

    def column(self, name: str) -> Column:
        try:
            return self._by_name[name]
        except KeyError:
            raise KeyError(f"{name!r} is not a column of this dataset") from None

    def stats_of(self, name: str) -> ColumnStats:
        """The column's statistics (all zero before anything was loaded into it)."""
        return self.stats.get(name, _NO_STATS)

    def of_types(self, types: tuple[ColumnType, ...]) -> list[Column]:
        return [column for column in self.columns if column.type in types]

    def with_load(
        self, columns: tuple[Column, ...], stats: Mapping[str, ColumnStats]
    ) -> DatasetSchema:
        """This schema after a load of `columns` with `stats`: new columns are added, types
        widen, a column with an empty cell becomes nullable, statistics merge. Merges are
        order-independent, so loads published in any order end in the same schema."""
        merged = dict(self._by_name)
        for column in columns:
            loaded_nulls = stats.get(column.name, _NO_STATS).nulls > 0
            current = merged.get(column.name)
            if current is None:
                merged[column.name] = replace(column, nullable=loaded_nulls)
                continue
            wider = widen(current.type, column.type) or ColumnType.TEXT
            merged[column.name] = replace(
                current,
                type=wider,
                nullable=current.nullable or loaded_nulls,
                scale=_scale(wider, current.scale, column.scale),
            )
        ordered = tuple(merged.values())
        return DatasetSchema(ordered, _merged_stats(ordered, self.stats, stats))

    def to_json(self) -> tuple[list[dict[str, Any]], dict[str, dict[str, Any]]]:
        """The two JSON documents a Dataset stores: its columns, its stats by column name."""
        columns = [column.to_json() for column in self.columns]
        return columns, {name: stats.to_json() for name, stats in self.stats.items()}

    @classmethod
    def from_json(
        cls,
        columns: list[dict[str, Any]] | None,
        stats: Mapping[str, Any] | Callable[[], Mapping[str, Any]] | None = None,
    ) -> DatasetSchema:
        """`stats` may be a function that gives the JSON: it is called when a statistic is
        first asked for."""
        return cls(
            tuple(Column.from_json(column) for column in columns or ()),
            StatsOnUse(stats if stats is not None else {}),
        )


class StatsOnUse(Mapping[str, ColumnStats]):
    """Stats JSON read a column at a time, when first asked for: most requests that load a
    schema (a rows page) read no statistics, and a date column keeps thousands of day counts,
    which cost every such request their parse."""

    __slots__ = ("_given", "_json", "_read")

    def __init__(self, data: Mapping[str, Any] | Callable[[], Mapping[str, Any]]) -> None:
        self._given = data
        self._json: Mapping[str, Any] | None = None
        self._read: dict[str, ColumnStats] = {}

    def __getitem__(self, name: str) -> ColumnStats:
        found = self._read.get(name)
        if found is None:
            found = self._read[name] = ColumnStats.from_json(self._data[name])
        return found

    def __iter__(self) -> Iterator[str]:
        return iter(self._data)

    def __len__(self) -> int:
        return len(self._data)

    @property
    def _data(self) -> Mapping[str, Any]:
        if self._json is None:
            given = self._given
            self._json = given() if callable(given) else given
        return self._json


def _scale(column_type: ColumnType, *scales: int | None) -> int | None:
    """A decimal column's scale after a merge: the larger one known (None for other types)."""
    known = [scale for scale in scales if scale is not None]
    return max(known) if known and column_type is ColumnType.DECIMAL else None


def _merged_stats(
    columns: tuple[Column, ...],
    current: Mapping[str, ColumnStats],
    loaded: Mapping[str, ColumnStats],
) -> dict[str, ColumnStats]:
    merged: dict[str, ColumnStats] = {}
    for column in columns:
        parts = [s for s in (current.get(column.name), loaded.get(column.name)) if s is not None]
        if not parts:
            continue
        stats = parts[0] if len(parts) == 1 else parts[0].merged(parts[1])
        if column.type not in _ORDERED_TYPES:
            stats = replace(stats, min_value=None, max_value=None)
        if column.type is not ColumnType.TEXT and stats.top_values is not None:
            stats = replace(stats, top_values=None)
        if column.type not in TEMPORAL and stats.day_counts is not None:
            stats = replace(stats, day_counts=None)  # a date column that became text
        merged[column.name] = stats
    return merged
