"""The grammars of typed values, and their canonical text.

Every grammar is a regular expression *source* so that it can be used two ways: on one value
(`classify`, the converters) and, repeated, over a whole column joined with newlines (the fast
path of inference, see `column_pattern`). Calendar validity (no 2021-02-30, February 29 only
in leap years) and clock validity (no 24:00) are part of the grammars, so a single regex match
proves a column; nothing is checked value by value on the fast path.
"""

import enum
import re
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import NamedTuple

from csvhub.schema.types import ColumnType


class DateStyle(enum.StrEnum):
    """How a column writes its dates; a date or timestamp column uses exactly one style."""

    ISO = "iso"  # 2020-03-15, and ISO 8601 timestamps
    YMD = "ymd"  # 2020/03/15
    US = "us"  # 03/15/2020: slashes with the year last are read month first
    EU = "eu"  # 15.03.2020


class Kind(NamedTuple):
    """A column type plus, for dates and timestamps, the date style it was written in."""

    type: ColumnType
    style: DateStyle | None = None


TEXT = Kind(ColumnType.TEXT)
INT64_MIN, INT64_MAX = -(2**63), 2**63 - 1

# --- numbers and booleans -------------------------------------------------------------------
# No leading zeros: "007" is a code (zip, account number), not the number 7.
INTEGER = r"[+-]?(?:0|[1-9][0-9]{0,18})"
# Exponents are capped at 3 digits so every accepted value fits PostgreSQL's NUMERIC.
DECIMAL = r"[+-]?(?:(?:0|[1-9][0-9]*+)(?:\.[0-9]*+)?|\.[0-9]++)(?:[eE][+-]?[0-9]{1,3})?"
BOOLEAN = r"(?i:true|false|yes|no|t|f|y|n)"
BOOLEAN_CANONICAL = r"true|false"
BOOLEAN_TEXT = {word: "true" for word in ("true", "t", "yes", "y")} | {
    word: "false" for word in ("false", "f", "no", "n")
}

# --- dates ----------------------------------------------------------------------------------
_YEAR = r"(?:[1-9][0-9]{3}|0(?:[1-9][0-9]{2}|0[1-9][0-9]|00[1-9]))"
# Divisible by 4 and not by 100, or by 400; year 0000 does not exist.
_LEAP_YEAR = r"(?!0000)(?:[0-9]{2}(?:0[48]|[2468][048]|[13579][26])|(?:[02468][048]|[13579][26])00)"


def _month_day(sep: str, *, day_first: bool, padded: bool) -> str:
    """Calendar-valid month and day (February 29 excluded: see `_date`), in either order."""
    z = "0" if padded else "0?"
    any_month = f"(?:{z}[1-9]|1[0-2])"
    not_february = f"(?:{z}[13-9]|1[0-2])"
    long_month = f"(?:{z}[13578]|1[02])"
    to_28 = f"(?:1[0-9]|2[0-8]|{z}[1-9])"
    pairs = [(any_month, to_28), (not_february, "(?:29|30)"), (long_month, "31")]
    if day_first:
        return "(?:" + "|".join(f"{d}{sep}{m}" for m, d in pairs) + ")"
    return "(?:" + "|".join(f"{m}{sep}{d}" for m, d in pairs) + ")"


def _date(style: DateStyle) -> str:
    if style is DateStyle.ISO:
        md = _month_day("-", day_first=False, padded=True)
        return f"(?:{_YEAR}-{md}|{_LEAP_YEAR}-02-29)"
    if style is DateStyle.YMD:
        md = _month_day("/", day_first=False, padded=False)
        return f"(?:{_YEAR}/{md}|{_LEAP_YEAR}/0?2/29)"
    if style is DateStyle.US:
        md = _month_day("/", day_first=False, padded=False)
        return f"(?:{md}/{_YEAR}|0?2/29/{_LEAP_YEAR})"
    dm = _month_day(r"\.", day_first=True, padded=False)
    return rf"(?:{dm}\.{_YEAR}|29\.0?2\.{_LEAP_YEAR})"


DATES = {style: _date(style) for style in DateStyle}

