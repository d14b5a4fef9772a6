"""The column types csvhub infers, and how two of them combine."""

import enum


class ColumnType(enum.StrEnum):
    INTEGER = "integer"
    DECIMAL = "decimal"
    BOOLEAN = "boolean"
    DATE = "date"
    TIMESTAMP = "timestamp"
    TEXT = "text"


# Pairs whose join is not TEXT (besides a type with itself): each is "narrow, wide".
_WIDER = {
    (ColumnType.INTEGER, ColumnType.DECIMAL): ColumnType.DECIMAL,
    (ColumnType.DATE, ColumnType.TIMESTAMP): ColumnType.TIMESTAMP,
}


def widen(a: ColumnType | None, b: ColumnType | None) -> ColumnType | None:
    """Join of two types in the widening lattice; None (only empty cells so far) is the identity.

    integer + decimal = decimal, date + timestamp = timestamp, equal types stay, anything else
    is text.
    """
    if a is None:
        return b
    if b is None or a is b:
        return a
    return _WIDER.get((a, b)) or _WIDER.get((b, a)) or ColumnType.TEXT
