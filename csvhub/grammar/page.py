"""The grammar as the dataset page's script receives it (through `json_script`): the page builds
its operator menus and reads and writes query strings from this, never from its own copy."""

from __future__ import annotations

from typing import Any

from csvhub.grammar.analysis import METRIC_FUNCTIONS, TIME_BUCKETS, WORDS
from csvhub.grammar.facets import WORDS as FACET_WORDS
from csvhub.grammar.filters import FILTER_OPERATORS, OPERATOR_END, OPERATOR_SUFFIX
from csvhub.grammar.rows import (
    DEFAULT_LIMIT,
    DESCENDING,
    MAX_OFFSET,
    PASSED_THROUGH,
    RESERVED,
    SEARCH,
    SORT_DIRECTION_END,
    SORT_DIRECTIONS,
)


def page_table() -> dict[str, Any]:
    """JSON-ready: operators with their menu words, descriptions, value forms and column types;
    the parameter names a filter must not be confused with; the metrics and time buckets."""
    return {
        "operators": [
            {
                "name": operator.name.value,
                "words": operator.words,
                "description": operator.description,
                "value": operator.value.value,
                "on_text": operator.on_text,
                "column_types": [kind.value for kind in operator.column_types],
            }
            for operator in FILTER_OPERATORS
        ],
        "operator_suffix": OPERATOR_SUFFIX,
        "operator_end": OPERATOR_END,
        "reserved": list(RESERVED),
        "passed_through": list(PASSED_THROUGH),
        "analysis_words": list(WORDS),
        "facet_words": list(FACET_WORDS),
        "sort_directions": list(SORT_DIRECTIONS),
        "sort_direction_end": SORT_DIRECTION_END,
        "descending": DESCENDING,
        "default_limit": DEFAULT_LIMIT,
        "search": SEARCH,
        # The page jumps by offset up to here (Last page, Go to row), by cursor beyond.
        "max_offset": MAX_OFFSET,
        "metrics": [
            {
                "name": function.name.value,
                "words": function.words,
                "column_types": [kind.value for kind in function.column_types],
            }
            for function in METRIC_FUNCTIONS
        ],
        "buckets": [
            {
                "name": bucket.name.value,
                "seconds": bucket.seconds,
                "column_types": [kind.value for kind in bucket.column_types],
            }
            for bucket in TIME_BUCKETS
        ],
    }