# --- timestamps -----------------------------------------------------------------------------
_ISO_TIME = r"(?:[01][0-9]|2[0-3]):[0-5][0-9](?::[0-5][0-9](?:\.[0-9]{1,6})?)?"
_ZONE = r"(?:Z|[+-](?:[01][0-9]|2[0-3]):?[0-5][0-9])"
_LOCAL_TIME = r"(?:[01]?[0-9]|2[0-3]):[0-5][0-9](?::[0-5][0-9])?"
_TIME_PART = {style: f" {_LOCAL_TIME}" for style in DateStyle} | {
    DateStyle.ISO: f"[T ]{_ISO_TIME}{_ZONE}?"
}
TIMESTAMPS = {style: DATES[style] + _TIME_PART[style] for style in DateStyle}
# What the warehouse stores: UTC, space separator, seconds, and a fraction of up to 6 digits
# without trailing zeros (none for whole seconds): how PostgreSQL timestamps are read back.
TIMESTAMP_CANONICAL = (
    DATES[DateStyle.ISO] + r" (?:[01][0-9]|2[0-3]):[0-5][0-9]:[0-5][0-9](?:\.[0-9]{0,5}[1-9])?"
)
# ISO timestamps that become canonical by text substitution alone ('T' -> ' ', drop 'Z').
TIMESTAMP_SUBSTITUTABLE = (
    DATES[DateStyle.ISO] + r"[T ](?:[01][0-9]|2[0-3]):[0-5][0-9]:[0-5][0-9](?:\.[0-9]{1,6})?Z?"
)


def accepted(kind: Kind) -> str:
    """The grammar of values a column of `kind` accepts: its own and the narrower ones."""
    if kind.type is ColumnType.INTEGER:
        return INTEGER
    if kind.type is ColumnType.DECIMAL:
        return DECIMAL  # integers are decimals written without a point
    if kind.type is ColumnType.BOOLEAN:
        return BOOLEAN
    assert kind.style is not None, kind
    if kind.type is ColumnType.DATE:
        return DATES[kind.style]
    return DATES[kind.style] + f"(?:{_TIME_PART[kind.style]})?"  # dates are midnight


def column_pattern(value: str, *, lenient: bool) -> re.Pattern[str]:
    """Matches a whole column joined with '\\n' when every line is empty or a `value`.

    The repetition is possessive: a line that matched is never revisited, so a match is one
    pass, and a failed one too. (Backtracking stays possible inside a line, where grammars
    like the day in '2020/3/29' need it.) The lenient form also accepts surrounding whitespace
    and whitespace-only cells (nulls).
    """
    line = f"(?:{value})?"
    if lenient:
        line = rf"[^\S\n]*+{line}[^\S\n]*+"
    return re.compile(rf"(?:{line}\n)*+{line}")


def column_fits(kind: Kind) -> Callable[[str], bool]:
    """Whether a whole column joined with '\\n' fits `kind`'s strict grammar: what
    `column_pattern(accepted(kind), lenient=False).fullmatch` tells. Integers and decimals are
    checked by the C splitter when csvhub was built with it: the regex costs 2-4 ms a
    20,000-row batch column, a fifth of an ingestion's type inference, the C pass a tenth."""
    pattern = column_pattern(accepted(kind), lenient=False)
    decimal = _NUMBER_TYPES.get(kind.type)
    numbers_fit = _numbers_fit()
    if numbers_fit is None or decimal is None:
        return lambda joined: pattern.fullmatch(joined) is not None
    return lambda joined: numbers_fit(joined, decimal)


_NUMBER_TYPES = {ColumnType.INTEGER: False, ColumnType.DECIMAL: True}  # decimal or not


def _numbers_fit() -> Callable[[str, bool], bool] | None:
    try:
        from csvhub.csvread._splitter import numbers_fit
    except ImportError:
        return None
    return numbers_fit


# --- one value at a time --------------------------------------------------------------------
_SINGLE_KINDS = [Kind(ColumnType.INTEGER), Kind(ColumnType.DECIMAL), Kind(ColumnType.BOOLEAN)]
for _style in DateStyle:
    _SINGLE_KINDS += [Kind(ColumnType.DATE, _style), Kind(ColumnType.TIMESTAMP, _style)]
