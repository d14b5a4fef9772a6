"""Canonical text for the warehouse: the `Converter` and the column conversions it uses."""

import re
from collections.abc import Callable, Sequence
from functools import cache
from operator import itemgetter

from csvhub.csvread import fixed_width, formats
from csvhub.csvread.columns import Columns
from csvhub.csvread.formats import DateStyle
from csvhub.csvread.observation import Observation
from csvhub.schema.types import ColumnType

_BOOLEANS = {"": ""} | {
    variant: text
    for word, text in formats.BOOLEAN_TEXT.items()
    for variant in (word, word.upper(), word.capitalize())
}
_BOOLEANS_ANY_CASE = {"": ""} | formats.BOOLEAN_TEXT


class Converter:
    """Turns raw cells into the canonical text the warehouse stores for a given stored column type.

    integer/decimal: as written, surrounding whitespace removed; boolean: 'true'/'false';
    date: 'YYYY-MM-DD'; timestamp: 'YYYY-MM-DD HH:MM:SS[.f]' in UTC, the fraction without
    trailing zeros (none for whole seconds); text: unchanged.
    Empty and whitespace-only cells of typed columns become '' (NULL in the warehouse).
    """

    def __init__(self, stored_types: list[ColumnType]) -> None:
        self.stored_types = list(stored_types)

    def convert(
        self, rows: list[list[str]], observed: Observation | None = None
    ) -> list[list[str]]:
        """Converted rows; `rows` itself when no cell needs converting.

        `observed` is `TypeTracker.last_observation` for these very rows: with it, the check
        whether a column is already canonical is free; without it, each typed column costs one
        regex pass. A cell that does not fit its stored type raises ValueError.
        """
        if not rows:
            return rows
        if observed is not None:
            observed.check(rows, len(self.stored_types))
        changes = [
            (index, new)
            for index, stored in enumerate(self.stored_types)
            if (new := self._column(_cells_of(rows, index), index, stored, observed)) is not None
        ]
        if not changes:
            return rows
        converted = [row.copy() for row in rows]
        for index, new in changes:
            for row, value in zip(converted, new, strict=True):
                row[index] = value
        return converted

    def column_changes(
        self, columns: Columns, observed: Observation | None = None
    ) -> list[list[str] | None]:
        """`convert` for a batch held column by column. Per column: its canonical cells, or
        None where the batch's cells already are, in which case they are never split out of
        the joined column."""
        if observed is not None:
            observed.check(columns, len(self.stored_types))
        return [
            self._column(_values_of(columns, index), index, stored, observed)
            for index, stored in enumerate(self.stored_types)
        ]

    def _column(
        self,
        values_of: Callable[[], list[str]],
        index: int,
        stored: ColumnType,
        observed: Observation | None,
    ) -> list[str] | None:
        """The column's new cells, or None when it is already canonical."""
        if stored is ColumnType.TEXT:
            return None
        if observed is not None:
            batch = observed.columns[index]
            if batch.fits_canonically(stored):
                return None
            if batch.type is stored and batch.canonical_text is not None:
                return batch.canonical_text
        values = values_of()
        if observed is None and is_canonical(stored, values):
            return None
        return canonical_column(stored, values)


def _cells_of(rows: list[list[str]], index: int) -> Callable[[], list[str]]:
    return lambda: list(map(itemgetter(index), rows))


def _values_of(columns: Columns, index: int) -> Callable[[], list[str]]:
    # Asked for only when needed: columns.values splits every joined column out.
    return lambda: columns.values[index]


def is_canonical(stored: ColumnType, values: Sequence[str]) -> bool:
    """Whether every cell is '' or already the canonical text of `stored`."""
    if stored is ColumnType.TEXT:
        return True
    joined = "\n".join(values)
    if stored in (ColumnType.DATE, ColumnType.TIMESTAMP):
        timestamps = stored is ColumnType.TIMESTAMP
        if layout := fixed_width.layout_fit(joined, len(values), timestamps=timestamps):
            return fixed_width.is_canonical(layout, timestamps=timestamps)
    if not _canonical_pattern(stored).fullmatch(joined):
        return False
    return stored is not ColumnType.INTEGER or _all_int64(values)


@cache
def _canonical_pattern(stored: ColumnType) -> re.Pattern[str]:
    grammar = {
        ColumnType.INTEGER: formats.INTEGER,
        ColumnType.DECIMAL: formats.DECIMAL,
        ColumnType.BOOLEAN: formats.BOOLEAN_CANONICAL,
        ColumnType.DATE: formats.DATES[DateStyle.ISO],
        ColumnType.TIMESTAMP: formats.TIMESTAMP_CANONICAL,
    }[stored]
    return formats.column_pattern(grammar, lenient=False)


