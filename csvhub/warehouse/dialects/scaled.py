"""Exact decimals as scaled integers: a value of a scale-s column is stored as value * 10**s.

For an engine without an exact decimal type (SQLite): integers compare, sort, index and add
exactly and natively. csvread keeps decimal columns within what this holds (at most 18 digits
after the point, value * 10**scale within a signed 64-bit integer: schema.types.decimal_fits).
"""

from __future__ import annotations

import functools
import math
import re
from collections.abc import Sequence
from decimal import Decimal
from typing import Any

from sqlalchemy import Text, case, cast, false, func, literal, or_, true
from sqlalchemy.sql.elements import ColumnElement

from csvhub.warehouse.dialects.base import plain_comparison

LARGEST = 2**63 - 1


def scaled_text(column: ColumnElement[Any], scale: int) -> ColumnElement[Any]:
    """Canonical text of a scaled integer: `-0.50`, `79930.00`, at the column's scale."""
    if scale == 0:
        return cast(column, Text)
    unit = literal(10**scale)
    magnitude = func.abs(column)
    # Integer division and remainder as the engine does them (SQLAlchemy's `/` on integers
    # is true division).
    whole = cast(magnitude.op("/")(unit), Text)
    # The fraction's digits, left-padded with zeros: 10**scale + fraction has one digit more
    # than the scale and starts with 1.
    fraction = func.substr(cast(unit.op("+")(magnitude.op("%")(unit)), Text), 2)
    sign = case((column < 0, "-"), else_="")
    return case((column.is_(None), None), else_=sign + whole + "." + fraction)


def unscaled(value: Any, scale: int) -> int:
    """value * 10**scale; ValueError if that is not a whole number (more digits than scale)."""
    shifted = Decimal(value).scaleb(scale)
    if shifted != shifted.to_integral_value():
        raise ValueError(f"{value} has more than {scale} digits after the point")
    return int(shifted)


def scaled_comparison(
    op: str, column: ColumnElement[Any], scale: int, value: Any
) -> ColumnElement[Any]:
    """`column op value` on stored integers, exact for any decimal `value` (79930.001 on a
    scale-2 column: > 7993000, < 7993001, never equal)."""
    if op in ("in", "notin"):
        equal = [_whole(item, scale) for item in value]
        items = [literal(n, column.type) for n in equal if n is not None and abs(n) <= LARGEST]
        if op == "in":
            return column.in_(items) if items else false()
        return or_(column.not_in(items), column.is_(None)) if items else true()
    shifted = Decimal(value).scaleb(scale)
    if op in ("eq", "neq"):
        whole = _whole(value, scale)
        if whole is None or abs(whole) > LARGEST:  # no stored value equals it
            return false() if op == "eq" else true()
        return plain_comparison(op, column, literal(whole, column.type))
    # lt/gte: the integers at or above the value start at its ceiling; lte/gt: at its floor.
    limit = math.ceil(shifted) if op in ("lt", "gte") else math.floor(shifted)
    if limit > LARGEST:
        return column.is_not(None) if op in ("lt", "lte") else false()
    if limit < -LARGEST:
        return false() if op in ("lt", "lte") else column.is_not(None)
    return plain_comparison(op, column, literal(limit, column.type))


def _whole(value: Any, scale: int) -> int | None:
    shifted = Decimal(value).scaleb(scale)
    return int(shifted) if shifted == shifted.to_integral_value() else None


def sum_parts(column: ColumnElement[Any]) -> list[ColumnElement[Any]]:
    """SUM of the high and the low 32 bits apart: each fits 64 bits for billions of rows, where
    SUM of the integers themselves overflows past 9.2e18 (SQLite then raises)."""
    return [func.sum(column.op(">>")(32)), func.sum(column.op("&")(0xFFFFFFFF))]


def sum_of_parts(parts: Sequence[Any]) -> int | None:
    high, low = parts
    return None if high is None else int(high) * 2**32 + int(low)


def sum_order_key(parts: Sequence[ColumnElement[Any]]) -> ColumnElement[Any]:
    """The sum as a float, for ordering groups by it."""
    high, low = parts
    return high * 4294967296.0 + low


def scaled_cells(cells: list[str], scale: int) -> list[str]:
    """Canonical decimal cells as the digits of value * 10**scale ('' stays ''), which the
    INSERT casts to INTEGER. When every value has `scale` digits after its point (the usual
    column) that is dropping the points: a few C-speed passes over the joined column."""
    joined = "\n".join(cells)
    if "e" in joined or "E" in joined:
        return [str(unscaled(cell, scale)) if cell else "" for cell in cells]
    if not scale:
        return cells if "." not in joined else [cell.rstrip(".") for cell in cells]
    if _all_at_scale(joined, len(cells) - cells.count(""), scale):
        return joined.replace(".", "").split("\n")
    # Pad each fraction to `scale` digits, one regex pass per length short of it.
    text = "\n".join(cell if "." in cell or not cell else cell + "." for cell in cells)
    for digits in range(scale):
        text = _fraction_of(digits).sub(r"\g<0>" + "0" * (scale - digits), text)
    return text.replace(".", "").split("\n")


def _all_at_scale(joined: str, values: int, scale: int) -> bool:
    """Whether each of the `values` non-empty cells has a point and `scale` digits after it
    (csvread's grammar allows one point at most, and digits after it)."""
    if joined.count(".") != values:
        return False
    ended = joined + "\n"
    return not any(_shorter_fraction(digits).search(ended) for digits in range(scale))


@functools.cache
def _shorter_fraction(digits: int) -> re.Pattern[str]:
    return re.compile(rf"\.[0-9]{{{digits}}}\n")


@functools.cache
def _fraction_of(digits: int) -> re.Pattern[str]:
    return re.compile(rf"\.[0-9]{{{digits}}}$", re.MULTILINE)
