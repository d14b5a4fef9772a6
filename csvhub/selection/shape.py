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
    names = [column.name for column in output]
    # Text, decimals and dates are their canonical text already: a row is one dict(zip(...))
    # and a call per cell of the other columns only.
    converted = [
        (column.name, convert)
        for column in output
        if (convert := values.json_of_text(column.type)) is not str
    ]

    def to_json(row: tuple[Any, ...]) -> dict[str, Any]:
        found = dict(zip(names, row, strict=True))
        for name, convert in converted:
            value = found[name]
            if value is not None:
                found[name] = convert(value)
        return found

    return to_json
