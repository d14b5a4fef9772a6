"""What an edit does, as a typed action checked against the dataset's columns.

The vocabulary (docs/api.md, "Editing rows"):

- `{"delete": true}`: delete the selected rows;
- `{"set": {column: change, ...}}` where a change is
  - a constant, written as in filters and CSV cells (`"12.50"`, `3`, `true`, `"2024-05-01"`),
    or null to empty the cell;
  - `{"multiply": "1.05", "add": "2", "round": 2}` on integer and decimal columns (any of the
    three; the result is rounded half away from zero, always to what the column holds);
  - `{"replace": {"from": "Ltd.", "to": "Limited"}}`, `{"upper": true}`, `{"lower": true}`,
    `{"trim": true}` on text columns;
  - `{"map": {"old": "new", ...}}`: cells equal to a key become its value; only rows holding
    one of the keys are edited (cleaning's value maps use this).

Every value is checked against its column's type before anything runs: a value that does not
fit is a 400 naming the column, and nothing changes.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from csvhub.datasets.rowquery import MAX_FILTER_VALUE_CHARS, parse_value
from csvhub.edits.errors import EditInvalid
from csvhub.schema import Column, ColumnType, DatasetSchema
from csvhub.schema.stats import ColumnStats
from csvhub.schema.types import decimal_fits
from csvhub.selection.columns import ColumnResolver
from csvhub.warehouse.edits import (
    TEXT_FUNCTIONS,
    Arithmetic,
    Change,
    MapValues,
    ReplaceText,
    SetValue,
    TextFunction,
)

NUMBERS = (ColumnType.INTEGER, ColumnType.DECIMAL)
MAX_MAP_PAIRS = 10_000
MAX_ROUND_DIGITS = 18
_INT64 = (-(2**63), 2**63 - 1)
_ARITHMETIC = ("multiply", "add", "round")


@dataclass(frozen=True)
class ColumnChange:
    column: Column
    change: Change


@dataclass(frozen=True)
class EditAction:
    """Delete the rows, or change these columns of them."""

    changes: tuple[ColumnChange, ...] = ()
    written: Mapping[str, Any] | None = None  # the action as given, stored with the edit

    @property
    def deletes(self) -> bool:
        return not self.changes

    @property
    def columns(self) -> list[str]:
        return [change.column.name for change in self.changes]

    def warehouse_changes(self) -> tuple[tuple[str, Change], ...]:
        return tuple((change.column.name, change.change) for change in self.changes)

    def to_json(self) -> dict[str, Any]:
        return dict(self.written or ({"delete": True} if self.deletes else {}))


DELETE = EditAction(written={"delete": True})


def action_parse(schema: DatasetSchema, data: object) -> EditAction:
    """The typed action of a request's `action`, or EditInvalid saying what to fix."""
    if not isinstance(data, Mapping) or not data:
        raise EditInvalid('action is an object: {"set": {"price": "12.50"}} or {"delete": true}.')
    unknown = sorted(set(data) - {"set", "delete"})
    if unknown or ("set" in data) == ("delete" in data):
        raise EditInvalid('action takes exactly one of "set" and "delete".')
    if "delete" in data:
        if data["delete"] is not True:
            raise EditInvalid('"delete" takes true.')
        return DELETE
    written = data["set"]
    if not isinstance(written, Mapping) or not written:
        raise EditInvalid('"set" is an object of column → new value or expression.')
    resolver = ColumnResolver(schema)
    changes: dict[str, ColumnChange] = {}
    for name, value in written.items():
        column = resolver.get(str(name), role="set")
        if column.name in changes:
            raise EditInvalid(f"set names {column.name!r} twice; name each column once.")
        change = _change(column, value, schema.stats_of(column.name))
        changes[column.name] = ColumnChange(column, change)
    return EditAction(tuple(changes.values()), written=dict(data))


def _change(column: Column, value: object, stats: ColumnStats) -> Change:
    if not isinstance(value, Mapping):
        return SetValue(typed_value(column, value))
    keys = set(value)
    if keys and keys <= set(_ARITHMETIC):
        return _arithmetic(column, value, stats)
    if len(keys) != 1:
        raise EditInvalid(
            f"The change of {column.name!r} is a value or one expression: multiply/add/round, "
            "replace, upper, lower, trim or map."
        )
    (word,) = keys
    operand = value[word]
    if word == "map":
        return _map(column, operand)
    if word != "replace" and word not in TEXT_FUNCTIONS:
        raise EditInvalid(
            f"Unknown expression {word!r} for {column.name!r}. Expressions are multiply, add, "
            "round (numbers), replace, upper, lower, trim (text), map (any type)."
        )
    _require_text(column, word)
    if word == "replace":
        return _replace(column, operand)
    if operand is not True:
        raise EditInvalid(f'"{word}" takes true (on {column.name!r}).')
    return TextFunction(str(word))


def typed_value(column: Column, value: object) -> Any:
    """A constant for the column, typed as its values are (None: an empty cell)."""
    if value is None:
        return None
    if isinstance(value, bool):
        text = "true" if value else "false"
    elif isinstance(value, (int, float, str)):
        text = str(value)
    else:
        raise EditInvalid(f"The value for {column.name!r} is text, a number, true/false or null.")
    if column.type is not ColumnType.TEXT and text.strip() == "":
        return None  # an empty cell of a typed column is stored as NULL, as at upload
    if len(text) > MAX_FILTER_VALUE_CHARS * 16 or not storable_text(text):
        raise EditInvalid(
            f"The value for {column.name!r} is too long, or holds a NUL character or a lone "
            "surrogate (text no database stores)."
        )
    typed = parse_value(column.type, text, column=column.name)
    if column.type is ColumnType.DECIMAL:
        _check_decimal_fits(column, typed, text)
    return typed


