"""Ingestion errors reworded for people who do not read stack traces.

The pipeline's messages are written for API clients and name settings and internals; the pages
show these instead. A message that matches none of the known shapes is shown as it is.
"""

from __future__ import annotations

import re
from collections.abc import Callable

_HEADER = re.compile(r"^The file's header does not match the dataset's columns \((?P<parts>.*)\)\.")
_BAD_ROWS = re.compile(
    r"^(?P<bad>[\d,]+) of (?P<total>[\d,]+) rows could not be read \((?P<share>[\d.]+%), more "
    r"than the (?P<limit>[\d.]+%) allowed\).*?First problem: (?P<first>.*?)\. See the rejected"
)
_INTERNAL = re.compile(r"internal error", re.IGNORECASE)
_TOO_MANY_TRIES = re.compile(r"stopped without finishing too many times", re.IGNORECASE)


def _header_text(match: re.Match[str]) -> str:
    found = dict(part.split(": ", 1) for part in match["parts"].split("; ") if ": " in part)
    sentences = ["This file's columns are not the same as the dataset's, so nothing was added."]
    if found.get("missing columns"):
        sentences.append(f"Missing from the file: {found['missing columns']}.")
    if found.get("unexpected columns"):
        sentences.append(f"In the file but not in the dataset: {found['unexpected columns']}.")
    sentences.append(
        "To add rows to a dataset the file needs the same column names, in any order; "
        "or upload it as a new dataset instead."
    )
    return " ".join(sentences)


def _bad_rows_text(match: re.Match[str]) -> str:
    return (
        f"Too many rows of this file are broken: {match['bad']} of {match['total']} "
        f"({match['share']}) could not be read, and at most {match['limit']} may be. Nothing "
        f"was loaded. The first broken row is {match['first']}. Fix the file and upload it "
        "again; the list of rejected rows shows every problem."
    )


def _internal_text(match: re.Match[str]) -> str:
    return (
        "Something went wrong on our side while loading this file. Upload it again in a few "
        "minutes; if it keeps failing, tell your administrator."
    )


def _retry_text(match: re.Match[str]) -> str:
    return (
        "Loading this file was interrupted several times (the server restarted). Upload it "
        "again; if it keeps failing, tell your administrator."
    )


_WORDINGS: list[tuple[re.Pattern[str], Callable[[re.Match[str]], str]]] = [
    (_HEADER, _header_text),
    (_BAD_ROWS, _bad_rows_text),
    (_INTERNAL, _internal_text),
    (_TOO_MANY_TRIES, _retry_text),
]


def ingest_error_text(message: str) -> str:
    """The failed upload's error, said plainly."""
    for pattern, wording in _WORDINGS:
        match = pattern.search(message)
        if match:
            return wording(match)
    return message
