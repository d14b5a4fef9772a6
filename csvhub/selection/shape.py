"""Rows and columns in their JSON form, alike in pages, exports and analysis."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from csvhub.schema import Column, values


def column_json(column: Column) -> dict[str, Any]:
    """A column as the API describes it (the `columns` of a rows page, of a dataset)."""
    return {
        "name": column.name,
        "label": column.label,
        "type": column.type.value,
        "nullable": column.nullable,
    }


def json_row_maker(output: Sequence[Column]) -> Callable[[tuple[Any, ...]], dict[str, Any]]:
    """A function from a row of canonical text (the warehouse's form) to its JSON object."""
    converters = [(column.name, values.json_of_text(column.type)) for column in output]

    def to_json(row: tuple[Any, ...]) -> dict[str, Any]:
        return {
            name: None if value is None else convert(value)
            for (name, convert), value in zip(converters, row, strict=True)
        }

    return to_json
