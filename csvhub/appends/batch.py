"""A payload's rows laid out as the batch a CSV file would give: one column of cells per
column of the table, in the table's order, empty cells ('' = NULL) where a row has no key.

Keys find columns as the query grammar finds them (csvhub.selection.columns): by name or
label, case-insensitively when that is unambiguous. A dataset without a table takes its
columns from the keys, named as a CSV header's cells would be (csvread.header).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from csvhub.appends.payload import Payload, PayloadInvalid
from csvhub.csvread import Columns, CsvFormatError
from csvhub.csvread.header import columns_from_header
from csvhub.schema import Column, ColumnType, DatasetSchema
from csvhub.selection.columns import ColumnResolver


@dataclass(frozen=True, slots=True)
class AppendBatch:
    names: list[str]  # the table's columns, in the order of `columns`
    labels: dict[str, str]  # by name: as the dataset shows them
    columns: Columns


def batch_for_table(
    payload: Payload, stored: Mapping[str, ColumnType], labels: Mapping[str, str]
) -> AppendBatch:
    """The batch for an existing table whose columns are `stored` (labels from the dataset)."""
    names = list(stored)
    schema = DatasetSchema(tuple(Column(n, stored[n], labels.get(n, "")) for n in names))
    resolver = ColumnResolver(schema)
    found = {key: resolver.find(key) for key in payload.keys}
    unknown = [key for key, column in found.items() if column is None]
    if unknown:
        listed = ", ".join(repr(key) for key in unknown)
        raise PayloadInvalid(
            f"Unknown keys: {listed}. Keys are column names or labels: "
            f"{', '.join(names)}. Nothing was appended."
        )
    where = {key: column.name for key, column in found.items() if column is not None}
    _check_one_key_per_column(payload, where)
    columns = _columns(payload, names, where)
    return AppendBatch(names, {n: labels.get(n, "") for n in names}, columns)


def batch_for_new_table(payload: Payload) -> AppendBatch:
    """The batch of a dataset's first rows: one column per key (keys equal but for case are
    one column, labelled as first written), named as a CSV header's cells would be."""
    firsts: dict[str, str] = {}
    for key in payload.keys:
        firsts.setdefault(_fold(key), key)
    try:
        header = columns_from_header(list(firsts.values()))
    except CsvFormatError as error:
        raise PayloadInvalid(str(error)) from None
    by_fold = {_fold(column.label): column.name for column in header}
    where = {key: by_fold[_fold(key)] for key in payload.keys}
    _check_one_key_per_column(payload, where)
    names = [column.name for column in header]
    labels = {column.name: column.label for column in header}
    return AppendBatch(names, labels, _columns(payload, names, where))


def _fold(key: str) -> str:
    # Header cleaning strips surrounding blanks off labels: keys fold the same way.
    return key.strip().casefold()


def _check_one_key_per_column(payload: Payload, where: Mapping[str, str]) -> None:
    """Different rows may spell a column differently; one row may not give it twice."""
    keys_of: dict[str, list[str]] = {}
    for key, name in where.items():
        keys_of.setdefault(name, []).append(key)
    shared = {name: keys for name, keys in keys_of.items() if len(keys) > 1}
    for name, keys in shared.items():
        for number, row in enumerate(payload.rows, 1):
            given = [key for key in keys if key in row]
            if len(given) > 1:
                listed = " and ".join(repr(key) for key in given)
                raise PayloadInvalid(
                    f"Row {number}: keys {listed} both name column {name!r}; use one. "
                    "Nothing was appended."
                )


def _columns(payload: Payload, names: list[str], where: Mapping[str, str]) -> Columns:
    keys_of: dict[str, list[str]] = {name: [] for name in names}
    for key, name in where.items():
        keys_of[name].append(key)
    return Columns([_cells(payload, keys_of[name]) for name in names])


def _cells(payload: Payload, keys: list[str]) -> list[str]:
    """One column's cells: its key's values, '' where a row lacks it."""
    if not keys:
        return [""] * payload.row_count
    if len(keys) == 1 and payload.columns is not None:  # every row has the key
        return payload.columns[keys[0]]
    rows = payload.rows
    if len(keys) == 1:
        key = keys[0]
        return [row.get(key, "") for row in rows]
    # Rows spelling the column differently (one spelling each: _check_one_key_per_column).
    return [next((row[key] for key in keys if key in row), "") for row in rows]
