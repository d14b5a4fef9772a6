"""The steps of a cleaning recipe: what each does to one column's cells, and its JSON form.

No Django here: ingestion turns a recipe into csvread cell rules (csvread.rules.CellRule) that
run on every batch before type inference. Each step works on text as written and gives text;
numbers and dates it parses come out in csvread.formats' grammars, so inference types them.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any

from csvhub.csvread import formats
from csvhub.csvread.rules import CellRule, null_tokens_rule

MAX_PATTERN_CHARS = 500
MAX_MAP_VALUES = 10_000
_SPACES = re.compile(r"\s+")


class StepError(ValueError):
    """A step that cannot be used; the message says what to fix."""


class Case(StrEnum):
    UPPER = "upper"
    LOWER = "lower"
    TITLE = "title"


@dataclass(frozen=True)
class Trim:
    """Surrounding spaces removed, runs of inner spaces made one."""

    column: str

    def rule(self) -> CellRule:
        return CellRule(lambda cell: _SPACES.sub(" ", cell).strip())

    def options(self) -> dict[str, Any]:
        return {}


@dataclass(frozen=True)
class ChangeCase:
    column: str
    to: Case

    def rule(self) -> CellRule:
        change: Callable[[str], str] = {
            Case.UPPER: str.upper,
            Case.LOWER: str.lower,
            Case.TITLE: str.title,
        }[self.to]
        return CellRule(change)

    def options(self) -> dict[str, Any]:
        return {"to": self.to.value}


@dataclass(frozen=True)
class Replace:
    """Every match of a regular expression replaced (`\\1` refers to groups)."""

    column: str
    pattern: str
    replacement: str

    def rule(self) -> CellRule:
        compiled = re.compile(self.pattern)
        return CellRule(lambda cell: compiled.sub(self.replacement, cell))

    def options(self) -> dict[str, Any]:
        return {"pattern": self.pattern, "with": self.replacement}


@dataclass(frozen=True)
class MapValues:
    """Cells equal to a key become its value (aliases: `J&A Holding Stocks` → `JEA ...`)."""

    column: str
    values: Mapping[str, str]

    def rule(self) -> CellRule:
        mapping = dict(self.values)
        return CellRule(lambda cell: mapping.get(cell, cell))

    def options(self) -> dict[str, Any]:
        return {"values": dict(self.values)}


@dataclass(frozen=True)
class NullTokens:
    column: str
    tokens: tuple[str, ...]

    def rule(self) -> CellRule:
        rule = null_tokens_rule(self.tokens)
        assert rule is not None  # checked when read
        return rule

    def options(self) -> dict[str, Any]:
        return {"tokens": list(self.tokens)}


@dataclass(frozen=True)
class ParseNumber:
    column: str
    decimal: str
    thousands: str

    def rule(self) -> CellRule:
        rewrite = formats.number_rewrite(self.decimal, self.thousands)
        return CellRule(rewrite or (lambda cell: cell))

    def options(self) -> dict[str, Any]:
        return {"decimal": self.decimal, "thousands": self.thousands}


@dataclass(frozen=True)
class ParseDate:
    """Dates (or timestamps, when the format has a time) in a strptime format, as ISO text."""

    column: str
    format: str

    def rule(self) -> CellRule:
        timed = any(code in self.format for code in ("%H", "%I", "%M", "%S"))

        def parse(cell: str) -> str:
            try:
                moment = datetime.strptime(cell.strip(), self.format)
            except ValueError:
                return cell  # left for inference: the column becomes text, and says so
            return f"{moment:%Y-%m-%d %H:%M:%S}" if timed else f"{moment:%Y-%m-%d}"

        return CellRule(parse)

    def options(self) -> dict[str, Any]:
        return {"format": self.format}


type Step = Trim | ChangeCase | Replace | MapValues | NullTokens | ParseNumber | ParseDate

_OPS: dict[str, type[Step]] = {
    "trim": Trim,
    "case": ChangeCase,
    "replace": Replace,
    "map": MapValues,
    "null_tokens": NullTokens,
    "parse_number": ParseNumber,
    "parse_date": ParseDate,
}
_NAMES = {kind: name for name, kind in _OPS.items()}
STEP_OPS = tuple(_OPS)


def step_to_json(step: Step) -> dict[str, Any]:
    return {"op": _NAMES[type(step)], "column": step.column, **step.options()}


def step_from_json(data: object) -> Step:
    """A step from its JSON; StepError naming what is wrong."""
    if not isinstance(data, dict):
        raise StepError('A step is an object like {"op": "trim", "column": "name"}.')
    op, column = data.get("op"), data.get("column")
    if op not in _OPS:
        raise StepError(f"Unknown op {op!r}: one of {', '.join(STEP_OPS)}.")
    if not isinstance(column, str) or not column:
        raise StepError(f"The {op} step needs a `column` (a column name).")
    return _READERS[str(op)](column, data)


def _text(data: Mapping[str, Any], key: str, op: str, *, empty: bool = False) -> str:
    value = data.get(key)
    if not isinstance(value, str) or (not value and not empty):
        raise StepError(f"The {op} step needs `{key}` as text.")
    return value


def _case(column: str, data: Mapping[str, Any]) -> Step:
    to = data.get("to")
    if to not in Case.__members__.values():
        raise StepError(f"The case step's `to` is one of {', '.join(Case)}.")
    return ChangeCase(column, Case(str(to)))


def _replace(column: str, data: Mapping[str, Any]) -> Step:
    pattern = _text(data, "pattern", "replace")
    if len(pattern) > MAX_PATTERN_CHARS:
        raise StepError(f"A pattern has at most {MAX_PATTERN_CHARS} characters.")
    replacement = _text(data, "with", "replace", empty=True)
    try:
        compiled = re.compile(pattern)
        compiled.sub(replacement, "")  # a bad group reference (\\3) shows here
    except (re.error, IndexError) as error:
        raise StepError(f"The pattern {pattern!r} is not a regular expression: {error}.") from None
    return Replace(column, pattern, replacement)


def _map(column: str, data: Mapping[str, Any]) -> Step:
    values = data.get("values")
    if not isinstance(values, dict) or not values:
        raise StepError('The map step needs `values`: {"as written": "as wanted", ...}.')
    if len(values) > MAX_MAP_VALUES:
        raise StepError(f"A map step has at most {MAX_MAP_VALUES:,} values.")
    if not all(isinstance(k, str) and isinstance(v, str) for k, v in values.items()):
        raise StepError("The map step's values map text to text.")
    return MapValues(column, dict(values))


def _null_tokens(column: str, data: Mapping[str, Any]) -> Step:
    tokens = data.get("tokens")
    if not isinstance(tokens, list) or not tokens or not all(isinstance(t, str) for t in tokens):
        raise StepError('The null_tokens step needs `tokens`: ["n/a", "-", ...].')
    if not any(tokens):
        raise StepError("The null_tokens step needs at least one non-empty token.")
    return NullTokens(column, tuple(tokens))


def _parse_number(column: str, data: Mapping[str, Any]) -> Step:
    decimal = data.get("decimal", ".")
    thousands = data.get("thousands", "")
    if decimal not in formats.DECIMAL_SEPARATORS:
        raise StepError("`decimal` is '.' or ','.")
    if thousands not in formats.THOUSANDS_SEPARATORS or thousands == decimal:
        raise StepError("`thousands` is '', ',', '.', ' ' or \"'\", and not the decimal one.")
    return ParseNumber(column, str(decimal), str(thousands))


def _parse_date(column: str, data: Mapping[str, Any]) -> Step:
    pattern = _text(data, "format", "parse_date")
    if "%" not in pattern or ("%Y" not in pattern and "%y" not in pattern):
        raise StepError("The parse_date format is a strptime format with a year, e.g. '%d.%m.%Y'.")
    return ParseDate(column, pattern)


_READERS: dict[str, Callable[[str, Mapping[str, Any]], Step]] = {
    "trim": lambda column, data: Trim(column),
    "case": _case,
    "replace": _replace,
    "map": _map,
    "null_tokens": _null_tokens,
    "parse_number": _parse_number,
    "parse_date": _parse_date,
}
