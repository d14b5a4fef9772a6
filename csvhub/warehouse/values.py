"""Canonical text of values, both ways, as the warehouse reads and binds them."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

from csvhub.csvread import ColumnType


def timestamp_text(value: datetime) -> str:
    """The shortest canonical form of a timestamp: UTC, `YYYY-MM-DD HH:MM:SS[.f]`."""
    return fraction_bounds(value)[0]


def fraction_bounds(value: datetime) -> tuple[str, str]:
    """The shortest and the longest canonical text of one instant (`:05` … `:05.000000`)."""
    value = value.astimezone(UTC) if value.tzinfo else value
    longest = f"{value.year:04d}-{value:%m-%d %H:%M:%S.%f}"
    return longest.rstrip("0").rstrip("."), longest


def parse_timestamp(text: str) -> datetime:
    value = datetime.fromisoformat(text)
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def parse_boolean(text: str) -> bool:
    if text not in ("true", "false"):
        raise ValueError(text)
    return text == "true"


PARSERS: dict[ColumnType, Callable[[str], Any]] = {
    ColumnType.INTEGER: int,
    ColumnType.DECIMAL: Decimal,
    ColumnType.BOOLEAN: parse_boolean,
    ColumnType.DATE: date.fromisoformat,
    ColumnType.TIMESTAMP: parse_timestamp,
    ColumnType.TEXT: str,
}
