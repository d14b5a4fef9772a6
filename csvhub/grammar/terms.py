"""The shapes every grammar entry takes: a parameter with its value type and choices, and the
groups of column types that operators, metrics and buckets apply to."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from csvhub.schema import ColumnType

ALL_TYPES: tuple[ColumnType, ...] = tuple(ColumnType)
NUMBERS = (ColumnType.INTEGER, ColumnType.DECIMAL)
TIMES = (ColumnType.DATE, ColumnType.TIMESTAMP)
ORDERED = (*NUMBERS, *TIMES, ColumnType.TEXT)  # what has a minimum and a maximum


class ValueType(StrEnum):
    """What a parameter's value is, as the OpenAPI schema and the docs say it."""

    TEXT = "text"
    CHOICE = "choice"  # one of the parameter's choices, case-insensitively
    WHOLE_NUMBER = "whole number"  # from minimum to maximum; empty means the default


@dataclass(frozen=True)
class Choice:
    value: str
    description: str


@dataclass(frozen=True)
class Parameter:
    """One query-string parameter of an endpoint. Each is also accepted with a leading `_`."""

    name: str
    description: str
    value: ValueType = ValueType.TEXT
    choices: tuple[Choice, ...] = ()
    minimum: int | None = None
    maximum: int | None = None
    example: str | int | None = None
    required: bool = False

    @property
    def values(self) -> tuple[str, ...]:
        return tuple(choice.value for choice in self.choices)


def choices_of(enum: type[StrEnum], descriptions: dict[str, str]) -> tuple[Choice, ...]:
    """An enum's values with their descriptions, in the enum's order (all of them described)."""
    missing = {member.value for member in enum} ^ set(descriptions)
    if missing:
        raise ValueError(f"{enum.__name__}: described and declared values differ: {missing}")
    return tuple(Choice(member.value, descriptions[member.value]) for member in enum)
