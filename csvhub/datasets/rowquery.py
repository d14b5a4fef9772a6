"""The row query grammar: query-string pairs in, a small typed RowQuery out.

Pure parsing, no SQL and no Django: column names stay as written here (csvhub.datasets.rows
matches them against the dataset's columns) and values stay text until rows.py knows each
column's type and calls `parse_value`. The grammar is documented in docs/api.md, "Querying rows":

    {column}={op}:{value}   {column}={value}   {column}__{op}={value}
    sort=col[:asc|:desc],...   limit=count | limit=offset,count   offset=n   cursor=...
    fields=a,b   format=json|csv|ndjson   count=capped|exact|none   safe=spreadsheet   q=words

Every reserved word may also be written with a leading underscore (`_sort`); column names never
start with one. A column whose name is a reserved word is filtered with the `__{op}` form
(`sort__eq=3`), which is never read as a parameter.

The operators, parameters, choices and limits are declared once in csvhub.grammar; this module
reads them (and passes on, as `X as X` imports, the ones rows and analysis use).
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Collection, Iterable
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from enum import StrEnum
from typing import Any

from csvhub.datasets.errors import DatasetError
from csvhub.grammar.filters import LISTS as LISTS
from csvhub.grammar.filters import (
    MAX_IN_VALUES,
    OPERATOR_END,
    OPERATOR_NAMES,
    OPERATOR_SUFFIX,
    Operator,
)
from csvhub.grammar.filters import NULL_TESTS as NULL_TESTS
from csvhub.grammar.filters import TEXT_MATCH as TEXT_MATCH
from csvhub.grammar.rows import COUNT_CAP as COUNT_CAP
from csvhub.grammar.rows import (
    DEFAULT_LIMIT,
    DESCENDING,
    MAX_LIMIT,
    MAX_OFFSET,
    PASSED_THROUGH,
    RESERVED,
    SEARCH,
    SORT_DIRECTION_END,
    SORT_DIRECTIONS,
    SPREADSHEET,
    CountMode,
    Format,
)
from csvhub.schema import ColumnType, values

OPERATORS = OPERATOR_NAMES  # "eq, neq, like, ...", for error messages
_INT64 = (-(2**63), 2**63 - 1)
# Decimal filter values: what ingestion accepts as a decimal cell (an exponent of at most three
# digits) and both warehouses can bind and compare (PostgreSQL NUMERIC takes 131072 digits
# before the point and 16383 after; SQLite REAL binds anything, as ±inf or 0 when out of range).
MAX_DECIMAL_EXPONENT = 999
MAX_DECIMAL_DIGITS = 1000
NUL = "\x00"
# A filter value (or one item of an in/notin list) is at most this many characters: longer
# ones would only be slow to match (SQLite refuses LIKE patterns past 50,000 bytes) or parse.
MAX_FILTER_VALUE_CHARS = 4096
# int64 has at most 19 digits: longer digit strings are refused before int() parses them.
_MAX_INTEGER_DIGITS = 19


class InvalidRowQuery(DatasetError):
    """A query the user can fix: the message names the problem and the valid choices."""

    status_code = 400


MEDIA_TYPES = {
    "application/json": Format.JSON,
    "text/csv": Format.CSV,
    "application/x-ndjson": Format.NDJSON,
    "application/jsonl": Format.NDJSON,
}


@dataclass(frozen=True)
class Filter:
    column: str  # as written: matched to a dataset column later
    op: Operator
    value: str  # raw text: typed by parse_value once the column's type is known
    implicit: bool = False  # `{column}={value}`: no operator was written


@dataclass(frozen=True)
class SortKey:
    column: str
    descending: bool = False
    written: str = ""  # the sort item as given, for error messages


@dataclass(frozen=True)
class RowQuery:
    filters: tuple[Filter, ...] = ()
    sort: tuple[SortKey, ...] = ()
    limit: int = DEFAULT_LIMIT
    offset: int = 0
    limit_given: bool = False
    cursor: str | None = None
    fields: tuple[str, ...] | None = None
    # Text every row shown contains in at least one text column (`q=`), or None.
    search: str | None = None
    format: Format = Format.JSON
    count: CountMode = CountMode.CAPPED
    spreadsheet_safe: bool = False


def reserved_word(key: str) -> str | None:
    """The reserved word a parameter name spells (`sort` or `_sort` → `sort`), else None."""
    word = key[1:] if key.startswith("_") else key
    return word if word in RESERVED else None


@dataclass(frozen=True)
class EndpointWords:
    """The words of an endpoint that also takes the rows endpoint's filters (facets, analysis),
    and its messages for a word given twice, a word of the rows endpoint's, an unknown `_`
    name: each written for the person who sent the request."""

    words: Collection[str]
    error: type[DatasetError]
    twice: Callable[[str], str]  # the word
    rows_word: Callable[[str, str], str]  # the parameter's name, its word
    unknown: Callable[[str], str]  # the parameter's name


def endpoint_params_split(
    params: Iterable[tuple[str, str]], endpoint: EndpointWords
) -> tuple[dict[str, str], list[tuple[str, str]]]:
    """The endpoint's own parameters (each also written with a leading _), and the pairs left
    for parse_row_query (filters, the search, names passed through)."""
    options: dict[str, str] = {}
    row_pairs: list[tuple[str, str]] = []
    for key, value in params:
        word = key[1:] if key.startswith("_") else key
        if word in endpoint.words:
            if word in options:
                raise endpoint.error(endpoint.twice(word))
            options[word] = value
        elif reserved_word(key) not in (None, SEARCH):
            raise endpoint.error(endpoint.rows_word(key, word))
        elif key.startswith("_") and key not in PASSED_THROUGH and reserved_word(key) is None:
            raise endpoint.error(endpoint.unknown(key))
        else:
            row_pairs.append((key, value))
    return options, row_pairs


def parse_row_query(params: Iterable[tuple[str, str]], *, accept: str = "") -> RowQuery:
    """Read the query string's (key, value) pairs; `accept` is the request's Accept header."""
    options: dict[str, str] = {}
    filters: list[Filter] = []
    for key, value in params:
        word = reserved_word(key)
        if word is not None:
            _set_option(options, word, key, value)
        elif key in PASSED_THROUGH:
            continue
        elif key.startswith("_") or not key:
            raise InvalidRowQuery(
                f"Unknown parameter {key!r}. Parameters are {', '.join(RESERVED)} (each also "
                "with a leading _); any other name filters the column of that name."
            )
        else:
            filters.append(_filter(key, value))
    limit, offset = _page(options.get("limit", ""), options.get("offset", ""))
    output = _format(options.get("format", ""), accept)
    return RowQuery(
        filters=tuple(filters),
        sort=_sort(options.get("sort", "")),
        limit=limit,
        offset=offset,
        limit_given=bool(options.get("limit")),
        cursor=options.get("cursor") or None,
        fields=_fields(options.get("fields", "")),
        search=_search(options.get(SEARCH, "")),
        format=output,
        count=_choice("count", options.get("count", ""), CountMode, CountMode.CAPPED),
        spreadsheet_safe=_safe(options.get("safe", ""), output),
    )


def _set_option(options: dict[str, str], word: str, key: str, value: str) -> None:
    if word in options:
        raise InvalidRowQuery(
            f"{word!r} is given more than once (as {word} or _{word}); give it once. To filter "
            f"a column named {word}, write {word}__eq=value."
        )
    options[word] = value


def _filter(key: str, value: str) -> Filter:
    if NUL in value:
        # No cell holds a NUL (ingestion rejects such rows; PostgreSQL text cannot store one),
        # and SQLite's LIKE would stop reading the pattern there and match every row.
        raise InvalidRowQuery(
            f"The value of filter {key!r} holds a NUL character (%00), which no cell can "
            "contain; remove it."
        )
    column, sep, suffix = key.rpartition(OPERATOR_SUFFIX)
    if sep and column and suffix in Operator.__members__.values():
        # The key names the operator, so the value is taken whole: `sort__eq=gt:3`.
        return _capped(key, Filter(column, Operator(suffix), value))
    prefix, sep, rest = value.partition(OPERATOR_END)
    if sep and prefix in Operator.__members__.values():
        return _capped(key, Filter(key, Operator(prefix), rest))
    return _capped(key, Filter(key, Operator.EQ, value, implicit=True))


def _capped(key: str, written: Filter) -> Filter:
    # in/notin lists are capped item by item (parse_list).
    if written.op not in LISTS:
        _check_value_length(key, written.value)
    return written


def _check_value_length(key: str, value: str) -> None:
    if len(value) > MAX_FILTER_VALUE_CHARS:
        raise InvalidRowQuery(
            f"The value of filter {key!r} is {len(value):,} characters long; a filter value "
            f"takes at most {MAX_FILTER_VALUE_CHARS:,}."
        )


def _sort(raw: str) -> tuple[SortKey, ...]:
    if not raw:
        return ()
    keys = []
    for item in raw.split(","):
        name, sep, direction = item.strip().rpartition(SORT_DIRECTION_END)
        if sep and direction.lower() in SORT_DIRECTIONS:
            keys.append(SortKey(name.strip(), direction.lower() == DESCENDING, item))
        else:
            keys.append(SortKey(item.strip(), False, item))
        if not keys[-1].column:
            raise InvalidRowQuery(
                f"sort={raw!r} has an empty item; write sort=col[:asc|:desc],col2[:asc|:desc]."
            )
    return tuple(keys)


def _fields(raw: str) -> tuple[str, ...] | None:
    if not raw:
        return None
    names = tuple(name.strip() for name in raw.split(","))
    if not all(names):
        raise InvalidRowQuery(f"fields={raw!r} has an empty item; write fields=col1,col2.")
    return names


def _search(raw: str) -> str | None:
    words = raw.strip()
    if not words:
        return None
    if NUL in words:
        raise InvalidRowQuery(f"{SEARCH}= holds a NUL character (%00), which no cell can contain.")
    _check_value_length(SEARCH, words)
    return words


def _page(raw_limit: str, raw_offset: str) -> tuple[int, int]:
    offset_text, sep, count_text = raw_limit.rpartition(",")
    if sep and raw_offset:
        raise InvalidRowQuery(
            f"limit={raw_limit!r} already gives an offset; drop offset={raw_offset!r} or write "
            "limit=count&offset=n."
        )
    limit = _integer("limit", count_text, DEFAULT_LIMIT, MAX_LIMIT) if count_text else DEFAULT_LIMIT
    offset = _integer("offset", offset_text if sep else raw_offset, 0, MAX_OFFSET)
    return limit, offset


_DIGITS = re.compile(r"[0-9]+")


def _integer(what: str, raw: str, default: int, maximum: int) -> int:
    raw = raw.strip()
    if not raw:
        return default
    if not _DIGITS.fullmatch(raw):
        raise InvalidRowQuery(
            f"{what}={raw!r} is not a whole number ≥ 0. Paginate with limit=count (at most "
            f"{MAX_LIMIT}), limit=offset,count, limit=count&offset=n, or the cursor of `next`."
        )
    # Digits counted before int(): Python refuses to parse more than 4300 of them.
    if len(raw.lstrip("0")) > len(str(maximum)) or int(raw) > maximum:
        hint = " Use the cursor in `next` to page on, or format=csv for every row."
        raise InvalidRowQuery(
            f"{what}={_shortened(raw)} is more than the maximum {maximum}."
            + (hint if what == "limit" else "")
        )
    return int(raw)


def _shortened(raw: str) -> str:
    return raw if len(raw) <= 40 else f"{raw[:20]}…({len(raw):,} characters)"


def _choice[E: StrEnum](what: str, raw: str, choices: type[E], default: E) -> E:
    if not raw:
        return default
    try:
        return choices(raw.lower())
    except ValueError:
        valid = ", ".join(choice.value for choice in choices)
        raise InvalidRowQuery(f"{what}={raw!r} is not one of: {valid}.") from None


def _format(raw: str, accept: str) -> Format:
    if raw:
        return _choice("format", raw, Format, Format.JSON)
    return format_from_accept(accept)


def format_from_accept(accept: str) -> Format:
    """The format the Accept header prefers among ours (JSON for */* or anything unknown)."""
    best, best_q = Format.JSON, 0.0
    for part in accept.split(","):
        media, *params = (piece.strip() for piece in part.split(";"))
        q = 1.0
        for param in params:
            name, _, number = param.partition("=")
            if name.strip() == "q":
                try:
                    q = float(number)
                except ValueError:
                    q = 0.0
        found = MEDIA_TYPES.get(media.lower())
        if found is not None and q > best_q:
            best, best_q = found, q
    return best


def _safe(raw: str, output: Format) -> bool:
    if not raw:
        return False
    if raw.lower() != SPREADSHEET:
        raise InvalidRowQuery(f"safe={raw!r} is not a choice; the only choice is safe=spreadsheet.")
    if output is not Format.CSV:
        raise InvalidRowQuery("safe=spreadsheet applies to CSV exports only; add format=csv.")
    return True


# -- values --------------------------------------------------------------------------------

_INTEGER = re.compile(r"[+-]?[0-9]+")
_DECIMAL = re.compile(r"[+-]?([0-9]+(\.[0-9]*)?|\.[0-9]+)([eE][+-]?[0-9]+)?")
_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
_TRUE = frozenset({"true", "t", "yes", "y", "1"})
_FALSE = frozenset({"false", "f", "no", "n", "0"})
_EXPECTED = {
    ColumnType.INTEGER: "a whole number such as 42",
    ColumnType.DECIMAL: (
        f"a number such as 7.25 or 1.5e-3, of at most {MAX_DECIMAL_DIGITS} digits, 0 or "
        f"between 1e-{MAX_DECIMAL_EXPONENT} and 1e{MAX_DECIMAL_EXPONENT + 1} in size"
    ),
    ColumnType.BOOLEAN: "true or false (also t/f, yes/no, 1/0)",
    ColumnType.DATE: "a date YYYY-MM-DD",
    ColumnType.TIMESTAMP: (
        "an ISO 8601 timestamp such as 2020-06-01T12:30:00Z, from year 1 to 9999 once "
        "converted to UTC"
    ),
    ColumnType.TEXT: "text",
}


def parse_value(column_type: ColumnType, raw: str, *, column: str) -> Any:
    """The typed value of `raw` for a column of `column_type`, or InvalidRowQuery saying why not.

    Returns int, Decimal, bool, date, an aware UTC datetime, or str.
    """
    value = _typed(column_type, raw)
    if value is None:
        article = "an" if column_type.value[0] in "aeiou" else "a"
        raise InvalidRowQuery(
            f"{raw!r} is not a valid value for {column!r}, {article} {column_type.value} "
            f"column: expected {_EXPECTED[column_type]}."
        )
    return value


def _typed(column_type: ColumnType, raw: str) -> Any:
    if column_type is ColumnType.TEXT:
        return raw
    if column_type is ColumnType.INTEGER:
        digits = raw.lstrip("+-").lstrip("0")
        if (
            _INTEGER.fullmatch(raw)
            and len(digits) <= _MAX_INTEGER_DIGITS
            and _INT64[0] <= int(raw) <= _INT64[1]
        ):
            return int(raw)
        return None
    if column_type is ColumnType.DECIMAL:
        return _decimal(raw)
    if column_type is ColumnType.BOOLEAN:
        return parse_flag(raw)
    if column_type is ColumnType.DATE:
        return _date(raw)
    return parse_timestamp(raw)


def _decimal(raw: str) -> Decimal | None:
    if not _DECIMAL.fullmatch(raw):
        return None
    value = Decimal(raw)
    if len(value.as_tuple().digits) > MAX_DECIMAL_DIGITS:
        return None
    if value and abs(value.adjusted()) > MAX_DECIMAL_EXPONENT:
        return None
    return value


def parse_flag(raw: str) -> bool | None:
    lowered = raw.strip().lower()
    if lowered in _TRUE:
        return True
    return False if lowered in _FALSE else None


def _date(raw: str) -> date | None:
    if not _DATE.fullmatch(raw):
        return None
    try:
        return date.fromisoformat(raw)
    except ValueError:
        return None


def parse_timestamp(raw: str) -> datetime | None:
    """An aware UTC datetime from ISO 8601 text; a value without an offset is taken as UTC."""
    if not _DATE.match(raw):
        return None
    try:
        return values.parse_timestamp(raw)
    except (ValueError, OverflowError):  # an offset that moves it past year 1 or 9999
        return None


def parse_list(raw: str, *, column: str) -> list[str]:
    """The items of an `in`/`notin` value: `a,b,c`, or a JSON array for items with commas."""
    if raw.startswith("["):
        try:
            items = json.loads(raw)
        except (ValueError, RecursionError):  # RecursionError: arrays nested thousands deep
            items = None
        if not isinstance(items, list) or not all(isinstance(i, str | int | float) for i in items):
            raise InvalidRowQuery(
                f"The list for {column!r} starts with '[' but is not a JSON array of strings or "
                'numbers, such as ["a,b","c"].'
            )
        values = [item if isinstance(item, str) else json.dumps(item) for item in items]
        if any(NUL in value for value in values):
            raise InvalidRowQuery(
                f"The list for {column!r} holds a NUL character (\\u0000), which no cell can "
                "contain; remove it."
            )
    else:
        values = raw.split(",") if raw else []
    if not values or len(values) > MAX_IN_VALUES:
        raise InvalidRowQuery(
            f"in/notin on {column!r} needs 1 to {MAX_IN_VALUES} values, comma-separated "
            '(a,b,c) or as a JSON array (["a,b","c"]).'
        )
    for value in values:
        _check_value_length(column, value)
    return values
