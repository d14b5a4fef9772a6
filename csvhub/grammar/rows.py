"""The rows endpoint's parameters (`GET /api/v1/datasets/{slug}/rows/`). Any other name
filters the column of that name (csvhub.grammar.filters)."""

from __future__ import annotations

from enum import StrEnum

from csvhub.grammar.terms import Choice, Parameter, ValueType, choices_of

DEFAULT_LIMIT = 100
MAX_LIMIT = 1000
MAX_OFFSET = 10**12
# A filtered count stops here and says so ("count_capped"): counting millions of matches
# costs a scan, and most clients only need "more than a screenful".
COUNT_CAP = 10_000
# `sort=col:desc`: a direction follows the last colon of a sort key.
SORT_DIRECTION_END = ":"
DESCENDING = "desc"
SORT_DIRECTIONS = ("asc", DESCENDING)
SPREADSHEET = "spreadsheet"
# `q=words`: the rows where any text column contains the words (a search box's parameter).
SEARCH = "q"
# Read by csvhub.accounts.access to choose the organization; never a filter.
PASSED_THROUGH = ("org",)


class Format(StrEnum):
    JSON = "json"
    CSV = "csv"
    NDJSON = "ndjson"


class CountMode(StrEnum):
    CAPPED = "capped"
    EXACT = "exact"
    NONE = "none"


ROW_PARAMETERS: tuple[Parameter, ...] = (
    Parameter(
        "sort",
        "`col[:asc|:desc],col2...`, any number of columns (by name or label); empty cells sort "
        "last. Default: upload order.",
        example="name:desc,Sex:asc",
    ),
    Parameter(
        "limit",
        f"Rows per page, at most {MAX_LIMIT}; default {DEFAULT_LIMIT}. Ignored by exports, "
        "which return every matching row. `limit=offset,count` (`limit=20,10`) is accepted as "
        "a shorthand for `limit=count&offset=offset`, without `offset`.",
        ValueType.WHOLE_NUMBER,
        minimum=0,
        maximum=MAX_LIMIT,
        example=2,
    ),
    Parameter(
        "offset",
        "Rows to skip. Deep offsets are slow: prefer `next`.",
        ValueType.WHOLE_NUMBER,
        minimum=0,
        maximum=MAX_OFFSET,
    ),
    Parameter("fields", "Columns to return, comma-separated: `name,fare` (default: all)."),
    Parameter("cursor", "From `next`/`previous`; needs the same filters and sort."),
    Parameter(
        "format",
        "The answer's form; also chosen by `Accept: text/csv` or `application/x-ndjson`.",
        ValueType.CHOICE,
        choices_of(
            Format,
            {
                "json": "a page (default)",
                "csv": "every matching row, streamed as CSV",
                "ndjson": "every matching row, streamed as one JSON object per line",
            },
        ),
    ),
    Parameter(
        "count",
        "How `count` is counted.",
        ValueType.CHOICE,
        choices_of(
            CountMode,
            {
                "capped": f"exact up to {COUNT_CAP:,}, then `count_capped` (default)",
                "exact": "always exact (a scan of the matches)",
                "none": "skip counting: `count` is null",
            },
        ),
    ),
    Parameter(
        "safe",
        "CSV only. Off by default: exports are exact.",
        ValueType.CHOICE,
        (
            Choice(
                SPREADSHEET,
                "prefix text cells starting with = + - @ (or tab, CR) with a single quote so "
                "spreadsheets do not run them",
            ),
        ),
    ),
    Parameter(
        SEARCH,
        "Search: only rows where at least one text column contains this, ignoring case; `%` "
        "and `_` match themselves. Combines with the filters (all must match).",
        example="braund",
    ),
)
RESERVED = tuple(parameter.name for parameter in ROW_PARAMETERS)
