"""The column types csvhub infers, and how two of them combine."""

import enum
import functools
import re
from decimal import Decimal


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


# A decimal column holds values whose digits at the column's scale (the most digits after the
# point any of its values has) fit a signed 64-bit integer, and at most this many of them
# after the point: what every warehouse stores exactly (SQLite as scaled integers, PostgreSQL
# and MySQL as DECIMAL(19, scale)). A column past that is text (docs/decisions.md).
MAX_DECIMAL_SCALE = 18
_LARGEST_UNSCALED = 2**63 - 1


def decimal_fits(low: str | None, high: str | None, scale: int) -> bool:
    """Whether decimal values between `low` and `high` (canonical text, None: no values) are
    all held exactly by a decimal column of this scale."""
    if scale > MAX_DECIMAL_SCALE:
        return False
    if low is None or high is None:
        return True
    largest = max(abs(Decimal(low)), abs(Decimal(high)))
    return largest.scaleb(scale) <= _LARGEST_UNSCALED


def fraction_digits(joined: str, at_least: int = 0) -> int:
    """The most digits after the point among '\\n'-joined decimal values (an exponent counts:
    `1.5e-3` has 4), and at least `at_least`. One regex search when no value has more."""
    if "e" in joined or "E" in joined:
        scales = (_scale_of(value) for value in joined.split("\n") if value.strip())
        return max(at_least, *scales, 0)
    if not _more_digits_than(at_least).search(joined):
        return at_least
    return max(at_least, *map(len, _FRACTIONS.findall(joined)))


_FRACTIONS = re.compile(r"\.([0-9]+)")


@functools.cache
def _more_digits_than(digits: int) -> re.Pattern[str]:
    return re.compile(rf"\.[0-9]{{{digits + 1}}}")


def _scale_of(value: str) -> int:
    exponent = Decimal(value.strip()).as_tuple().exponent
    assert isinstance(exponent, int), "csvread's decimal grammar has no NaN or infinity"
    return max(0, -exponent)