_GROUP_KINDS = {f"k{i}": kind for i, kind in enumerate(_SINGLE_KINDS)}


def _single(kind: Kind) -> str:
    """The grammar of exactly `kind` (unlike `accepted`, a timestamp excludes dates)."""
    if kind.type is ColumnType.TIMESTAMP:
        assert kind.style is not None
        return TIMESTAMPS[kind.style]
    return accepted(kind)


# One alternation with a named group per kind: a single regex call classifies a value.
_CLASSIFY = re.compile("|".join(f"(?P<{name}>{_single(k)})" for name, k in _GROUP_KINDS.items()))


def classify(value: str) -> Kind | None:
    """The narrowest kind of one cell; None for an empty or whitespace-only cell."""
    value = value.strip()
    if not value:
        return None
    match = _CLASSIFY.fullmatch(value)
    if match is None:
        return TEXT
    kind = _GROUP_KINDS[match.lastgroup or ""]
    if kind.type is ColumnType.INTEGER and len(value) > 18 and not fits_int64(value):
        return Kind(ColumnType.DECIMAL)
    return kind


def fits_int64(value: str) -> bool:
    return INT64_MIN <= int(value) <= INT64_MAX


# --- canonical text -------------------------------------------------------------------------
_NUMBERS = re.compile(r"[0-9]+")
_ISO_PARTS = re.compile(
    r"([0-9]{4}-[0-9]{2}-[0-9]{2})(?:[T ]([0-9]{2}):([0-9]{2})(?::([0-9]{2})(?:\.([0-9]+))?)?"
    r"(Z|([+-])([0-9]{2}):?([0-9]{2}))?)?"
)
_DATE_MATCHERS = {style: re.compile(DATES[style]) for style in DateStyle}
_TIMESTAMP_MATCHERS = {style: re.compile(TIMESTAMPS[style]) for style in DateStyle}


def _date_numbers(style: DateStyle, text: str) -> tuple[int, int, int]:
    """Year, month, day of a date already matched in `style`."""
    a, b, c = (int(n) for n in _NUMBERS.findall(text))
    if style is DateStyle.US:
        return c, a, b
    if style is DateStyle.EU:
        return c, b, a
    return a, b, c


def canonical_date(value: str) -> str:
    """'YYYY-MM-DD' for a date in any accepted style; ValueError for anything else."""
    value = value.strip()
    for style, matcher in _DATE_MATCHERS.items():
        if matcher.fullmatch(value):
            year, month, day = _date_numbers(style, value)
            return f"{year:04d}-{month:02d}-{day:02d}"
    raise ValueError(f"{value!r} is not a date csvhub reads")


def canonical_timestamp(value: str) -> str:
    """'YYYY-MM-DD HH:MM:SS[.f]' in UTC for a date or timestamp in any accepted style.

    Offsets are applied; naive values are taken as UTC; a date is midnight; the fraction
    loses its trailing zeros. The text sorts chronologically.
    """
    value = value.strip()
    if _DATE_MATCHERS[DateStyle.ISO].fullmatch(value):
        return value + " 00:00:00"
    if _TIMESTAMP_MATCHERS[DateStyle.ISO].fullmatch(value):
        return _canonical_iso(value)
    for style in (DateStyle.YMD, DateStyle.US, DateStyle.EU):
        if _DATE_MATCHERS[style].fullmatch(value) or _TIMESTAMP_MATCHERS[style].fullmatch(value):
            date_text, _, time_text = value.partition(" ")
            year, month, day = _date_numbers(style, date_text)
            hour, minute, second = ([int(n) for n in time_text.split(":") if n] + [0, 0, 0])[:3]
            return f"{year:04d}-{month:02d}-{day:02d} {hour:02d}:{minute:02d}:{second:02d}"
    raise ValueError(f"{value!r} is not a date or timestamp csvhub reads")


_FRACTION_ZEROS = re.compile(r"(?:\.0+|(\.[0-9]*[1-9])0+)(?=\n|$)")


