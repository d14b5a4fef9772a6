"""A dataset's columns found as users write them: by name or label, case-insensitively when
that is unambiguous; unknown names get a 400 that lists the valid ones."""

from __future__ import annotations

from collections.abc import Sequence

from csvhub.datasets.rowquery import InvalidRowQuery
from csvhub.schema import Column, DatasetSchema
from csvhub.warehouse.indexes import MAX_INDEX_COLUMNS


class ColumnResolver:
    def __init__(self, schema: DatasetSchema) -> None:
        self.schema = schema

    def find(self, written: str) -> Column | None:
        exact = self.schema.get(written)
        if exact is not None:
            return exact
        labelled = [column for column in self.schema if column.label == written]
        if len(labelled) == 1:
            return labelled[0]
        folded = written.casefold()
        matches = [
            column
            for column in self.schema
            if folded in (column.name.casefold(), column.label.casefold())
        ]
        if len(matches) > 1:
            names = ", ".join(column.name for column in matches)
            raise InvalidRowQuery(
                f"{written!r} matches several columns ({names}); write one of those names exactly."
            )
        return matches[0] if matches else None

    def get(self, written: str, *, role: str) -> Column:
        column = self.find(written)
        if column is None:
            raise self.unknown(written, role=role)
        return column

    def unknown(self, written: str, *, role: str, hint: str = "") -> InvalidRowQuery:
        if not self.schema:
            return InvalidRowQuery(f"Unknown column {written!r}: this dataset has no rows yet.")
        names = ", ".join(self.schema.names)
        return InvalidRowQuery(f"Unknown column {written!r} in {role}.{hint} Columns are: {names}.")

    def index_columns(self, written: Sequence[str]) -> list[Column]:
        """The columns of an index as written: known, 1 to MAX_INDEX_COLUMNS, each once."""
        columns = [self.get(name, role="index columns") for name in written]
        if not 1 <= len(columns) <= MAX_INDEX_COLUMNS:
            raise InvalidRowQuery(f"An index has 1 to {MAX_INDEX_COLUMNS} columns.")
        if len({column.name for column in columns}) != len(columns):
            raise InvalidRowQuery("An index names each column once.")
        return columns
