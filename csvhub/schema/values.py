"""A value's forms per column type, in one place: canonical text, Python value, JSON.

The warehouse stores and gives out *canonical text* (what csvread.Converter writes): integers
and decimals as written, booleans `true`/`false`, dates `YYYY-MM-DD`, timestamps
`YYYY-MM-DD HH:MM:SS[.f]` in UTC (fraction without trailing zeros), text as is. The *Python
value* of a cell is int, Decimal, bool, date, an aware UTC datetime or str. The *JSON* form is
what the API answers: integers and booleans as JSON, decimals as exact strings (a JSON number
would round them), dates `YYYY-MM-DD`, timestamps ISO 8601 in UTC with `Z`.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

from csvhub.schema.types import ColumnType

type Value = int | Decimal | bool | date | datetime | str
type JsonValue = int | bool | str | None


# -- canonical text → Python value -------------------------------------------------------------


def parse_timestamp(text: str) -> datetime:
    """ISO 8601 text as an aware UTC datetime; text without an offset is UTC (as stored)."""
    value = datetime.fromisoformat(text)
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def as_utc(value: datetime) -> datetime:
    """A datetime from a driver as an aware UTC datetime (naive ones are stored UTC)."""
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def _parse_boolean(text: str) -> bool:
    if text not in ("true", "false"):
        raise ValueError(text)
    return text == "true"


_PARSERS: dict[ColumnType, Callable[[str], Value]] = {
    ColumnType.INTEGER: int,
    ColumnType.DECIMAL: Decimal,
    ColumnType.BOOLEAN: _parse_boolean,
    ColumnType.DATE: date.fromisoformat,
    ColumnType.TIMESTAMP: parse_timestamp,
    ColumnType.TEXT: str,
}


def parse(column_type: ColumnType, text: str) -> Value:
    """The Python value of a column's canonical text; ValueError (or ArithmeticError for a
    decimal) when the text is not of that type."""
    return _PARSERS[column_type](text)


# -- Python value → canonical text -------------------------------------------------------------


def timestamp_spellings(value: datetime) -> tuple[str, str]:
    """The shortest and the longest canonical text of one instant (`:05` … `:05.000000`)."""
    value = value.astimezone(UTC) if value.tzinfo else value
    longest = f"{value.year:04d}-{value:%m-%d %H:%M:%S.%f}"
    return longest.rstrip("0").rstrip("."), longest


def timestamp_text(value: datetime) -> str:
    """The canonical form of a timestamp: UTC, `YYYY-MM-DD HH:MM:SS[.f]`, shortest fraction."""
    return timestamp_spellings(value)[0]


_TEXTS: dict[ColumnType, Callable[[Any], str]] = {
    ColumnType.INTEGER: str,
    ColumnType.DECIMAL: lambda value: format(value, "f"),
    ColumnType.BOOLEAN: lambda value: "true" if value else "false",
    ColumnType.DATE: lambda value: value.isoformat(),
    ColumnType.TIMESTAMP: timestamp_text,
    ColumnType.TEXT: str,
}


def text(column_type: ColumnType, value: Value) -> str:
    """The canonical text of a Python value of the column's type."""
    return _TEXTS[column_type](value)


# -- JSON ----------------------------------------------------------------------------------------


def iso_timestamp(value: datetime) -> str:
    """`2020-06-01T12:30:00.5Z`: UTC, fraction without trailing zeros."""
    return timestamp_text(value).replace(" ", "T") + "Z"


def iso_timestamp_of_text(canonical: str) -> str:
    """`2020-06-01 12:30:00.50` → `2020-06-01T12:30:00.5Z`, without parsing a datetime (a
    rows page or an export turns every cell; SQLite keeps fractions as written)."""
    if "." in canonical:
        canonical = canonical.rstrip("0").rstrip(".")
    return canonical.replace(" ", "T") + "Z"


def _date_of(value: date | datetime) -> date:
    return value.date() if isinstance(value, datetime) else value


_JSON_OF_TEXT: dict[ColumnType, Callable[[str], JsonValue]] = {
    ColumnType.INTEGER: int,
    ColumnType.DECIMAL: str,  # exact digits as a string
    ColumnType.BOOLEAN: lambda canonical: canonical == "true",
    ColumnType.DATE: str,
    ColumnType.TIMESTAMP: iso_timestamp_of_text,
    ColumnType.TEXT: str,
}

_JSON_OF_VALUE: dict[ColumnType, Callable[[Any], JsonValue]] = {
    ColumnType.INTEGER: int,
    ColumnType.DECIMAL: lambda value: format(value, "f"),
    ColumnType.BOOLEAN: bool,
    ColumnType.DATE: lambda value: _date_of(value).isoformat(),
    ColumnType.TIMESTAMP: iso_timestamp,
    ColumnType.TEXT: str,
}


def json_of_text(column_type: ColumnType) -> Callable[[str], JsonValue]:
    """The function that turns the column's canonical text into its JSON form."""
    return _JSON_OF_TEXT[column_type]


def to_json(column_type: ColumnType, value: Value | None) -> JsonValue:
    """A Python value of the column's type in its JSON form (None stays None)."""
    return None if value is None else _JSON_OF_VALUE[column_type](value)