def trim_fractions(timestamps: str) -> str:
    """Drop trailing fraction zeros from canonical timestamps (one, or joined with '\\n')."""
    return _FRACTION_ZEROS.sub(r"\1", timestamps) if "." in timestamps else timestamps


def _canonical_iso(value: str) -> str:
    match = _ISO_PARTS.fullmatch(value)
    assert match is not None, value
    day, hour, minute, second, fraction, zone, sign, zone_h, zone_m = match.groups()
    fraction = trim_fractions(f".{fraction}") if fraction else ""
    if not zone or zone == "Z":
        return f"{day} {hour}:{minute}:{second or '00'}{fraction}"
    local = datetime.fromisoformat(f"{day}T{hour}:{minute}:{second or '00'}")
    offset = timedelta(hours=int(zone_h), minutes=int(zone_m))
    try:
        utc = local - offset if sign == "+" else local + offset
    except OverflowError:
        raise ValueError(f"{value!r} is outside the years 1 to 9999 in UTC") from None
    return f"{utc.year:04d}-{utc:%m-%d %H:%M:%S}{fraction}"


# --- spellings reading rules turn into the grammars above -------------------------------------
# (csvread.rules: a decimal comma, thousands separators, day-first dates with slashes). Each
# rewrite gives text of a grammar above, or the cell unchanged when the result would not be one,
# so inference and conversion stay the one place that decides types.
DECIMAL_SEPARATORS = (".", ",")
THOUSANDS_SEPARATORS = ("", ",", ".", " ", "'")
_NUMBER_KINDS = (Kind(ColumnType.INTEGER), Kind(ColumnType.DECIMAL))
_DATE_KINDS = (Kind(ColumnType.DATE, DateStyle.ISO), Kind(ColumnType.TIMESTAMP, DateStyle.ISO))


def number_spelling(decimal: str, thousands: str) -> re.Pattern[str]:
    """A number written with `decimal` before its fraction and `thousands` between groups of
    three digits (groups are optional: `1234,5` and `1.234,5` both read)."""
    point = re.escape(decimal)
    whole = "[0-9]+"
    if thousands:
        whole = rf"(?:[0-9]{{1,3}}(?:{re.escape(thousands)}[0-9]{{3}})+|[0-9]+)"
    return re.compile(rf"([+-]?)({whole})(?:{point}([0-9]+))?")


def number_rewrite(decimal: str, thousands: str) -> Callable[[str], str] | None:
    """The rewrite of numbers written so into csvhub's grammar (`14.816,43` → `14816.43`);
    None when they are written as csvhub reads them already."""
    if decimal not in DECIMAL_SEPARATORS or thousands not in THOUSANDS_SEPARATORS:
        raise ValueError(f"unknown separators {decimal!r}, {thousands!r}")
    if thousands == decimal:
        raise ValueError("the decimal and thousands separators must differ")
    if decimal == "." and not thousands:
        return None
    pattern = number_spelling(decimal, thousands)

    def rewrite(cell: str) -> str:
        match = pattern.fullmatch(cell.strip())
        if match is None:
            return cell
        sign, whole, fraction = match.groups()
        text = sign + (whole.replace(thousands, "") if thousands else whole)
        if fraction is not None:
            text += "." + fraction
        # '007' stays a code, as it would without the rule.
        return text if classify(text) in _NUMBER_KINDS else cell

    return rewrite


SLASH_DATE = re.compile(
    r"([0-9]{1,2})/([0-9]{1,2})/([0-9]{4})(?: ([0-9]{1,2}):([0-9]{2})(?::([0-9]{2}))?)?"
)


def day_first_date(cell: str) -> str:
    """`05/01/2024` → `2024-01-05` (a day-first date or timestamp with slashes, as ISO text);
    the cell unchanged when it is not a valid one."""
    match = SLASH_DATE.fullmatch(cell.strip())
    if match is None:
        return cell
    day, month, year, hour, minute, second = match.groups()
    text = f"{year}-{int(month):02d}-{int(day):02d}"
    if hour is not None:
        text += f" {int(hour):02d}:{minute}:{second or '00'}"
    return text if classify(text) in _DATE_KINDS else cell
