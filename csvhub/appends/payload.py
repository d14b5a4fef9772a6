"""A JSON append's body read into rows of cell text, before any column is looked at.

One object, a list of objects, or NDJSON (one object per line). Every value becomes the text a
CSV cell would hold, so that the warehouse side reads it by the CSV rules: numbers as written
in the JSON (their exact digits: `1.10` stays `1.10`), booleans `true`/`false`, null `""`
(NULL, like an empty cell), strings as they are. Objects and arrays are not cell values.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from itertools import chain
from typing import Any

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


@dataclass(frozen=True, slots=True)
class Payload:
    """Rows as {key as written: cell text}; `keys` in the order first met."""

    rows: list[dict[str, str]]
    keys: list[str]


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
    else:
        rows = _json(text, max_rows)
    if not rows:
        raise PayloadInvalid("The body holds no rows: send one object or a list of objects.")
    if "\\u" in text:  # NULs and surrogates can only come as escapes: JSON takes no raw NUL
        _check_storable(rows)
    keys = list(dict.fromkeys(chain.from_iterable(rows)))  # a dict iterates its keys
    return Payload(rows, keys)


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


def _json(text: str, max_rows: int) -> list[dict[str, str]]:
    try:
        data = _loads(text)
    except ValueError as error:
        raise PayloadInvalid(f"The body is not valid JSON: {error}.") from None
    if isinstance(data, dict):
        return [_row(data, "the object")]
    if not isinstance(data, list):
        raise PayloadInvalid("The body must be a JSON object or a list of objects.")
    if len(data) > max_rows:
        raise _too_many(max_rows)
    if _all_text(data):
        return data
    return [_row(item, f"row {position}") for position, item in enumerate(data, 1)]


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


def _cell(value: Any, where: str, key: str) -> str:
    if isinstance(value, str):  # numbers too: parse_int/parse_float kept them as text
        return value
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    kind = "an object" if isinstance(value, dict) else "an array"
    raise PayloadInvalid(
        f"{where.capitalize()}, {key!r}: {kind} is not a cell value; send a string, number, "
        "boolean or null. Nothing was appended."
    )
