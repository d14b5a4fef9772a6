"""What the dataset page's explorer needs from the server besides the grammar table: the
columns that the page's own query string names, resolved by the rows API's rules.

The explorer reads filters and sort keys from the page URL, which is a rows API query. Which
column a written name means (name, then label, then either ignoring case when only one matches)
is decided here, by the code the API runs, so the page never resolves a name the API would
refuse as ambiguous, or the other way round; a name not resolved here stays as written and the
API's answer says what is wrong with it.
"""

from __future__ import annotations

from collections.abc import Iterable

from csvhub.datasets.models import Dataset
from csvhub.datasets.rowquery import InvalidRowQuery, parse_row_query
from csvhub.grammar.rows import PASSED_THROUGH
from csvhub.selection.columns import ColumnResolver


def written_columns(params: Iterable[tuple[str, str]]) -> list[str]:
    """The column names the query's filters and sort keys are written with, in order."""
    written: list[str] = []
    for key, value in params:
        if key in PASSED_THROUGH:
            continue
        try:
            query = parse_row_query([(key, value)])
        except InvalidRowQuery:
            continue  # the page sends it on, and shows the API's message
        written += [item.column for item in query.filters]
        written += [item.column for item in query.sort]
    return written


def column_spellings(dataset: Dataset, params: Iterable[tuple[str, str]]) -> dict[str, str]:
    """{written: column name} for the names of the query that name exactly one column."""
    columns = ColumnResolver(dataset.schema)
    spellings: dict[str, str] = {}
    for written in written_columns(params):
        try:
            column = columns.find(written)
        except InvalidRowQuery:  # several columns match: the API answers 400, and so will the page
            continue
        if column is not None:
            spellings[written] = column.name
    return spellings