def _all_int64(values: Sequence[str]) -> bool:
    """Range check, only for the rare values long enough to overflow (19+ characters)."""
    if max(map(len, values), default=0) < 19:
        return True
    return all(formats.fits_int64(v) for v in values if len(v) >= 19 and v.strip())


def canonical_column(stored: ColumnType, values: Sequence[str]) -> list[str]:
    """Canonical text of every cell for `stored`; ValueError when a cell does not fit."""
    return _CONVERSIONS[stored](values)


def _numbers(stored: ColumnType) -> Callable[[Sequence[str]], list[str]]:
    pattern = formats.column_pattern(
        formats.INTEGER if stored is ColumnType.INTEGER else formats.DECIMAL, lenient=False
    )

    def convert(values: Sequence[str]) -> list[str]:
        stripped = list(map(str.strip, values))
        fits = pattern.fullmatch("\n".join(stripped))
        if not fits or (stored is ColumnType.INTEGER and not _all_int64(stripped)):
            _raise_misfit(stored, stripped)
        return stripped

    return convert


def _booleans(values: Sequence[str]) -> list[str]:
    try:
        return list(map(_BOOLEANS.__getitem__, values))
    except KeyError:  # odd case or whitespace: the slower, general spelling
        try:
            return [_BOOLEANS_ANY_CASE[v.strip().lower()] for v in values]
        except KeyError as error:
            raise ValueError(f"{error.args[0]!r} is not a boolean") from None


def _by_distinct_value(convert_one: Callable[[str], str]) -> Callable[[Sequence[str]], list[str]]:
    """Convert each distinct value once: dates repeat a lot, so this is mostly dict lookups."""

    def convert(values: Sequence[str]) -> list[str]:
        mapping = {v: convert_one(v) if v.strip() else "" for v in set(values)}
        return list(map(mapping.__getitem__, values))

    return convert


_dates = _by_distinct_value(formats.canonical_date)
_timestamps_one_by_one = _by_distinct_value(formats.canonical_timestamp)
_SUBSTITUTABLE = formats.column_pattern(formats.TIMESTAMP_SUBSTITUTABLE, lenient=False)


def _timestamps(values: Sequence[str]) -> list[str]:
    # The common ISO export ('2020-01-02T03:04:05Z', '...05.123Z') becomes canonical by two
    # C-speed substitutions over the whole column; other spellings are parsed value by value.
    joined = "\n".join(values)
    if _SUBSTITUTABLE.fullmatch(joined):
        return formats.trim_fractions(joined.replace("T", " ").replace("Z", "")).split("\n")
    return _timestamps_one_by_one(values)


def _raise_misfit(stored: ColumnType, values: Sequence[str]) -> None:
    """Name the first number that does not fit (the column check only says one exists)."""
    for value in values:
        kind = formats.classify(value)
        if (
            kind is not None
            and kind.type is not stored
            and not (kind.type is ColumnType.INTEGER and stored is ColumnType.DECIMAL)
        ):
            raise ValueError(f"{value!r} is not a valid {stored}")
    raise AssertionError("no misfit found")  # pragma: no cover - callers found one


_CONVERSIONS: dict[ColumnType, Callable[[Sequence[str]], list[str]]] = {
    ColumnType.INTEGER: _numbers(ColumnType.INTEGER),
    ColumnType.DECIMAL: _numbers(ColumnType.DECIMAL),
    ColumnType.BOOLEAN: _booleans,
    ColumnType.DATE: _dates,
    ColumnType.TIMESTAMP: _timestamps,
    ColumnType.TEXT: list,
}


def misfits(stored: ColumnType, values: Sequence[str], *, first_only: bool = False) -> list[int]:
    """Positions of the cells that do not fit `stored` (empty cells fit every type): the rows
    strict reading rejects, or the cell that made a column wider. One conversion of the column
    when every cell fits; cell by cell (each distinct one once) only when one does not."""
    if stored is ColumnType.TEXT:
        return []
    try:
        canonical_column(stored, values)
        return []
    except ValueError:
        pass
    fits: dict[str, bool] = {}
    found = []
    for position, value in enumerate(values):
        if value not in fits:
            fits[value] = _fits(stored, value)
        if not fits[value]:
            found.append(position)
            if first_only:
                break
    return found


def _fits(stored: ColumnType, value: str) -> bool:
    try:
        canonical_column(stored, [value])
    except ValueError:
        return False
    return True
