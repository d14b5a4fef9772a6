"""Which rows an edit selects: the rows query grammar's filters and search (csvhub.grammar,
parsed by datasets.rowquery and matched by csvhub.selection, as GET …/rows/ reads them), or the
rows one upload added."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl, urlencode

from csvhub.datasets.models import Dataset
from csvhub.datasets.rowquery import Filter, RowQuery, parse_row_query, reserved_word
from csvhub.edits.errors import EditInvalid
from csvhub.grammar.filters import Operator
from csvhub.grammar.rows import SEARCH
from csvhub.selection.plan import query_plan
from csvhub.warehouse.query import RowSet

# Query parameters of the edit endpoints themselves, not filters.
EDIT_PARAMETERS = ("preview", "expected_count", "force")


@dataclass(frozen=True)
class Selection:
    filters: tuple[Filter, ...] = ()
    search: str | None = None
    row_ids: tuple[int, int] | None = None  # an upload's rows (a take-back)

    def row_set(self, dataset: Dataset) -> RowSet:
        """The rows as the rows endpoint reads them: names matched, values typed (a 400
        naming the problem otherwise)."""
        return query_plan(dataset, RowQuery(filters=self.filters, search=self.search)).rows

    @property
    def query(self) -> str:
        """The selection as a rows query string (the explorer's URL form)."""
        pairs = [
            (f.column, f.value if f.implicit else f"{f.op.value}:{f.value}") for f in self.filters
        ]
        if self.search is not None:
            pairs.append((SEARCH, self.search))
        return urlencode(pairs)

    def to_json(self) -> dict[str, Any]:
        return {
            "query": self.query,
            "filters": [[f.column, f.op.value, f.value, f.implicit] for f in self.filters],
            "search": self.search,
            "row_ids": list(self.row_ids) if self.row_ids else None,
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Selection:
        row_ids = data.get("row_ids")
        return cls(
            filters=tuple(
                Filter(column, Operator(op), value, bool(implicit))
                for column, op, value, implicit in data.get("filters", ())
            ),
            search=data.get("search"),
            row_ids=(int(row_ids[0]), int(row_ids[1])) if row_ids else None,
        )


def selection_parse(*, params: Iterable[tuple[str, str]], body_filter: object = None) -> Selection:
    """The selection from the query string and the body's `filter` (a rows query string, or
    an object of parameter → value or list of values); both may be given and add up."""
    pairs = [(key, value) for key, value in params if key not in EDIT_PARAMETERS]
    pairs += _body_pairs(body_filter)
    for key, _ in pairs:
        word = reserved_word(key)
        if word is not None and word != SEARCH:
            raise EditInvalid(
                f"{key!r} does not select rows: an edit takes filters and {SEARCH}= only "
                "(it applies to every matching row, never a page of them)."
            )
    query = parse_row_query(pairs)
    return Selection(filters=query.filters, search=query.search)


def _body_pairs(body_filter: object) -> list[tuple[str, str]]:
    if body_filter is None or body_filter == "":
        return []
    if isinstance(body_filter, str):
        return parse_qsl(body_filter.lstrip("?"), keep_blank_values=True)
    if isinstance(body_filter, Mapping):
        pairs: list[tuple[str, str]] = []
        for key, value in body_filter.items():
            items = value if isinstance(value, list) else [value]
            pairs += [(str(key), _filter_text(item)) for item in items]
        return pairs
    raise EditInvalid(
        "filter is a rows query string (price=gt:10&city=Paris) or an object "
        '({"price": "gt:10", "city": "Paris"}).'
    )


def _filter_text(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if value is None:
        return ""
    if isinstance(value, (str, int, float)):
        return str(value)
    raise EditInvalid(f"A filter value is text, a number or true/false, not {value!r}.")
