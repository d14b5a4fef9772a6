"""The facets endpoint's grammar (`GET /api/v1/datasets/{slug}/facets/`): which columns, how
many values each. Any other parameter filters rows with the rows endpoint's filter grammar
(csvhub.grammar.filters), and `q=` searches the text columns, as on the rows endpoint."""

from __future__ import annotations

from csvhub.grammar.terms import Parameter, ValueType

MAX_FACET_COLUMNS = 5
DEFAULT_FACET_SIZE = 10
MAX_FACET_SIZE = 50

FACET_PARAMETERS: tuple[Parameter, ...] = (
    Parameter(
        "columns",
        f"The columns to count values of, comma-separated (1 to {MAX_FACET_COLUMNS}).",
        required=True,
        example="city,status",
    ),
    Parameter(
        "size",
        f"Values per column, most frequent first, 1 to {MAX_FACET_SIZE} "
        f"(default {DEFAULT_FACET_SIZE}).",
        ValueType.WHOLE_NUMBER,
        minimum=1,
        maximum=MAX_FACET_SIZE,
    ),
)
WORDS = tuple(parameter.name for parameter in FACET_PARAMETERS)