def _check_decimal_fits(column: Column, value: Decimal, text: str) -> None:
    if column.scale is None:
        return
    exponent = value.as_tuple().exponent
    digits = -exponent if isinstance(exponent, int) and exponent < 0 else 0
    if digits > column.scale:
        raise EditInvalid(
            f"{text!r} has {digits} digits after the point; {column.name!r} keeps "
            f"{column.scale}. Round the value, or upload the values with more digits to widen "
            "the column."
        )
    if not decimal_fits(text, text, column.scale):
        raise EditInvalid(f"{text!r} is too large for {column.name!r}.")


def _number(column: Column, word: str, value: object) -> Decimal:
    if isinstance(value, bool) or not isinstance(value, (int, float, str)):
        raise EditInvalid(f'"{word}" on {column.name!r} takes a number, not {value!r}.')
    number: Decimal = parse_value(ColumnType.DECIMAL, str(value), column=f"{column.name} {word}")
    return number


def _arithmetic(column: Column, value: Mapping[str, Any], stats: ColumnStats) -> Arithmetic:
    if column.type not in NUMBERS:
        raise EditInvalid(
            f"multiply, add and round work on integer and decimal columns; {column.name!r} is "
            f"{column.type.value}."
        )
    multiply = _number(column, "multiply", value["multiply"]) if "multiply" in value else None
    add = _number(column, "add", value["add"]) if "add" in value else None
    digits = value.get("round")
    if digits is not None and (
        isinstance(digits, bool)
        or not isinstance(digits, int)
        or not 0 <= digits <= MAX_ROUND_DIGITS
    ):
        raise EditInvalid(f'"round" takes a whole number of digits, 0 to {MAX_ROUND_DIGITS}.')
    if add is not None:
        _check_addend(column, add)
    arithmetic = Arithmetic(multiply=multiply, add=add, digits=digits)
    _check_range(column, arithmetic, stats)
    return arithmetic


def _check_addend(column: Column, add: Decimal) -> None:
    """What is added must be held by the column exactly (rounding it would be silent)."""
    kept = 0 if column.type is ColumnType.INTEGER else column.scale
    exponent = add.as_tuple().exponent
    if kept is not None and isinstance(exponent, int) and -exponent > kept:
        raise EditInvalid(
            f"add {format(add, 'f')} has more digits after the point than {column.name!r} "
            f"keeps ({kept})."
        )


def _check_range(column: Column, arithmetic: Arithmetic, stats: ColumnStats) -> None:
    """The results stay within what the column holds: the function is linear, so its
    extremes are those of the column's extremes (exact summaries, see services)."""
    low, high = stats.bounds(column.type)
    for bound in (low, high):
        if bound is None:
            continue
        result = Decimal(bound) * (arithmetic.multiply or 1) + (arithmetic.add or 0)
        text = format(result, "f")
        if column.type is ColumnType.INTEGER:
            fits = _INT64[0] <= result <= _INT64[1]
        else:
            fits = column.scale is None or decimal_fits(text, text, column.scale)
        if not fits:
            raise EditInvalid(
                f"This would make {column.name!r} reach {text}, more than the column holds."
            )


def _require_text(column: Column, word: str) -> None:
    if column.type is not ColumnType.TEXT:
        raise EditInvalid(
            f'"{word}" works on text columns; {column.name!r} is {column.type.value}.'
        )


def _replace(column: Column, operand: object) -> ReplaceText:
    if (
        not isinstance(operand, Mapping)
        or set(operand) != {"from", "to"}
        or not all(isinstance(operand[k], str) for k in ("from", "to"))
        or not operand["from"]
    ):
        raise EditInvalid('"replace" takes {"from": "text", "to": "text"}, "from" not empty.')
    if not (storable_text(operand["from"]) and storable_text(operand["to"])):
        raise EditInvalid('"replace" text holds a NUL character or a lone surrogate.')
    return ReplaceText(operand["from"], operand["to"])


def storable_text(text: str) -> bool:
    """Text every warehouse stores: no NUL (PostgreSQL refuses it), valid UTF-8 (no lone
    surrogate, which JSON can spell as \\ud800)."""
    if "\x00" in text:
        return False
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _map(column: Column, operand: object) -> MapValues:
    if not isinstance(operand, Mapping) or not operand:
        raise EditInvalid(f'"map" on {column.name!r} takes an object of old value → new value.')
    if len(operand) > MAX_MAP_PAIRS:
        raise EditInvalid(f'"map" takes at most {MAX_MAP_PAIRS:,} values at once.')
    pairs: dict[Any, Any] = {}
    for old, new in operand.items():
        key = typed_value(column, old)
        if key is None:
            raise EditInvalid(
                f'"map" keys are values; empty cells are selected with {column.name}=isnull: '
                "and set with null."
            )
        pairs[key] = typed_value(column, new)
    return MapValues(tuple(pairs.items()))
