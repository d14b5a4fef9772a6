"""A faster proof for ISO date and timestamp columns written with one fixed layout.

Regex matching costs ~10 ns a character; a column of '2020-03-15 10:20:30' values is mostly
characters. When every cell of a batch column has the same layout, the layout is proven by
one `str.translate` (digits to '0') and one string comparison, and calendar and clock
validity by bit masks: each digit position is sliced out of the joined column with a stride
(one character per cell), turned into a big integer with bit i set when cell i has a digit of
interest, and the masks are combined with & and |. All of it runs in C over contiguous text.
Where csvhub was built with its C splitter, its `layout_fits` does the same proof in one pass
over the cells (the masks took a fifth of an ingestion's type inference); the masks remain
where it was not. Anything else (nulls, offsets, a bad value) falls back to the regex grammars.
"""

import re
from collections.abc import Callable
from functools import cache

from csvhub.csvread import formats

_ZERO_DIGITS = str.maketrans("123456789", "000000000")
# The layouts taken here: ISO date, optionally ' ' or 'T' and a time with seconds, a fraction
# of 1 to 6 digits and 'Z'. Dates, and timestamps without fraction or 'Z', are canonical.
_LAYOUT = re.compile(r"0000-00-00(?:[ T]00:00:00(?:\.0{1,6})?Z?)?")
_CANONICAL_TIMESTAMP = "0000-00-00 00:00:00"  # with a fraction, trailing zeros are unseen
_DATE = "0000-00-00"
_OFFSETS = (0, 1, 2, 3, 5, 6, 8, 9, 11, 12, 14, 17)  # digits with rules: y, m, d, h, tens of m, s


@cache
def _digit_table(digits: str) -> dict[int, str]:
    return str.maketrans({d: "1" if d in digits else "0" for d in "0123456789"})


def _mask(column: str, digits: str) -> int:
    """Bit i is set when character i of `column` (all digits) is one of `digits`."""
    return int(column.translate(_digit_table(digits)), 2)


def layout_fit(joined: str, count: int, *, timestamps: bool) -> str | None:
    """The layout ('0000-00-00 00:00:00'...) all `count` cells of `joined` share, if valid.

    `timestamps` admits time layouts; a date column only takes dates. None means "not proven
    here" (not "invalid"): the caller then uses the regex grammars.
    """
    first = joined[: joined.find("\n")] if count > 1 else joined
    layout = first.translate(_ZERO_DIGITS)
    if not _LAYOUT.fullmatch(layout) or (layout != _DATE and not timestamps):
        return None
    return layout if _LAYOUT_FITS(joined, layout, count, layout != _DATE) else None


def _layout_fits_in_python(joined: str, layout: str, count: int, with_time: bool) -> bool:
    """Whether all `count` cells of `joined` are written in `layout` and are real days (and
    times): the C splitter's layout_fits, where csvhub was built without a C compiler."""
    step = len(layout) + 1
    if len(joined) != step * count - 1 or joined.translate(_ZERO_DIGITS) != _repeat(layout, count):
        return False
    return _valid(joined, step, with_time=with_time)


def _layout_checker() -> Callable[[str, str, int, bool], bool]:
    """The C splitter's one pass over the cells (a tenth of the masks' time, which were a fifth
    of an ingestion's type inference), else the same proof in Python."""
    try:
        from csvhub.csvread._splitter import layout_fits
    except ImportError:
        return _layout_fits_in_python
    return layout_fits


_LAYOUT_FITS = _layout_checker()


def is_canonical(layout: str, *, timestamps: bool) -> bool:
    return layout == (_CANONICAL_TIMESTAMP if timestamps else _DATE)


def canonical_timestamps(joined: str, layout: str) -> list[str]:
    """The cells of a proven column as canonical timestamps, by plain text substitution."""
    if layout == _DATE:
        return (joined.replace("\n", " 00:00:00\n") + " 00:00:00").split("\n")
    return formats.trim_fractions(joined.replace("T", " ").replace("Z", "")).split("\n")


def _repeat(layout: str, count: int) -> str:
    return "\n".join([layout] * count)


def _valid(joined: str, step: int, *, with_time: bool) -> bool:
    """Calendar- and clock-valid: months 01-12, days within their month, 23:59:59 at most."""
    digit = {offset: joined[offset::step] for offset in _OFFSETS[: 12 if with_time else 8]}
    m1, m2, d1, d2 = digit[5], digit[6], digit[8], digit[9]
    month_0x, month_1x = _mask(m1, "0"), _mask(m1, "1")
    day_3x = _mask(d1, "3")
    bad = (
        _mask(m1, "23456789")
        | month_0x & _mask(m2, "0")
        | month_1x & _mask(m2, "3456789")
        | _mask(d1, "456789")
        | _mask(d1, "0") & _mask(d2, "0")
        | day_3x & _mask(d2, "23456789")
    )
    february = month_0x & _mask(m2, "2")
    thirty_days = month_0x & _mask(m2, "469") | month_1x & _mask(m2, "1")
    bad |= february & day_3x | thirty_days & day_3x & _mask(d2, "1")
    february_29 = february & _mask(d1, "2") & _mask(d2, "9")
    if february_29:
        bad |= february_29 & ~_leap_years(digit)
    bad |= _mask(digit[0], "0") & _mask(digit[1], "0") & _mask(digit[2], "0") & _mask(digit[3], "0")
    if with_time:
        bad |= (
            _mask(digit[11], "3456789")
            | _mask(digit[11], "2") & _mask(digit[12], "456789")
            | _mask(digit[14], "6789")
            | _mask(digit[17], "6789")
        )
    return not bad


def _leap_years(digit: dict[int, str]) -> int:
    """Cells whose year is divisible by 4 and not by 100, or by 400."""
    hundreds = _mask(digit[2], "0") & _mask(digit[3], "0")
    ordinary = _divisible_by_4(digit[2], digit[3]) & ~hundreds
    return ordinary | hundreds & _divisible_by_4(digit[0], digit[1])


def _divisible_by_4(tens: str, units: str) -> int:
    """Two-digit numbers divisible by 4: an even tens digit and 0, 4, 8, or odd and 2, 6."""
    return _mask(tens, "02468") & _mask(units, "048") | _mask(tens, "13579") & _mask(units, "26")
