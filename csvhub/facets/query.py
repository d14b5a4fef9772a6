"""Reading a facets request's query string (pure, no database)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from csvhub.datasets.errors import DatasetError
from csvhub.datasets.rowquery import EndpointWords, Filter, endpoint_params_split, parse_row_query
from csvhub.grammar.facets import DEFAULT_FACET_SIZE, MAX_FACET_COLUMNS, MAX_FACET_SIZE, WORDS
from csvhub.grammar.rows import SEARCH


class InvalidFacets(DatasetError):
    """A facets request the user can fix; the message says how."""

    status_code = 400


@dataclass(frozen=True)
class FacetQuery:
    columns: tuple[str, ...]
    size: int = DEFAULT_FACET_SIZE
    filters: tuple[Filter, ...] = ()
    search: str | None = None


_FACET_WORDS = EndpointWords(
    words=WORDS,
    error=InvalidFacets,
    twice=lambda word: f"{word} is given more than once; give it once.",
    rows_word=lambda key, word: (
        f"{key} is a parameter of the rows endpoint, not of facets, which takes "
        f"{', '.join(WORDS)}, {SEARCH} and filters. To filter a column named {word}, "
        f"write {word}__eq=value."
    ),
    unknown=lambda key: (
        f"Unknown parameter {key!r}. Facets take {', '.join(WORDS)}, {SEARCH} and "
        "filters (any other name filters the column of that name)."
    ),
)


def parse_facet_query(params: Iterable[tuple[str, str]]) -> FacetQuery:
    """`columns`, `size`, `q` and filters (each parameter word also with a leading _)."""
    options, row_pairs = endpoint_params_split(params, _FACET_WORDS)
    rows = parse_row_query(row_pairs)
    return FacetQuery(
        columns=_columns(options.get("columns", "")),
        size=_size(options.get("size", "")),
        filters=rows.filters,
        search=rows.search,
    )


def _columns(raw: str) -> tuple[str, ...]:
    names = tuple(name.strip() for name in raw.split(",")) if raw.strip() else ()
    if not names:
        raise InvalidFacets("Say which columns to count with columns=col1,col2.")
    if not all(names):
        raise InvalidFacets(f"columns={raw!r} has an empty item; write columns=col1,col2.")
    if len(names) > MAX_FACET_COLUMNS:
        raise InvalidFacets(f"columns takes at most {MAX_FACET_COLUMNS} columns, not {len(names)}.")
    return names


def _size(raw: str) -> int:
    raw = raw.strip()
    if not raw:
        return DEFAULT_FACET_SIZE
    whole = raw.isascii() and raw.isdigit() and len(raw) <= 3
    if not whole or not 1 <= int(raw) <= MAX_FACET_SIZE:
        shown = raw if len(raw) <= 40 else f"{raw[:20]}…"
        raise InvalidFacets(
            f"size={shown!r} is not a whole number from 1 to {MAX_FACET_SIZE} "
            f"(default {DEFAULT_FACET_SIZE})."
        )
    return int(raw)
