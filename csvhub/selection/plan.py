"""A parsed RowQuery as the warehouse's RowSet: column names matched, values typed, caps kept.

The rows endpoint pages and exports a plan; analysis reads `plan.rows` (its filters alone), so
`analysis/?Fare=gt:7` and `rows/?Fare=gt:7` see the same rows and word errors alike.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from django.conf import settings

from csvhub.datasets.errors import QueryTooSlow
from csvhub.datasets.models import Dataset
from csvhub.datasets.rowquery import (
    LISTS,
    NULL_TESTS,
    OPERATORS,
    TEXT_MATCH,
    Filter,
    InvalidRowQuery,
    RowQuery,
    SortKey,
    parse_flag,
    parse_list,
    parse_value,
)
from csvhub.grammar.filters import Operator
from csvhub.schema import Column
from csvhub.selection.columns import ColumnResolver
from csvhub.warehouse.engine import QueryTimeout
from csvhub.warehouse.query import Condition, Order, RowSet

_OPERATOR_LIKE = re.compile(r"([A-Za-z_]+):")


@dataclass(frozen=True)
class Plan:
    rows: RowSet
    output: list[Column]  # the dataset's columns, in the order rows are returned
    fingerprint: str  # of filters and sort: a cursor only works with the query that made it

    @property
    def names(self) -> list[str]:
        return [column.name for column in self.output]


@contextlib.contextmanager
def query_time_limit() -> Iterator[None]:
    """The warehouse stopping a read at its time limit, as a 503 that says what to change."""
    try:
        yield
    except QueryTimeout as stopped:
        raise QueryTooSlow(
            f"This query ran longer than the limit of {stopped.seconds:g} seconds and was "
            "stopped. Use fewer or more selective filters, count=capped or count=none instead "
            "of count=exact, or index the columns you filter and sort on."
        ) from None


def query_plan(dataset: Dataset, query: RowQuery) -> Plan:
    _check_caps(query)
    schema = dataset.schema
    columns = ColumnResolver(schema)
    conditions = tuple(_condition(columns, written) for written in query.filters)
    order = _order(columns, query.sort)
    rows = RowSet(dataset.table_name, schema.columns, conditions, order, search=query.search)
    fingerprint = _fingerprint(dataset, conditions, order, query.search)
    return Plan(rows, _output(columns, query.fields), fingerprint)


def filtered_rows(dataset: Dataset, filters: Sequence[Filter], search: str | None = None) -> RowSet:
    """The rows the filters (and the search, `q=`) select, read exactly as the rows endpoint
    reads them."""
    return query_plan(dataset, RowQuery(filters=tuple(filters), search=search)).rows


def _check_caps(query: RowQuery) -> None:
    # Each filter and sort key adds work for every row scanned: a few hundred LIKEs on one
    # request kept a warehouse busy for minutes.
    if len(query.filters) > settings.CSVHUB_MAX_FILTERS:
        raise InvalidRowQuery(
            f"{len(query.filters)} filters given; a request takes at most "
            f"{settings.CSVHUB_MAX_FILTERS} (CSVHUB_MAX_FILTERS). Combine values with in:a,b,c."
        )
    if len(query.sort) > settings.CSVHUB_MAX_SORT_KEYS:
        raise InvalidRowQuery(
            f"sort names {len(query.sort)} columns; it takes at most "
            f"{settings.CSVHUB_MAX_SORT_KEYS} (CSVHUB_MAX_SORT_KEYS)."
        )


def _output(columns: ColumnResolver, fields: tuple[str, ...] | None) -> list[Column]:
    if fields is None:
        return list(columns.schema)
    chosen: dict[str, Column] = {}
    for written in fields:
        column = columns.get(written, role="fields")
        chosen.setdefault(column.name, column)
    return list(chosen.values())


def _order(columns: ColumnResolver, sort: tuple[SortKey, ...]) -> tuple[Order[str], ...]:
    order: list[Order[str]] = []
    for key in sort:
        column = columns.find(key.column)
        if column is None:
            hint = (
                " Sort directions are asc and desc (sort=col:desc)." if ":" in key.written else ""
            )
            raise columns.unknown(key.column, role="sort", hint=hint)
        if any(o.key == column.name for o in order):
            raise InvalidRowQuery(f"sort names {column.name!r} twice; name each column once.")
        order.append(Order(column.name, key.descending))
    return tuple(order)


def _condition(columns: ColumnResolver, written: Filter) -> Condition:
    column = _filter_column(columns, written)
    name, op, raw = column.name, written.op, written.value
    if op in NULL_TESTS:
        flag = parse_flag(raw) if raw else True
        if flag is None:
            raise InvalidRowQuery(f"{op}: on {name!r} takes no value (or true/false), not {raw!r}.")
        return Condition(
            name, Operator.ISNULL if (op is Operator.ISNULL) == flag else Operator.NOTNULL
        )
    if op in (Operator.EQ, Operator.NEQ) and raw == "":
        # Empty cells are stored as NULL: `col=` asks for the empty ones.
        return Condition(name, Operator.ISNULL if op is Operator.EQ else Operator.NOTNULL)
    if op in TEXT_MATCH:
        return Condition(name, op, raw)
    if op in LISTS:
        items = parse_list(raw, column=name)
        return Condition(name, op, tuple(_typed(column, i, written) for i in items))
    return Condition(name, op, _typed(column, raw, written))


def _filter_column(columns: ColumnResolver, written: Filter) -> Column:
    column = columns.find(written.column)
    if column is not None:
        return column
    prefix, sep, suffix = written.column.rpartition("__")
    if sep and columns.find(prefix) is not None:
        raise InvalidRowQuery(
            f"Unknown operator {suffix!r} in {written.column!r}. Operators are: {OPERATORS}."
        )
    raise columns.unknown(written.column, role="filter")


def _typed(column: Column, raw: str, written: Filter) -> Any:
    try:
        return parse_value(column.type, raw, column=column.name)
    except InvalidRowQuery:
        looks_like_operator = _OPERATOR_LIKE.match(raw)
        if written.implicit and looks_like_operator:
            raise InvalidRowQuery(
                f"Unknown operator {looks_like_operator.group(1)!r} in "
                f"{written.column}={raw}. Operators are: {OPERATORS}."
            ) from None
        raise


def _fingerprint(
    dataset: Dataset,
    conditions: tuple[Condition, ...],
    order: tuple[Order[str], ...],
    search: str | None = None,
) -> str:
    """What a cursor is tied to: the filters, the search (`q=`) and the sort."""
    where = sorted(json.dumps([c.column, c.op, c.value], default=str) for c in conditions)
    spec = {
        "dataset": dataset.id.hex,
        "where": where,
        "search": search,
        "order": [[o.key, o.descending] for o in order],
    }
    return hashlib.sha256(json.dumps(spec).encode()).hexdigest()[:16]
