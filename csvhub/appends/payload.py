"""A JSON append's body read into rows of cell text, before any column is looked at.

One object, a list of objects, or NDJSON (one object per line). Every value becomes the text a
CSV cell would hold, so that the warehouse side reads it by the CSV rules: numbers as written
in the JSON (their exact digits: `1.10` stays `1.10`), booleans `true`/`false`, null `""`
(NULL, like an empty cell), strings as they are. Objects and arrays are not cell values.

A JSON body is read by msgspec (parsing alone about three times as fast as the json module;
the whole read 1.2-1.8x on string, float and boolean columns): it keeps a number with a point
or an exponent as written (float_hook=str) and reads an integer into an int, whose text is the
same digits. Everything it cannot read that way (`-0`, an integer of more than 4,300 digits),
and every body refused, is read again by the json module, so that values and error messages
stay those of the standard parser.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from itertools import chain
from typing import Any

import msgspec

from csvhub.csvread.decoding import MARKED
from csvhub.datasets.errors import DatasetError

NDJSON_TYPES = ("application/x-ndjson", "application/jsonl", "application/jsonlines")
JSON_TYPES = ("application/json", "")  # no Content-Type: JSON


class PayloadInvalid(DatasetError):
    status_code = 400


class PayloadTooLarge(DatasetError):
    status_code = 413


class PayloadTypeUnsupported(DatasetError):
    status_code = 415


# Numbers keep their digits (float_hook), except -0, which an int has no sign for.
_DECODER = msgspec.json.Decoder(float_hook=str)
_NEGATIVE_ZERO = re.compile(r"-0(?![\d.eE])")


class Payload:
    """Rows of cell text by key as written; `keys` in the order first met.

    A batch whose rows all hold the same keys in the same order (a program's, usually) is kept
    as its `columns` (cells by key), laid out in C-speed passes; `rows` are then made only if
    asked for (an error's row number).
    """

    def __init__(
        self,
        keys: list[str],
        *,
        rows: list[dict[str, str]] | None = None,
        columns: dict[str, list[str]] | None = None,
    ) -> None:
        self.keys = keys
        self._rows = rows
        self.columns = columns

    @classmethod
    def of_rows(cls, rows: list[dict[str, str]]) -> Payload:
        return cls(list(dict.fromkeys(chain.from_iterable(rows))), rows=rows)

    @property
    def rows(self) -> list[dict[str, str]]:
        if self._rows is None:
            assert self.columns is not None
            cells = zip(*self.columns.values(), strict=True)
            self._rows = [dict(zip(self.keys, row, strict=True)) for row in cells]
        return self._rows

    @property
    def row_count(self) -> int:
        if self.columns is not None:
            return len(next(iter(self.columns.values())))
        return len(self.rows)


def payload_read(body: bytes, content_type: str, *, max_rows: int) -> Payload:
    media_type = content_type.split(";")[0].strip().lower()
    if media_type not in (*JSON_TYPES, *NDJSON_TYPES):
        raise PayloadTypeUnsupported(
            f"Content-Type {media_type!r} is not taken here: send application/json (one object "
            "or a list of objects) or application/x-ndjson (one object per line)."
        )
    text = _text(body)
    if media_type in NDJSON_TYPES:
        rows = [_row(item, where) for where, item in _counted(_ndjson(text), max_rows)]
        payload = Payload.of_rows(rows)
    else:
        payload = _json(text, max_rows)
    if not payload.row_count:
        raise PayloadInvalid("The body holds no rows: send one object or a list of objects.")
    # NULs and surrogates can only come as escapes (JSON takes no raw NUL); a batch laid out
    # as columns is searched a column at a time, its rows made only to name the one at fault.
    if "\\u" in text and not _storable_columns(payload.columns):
        _check_storable(payload.rows)
    return payload


def _text(body: bytes) -> str:
    try:
        return body.decode("utf-8")
    except UnicodeDecodeError as error:
        raise PayloadInvalid(
            f"The body is not UTF-8 (byte {error.start}); JSON is sent as UTF-8."
        ) from None


def _loads(text: str) -> Any:
    # Numbers stay the text they were written as; NaN and Infinity are not JSON.
    try:
        return json.loads(text, parse_int=str, parse_float=str, parse_constant=_not_json)
    except RecursionError:  # "[[[[…" nested past what the parser follows: no row is that deep
        raise ValueError("it nests arrays or objects too deeply") from None


def _not_json(name: str) -> None:
    raise ValueError(f"{name} is not a JSON value; send null or a string")


def _json(text: str, max_rows: int) -> Payload:
    data = _fast_loads(text)
    if data is not None:
        try:
            return _payload(data, max_rows)
        except PayloadInvalid:
            pass  # read again below: the message is the one the json module's values give
    try:
        data = _loads(text)
    except ValueError as error:
        raise PayloadInvalid(f"The body is not valid JSON: {error}.") from None
    return _payload(data, max_rows)


def _fast_loads(text: str) -> Any:
    """The body read by msgspec; None when it is to be read by the json module."""
    # Maybe a -0 (or only a string holding one); the substring test first: memchr speed.
    if "-0" in text and _NEGATIVE_ZERO.search(text):
        return None
    try:
        return _DECODER.decode(text)
    except (msgspec.MsgspecError, RecursionError):  # malformed, too deep, > 4,300 digits
        return None


def _payload(data: Any, max_rows: int) -> Payload:
    if isinstance(data, dict):
        return Payload.of_rows([_row(data, "the object")])
    if not isinstance(data, list):
        raise PayloadInvalid("The body must be a JSON object or a list of objects.")
    if len(data) > max_rows:
        raise _too_many(max_rows)
    columns = _uniform_columns(data)
    if columns is not None:
        return Payload(list(columns), columns=columns)
    if _all_text(data):
        return Payload.of_rows(data)
    return Payload.of_rows([_row(item, f"row {position}") for position, item in enumerate(data, 1)])


def _uniform_columns(items: list[Any]) -> dict[str, list[str]] | None:
    """The cells by key when every item is an object holding the same keys in the same order
    and only scalar values; None otherwise (the rows are then read one by one)."""
    if not items or set(map(type, items)) != {dict}:
        return None
    keys = list(items[0])
    width = len(keys)
    if not width or list(chain.from_iterable(items)) != keys * len(items):
        return None  # a dict iterates its keys
    cells = list(chain.from_iterable(map(dict.values, items)))
    columns = {}
    for index, key in enumerate(keys):
        texts = _texts(cells[index::width])
        if texts is None:
            return None
        columns[key] = texts
    return columns


def _texts(values: list[Any]) -> list[str] | None:
    """A column's values as cell text; None when one is an object or an array."""
    kinds = set(map(type, values))
    if kinds <= {str}:
        return values
    if kinds <= {str, int}:  # integers read by msgspec: str() gives their digits
        return list(map(str, values))
    if kinds <= {str, int, bool, type(None)}:
        return list(map(_scalar_text, values))
    return None


def _all_text(items: list[Any]) -> bool:
    """Whether every item is an object holding only text (numbers were kept as text): the
    common case, checked by C-speed passes over the types instead of one call per row."""
    if set(map(type, items)) != {dict}:
        return False
    return set(map(type, chain.from_iterable(map(dict.values, items)))) <= {str}


def _ndjson(text: str) -> Iterator[tuple[str, Any]]:
    for number, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue  # blank lines, such as a trailing one, are no rows
        try:
            yield f"line {number}", _loads(line)
        except ValueError as error:
            raise PayloadInvalid(f"Line {number} is not valid JSON: {error}.") from None


def _counted(objects: Iterator[tuple[str, Any]], max_rows: int) -> Iterator[tuple[str, Any]]:
    for count, item in enumerate(objects, 1):
        if count > max_rows:
            raise _too_many(max_rows)
        yield item


def _too_many(max_rows: int) -> PayloadTooLarge:
    return PayloadTooLarge(
        f"More than {max_rows:,} rows in one request; nothing was appended. Send them in "
        "several requests (the limit is set by CSVHUB_APPEND_MAX_ROWS)."
    )


def _row(item: Any, where: str) -> dict[str, str]:
    if not isinstance(item, dict):
        raise PayloadInvalid(
            f"{where.capitalize()} is not a JSON object; each row is an object keyed by "
            "column names. Nothing was appended."
        )
    for value in item.values():
        if value.__class__ is not str:
            return {key: _cell(value, where, key) for key, value in item.items()}
    return item  # strings and numbers only (numbers were kept as text): as it is


def _storable_columns(columns: dict[str, list[str]] | None) -> bool:
    """Whether the columns (None: the payload has none) are known to hold no NUL or lone
    surrogate, in keys or cells; False sends the rows to _check_storable."""
    if columns is None:
        return False
    return not any(
        MARKED.search(key) or MARKED.search("\n".join(cells)) for key, cells in columns.items()
    )


def _check_storable(rows: list[dict[str, str]]) -> None:
    """No warehouse stores NUL characters or lone surrogates (a CSV row holding them is
    rejected; here the whole request is)."""
    for number, row in enumerate(rows, 1):
        for key, cell in row.items():
            found = MARKED.search(key) or MARKED.search(cell)
            if found is None:
                continue
            what = "a NUL character" if found.group() == "\x00" else "a lone surrogate"
            raise PayloadInvalid(
                f"Row {number}, {key!r}: holds {what}, which cannot be stored. Nothing was "
                "appended."
            )


def _scalar_text(value: str | int | bool | None) -> str:
    if isinstance(value, str):  # numbers too, but integers msgspec read
        return value
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _cell(value: Any, where: str, key: str) -> str:
    if isinstance(value, str | int | bool) or value is None:
        return _scalar_text(value)
    kind = "an object" if isinstance(value, dict) else "an array"
    raise PayloadInvalid(
        f"{where.capitalize()}, {key!r}: {kind} is not a cell value; send a string, number, "
        "boolean or null. Nothing was appended."
    )
