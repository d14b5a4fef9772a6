"""Pages run on the driver's cursor (csvhub.warehouse.query.DirectRead) answer exactly what
SQLAlchemy's execution answers, on every warehouse, for filters of every type and cursors; and
an engine with statement events still sees every page statement."""

# Fixtures are imported from rows_fixtures and named again as test parameters.
# ruff: noqa: F811

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qsl

import pytest
from rest_framework.test import APIClient

from csvhub.datasets.models import Dataset
from csvhub.datasets.rowquery import parse_row_query
from csvhub.selection.plan import query_plan
from csvhub.warehouse.dialects import dialect_of
from csvhub.warehouse.engine import get_engine
from csvhub.warehouse.query import PageShape, page_plan
from tests.datasets.rows_fixtures import (  # noqa: F401  (fixtures)
    api,
    org,
    q,
    rows_json,
    typed,
)
from tests.warehouse.statements import warehouse_statements

pytestmark = pytest.mark.django_db(transaction=True)

# Sorted by `id` (never empty) or not at all: one statement a page, run directly. Sorts on
# columns with empty cells take two statements, run through SQLAlchemy (as the last ones).
QUERIES = [
    "limit=2",
    "limit=2&sort=id:desc",
    "amount=gte:0.125&sort=id",
    "amount=in:7.25,100&sort=id:desc&limit=1",
    "active=true&limit=1",
    "day=gte:2020-06-01&sort=id:desc&limit=2",
    f"at={q('lt:2020-06-01T12:30:00.5Z')}&limit=2",
    "note=like:alpha&sort=id",
    "note=startswith:-&count=exact",
    "day=isnull:&sort=id",
    "id=notin:1,2&amount=notnull:&limit=2",
    "clock=neq:12:30&limit=1",
    "id=lte:5&limit=2&offset=1",
    "amount=gte:0.125&sort=amount&limit=2",
    "day=gte:2020-06-01&sort=day:desc,id&limit=2",
]
DIRECT = QUERIES[:-2]


def _pages(api: APIClient, dataset: Dataset, query: str) -> list[dict]:
    """Every page of the query, following `next` cursors (the cursor's values are bound at
    execution), without the cursor links themselves (they carry a timestamp)."""
    pages, page = [], rows_json(api, dataset, query)
    while True:
        pages.append({"rows": page["rows"], "count": page["count"]})
        if page["next"] is None:
            return pages
        page = api.get(page["next"]).json()


@pytest.mark.parametrize("query", QUERIES)
def test_direct_pages_answer_as_sqlalchemy_does(api, typed, query: str) -> None:
    with warehouse_statements() as seen:  # a listener: SQLAlchemy runs every statement
        through_sqlalchemy = _pages(api, typed, query)
    direct = _pages(api, typed, query)

    assert _selects(seen)
    assert direct == through_sqlalchemy
    assert any(page["rows"] for page in direct) or "isnull" in query


@pytest.mark.parametrize("query", DIRECT)
def test_pages_of_one_statement_are_read_directly(typed, query: str) -> None:
    plan = query_plan(typed, parse_row_query(list(parse_qsl(query))))
    shape = PageShape(plan.rows, tuple(plan.names), 0, reverse=False, empty=None)
    engine = get_engine()

    assert page_plan(shape, dialect_of(engine)).direct(3, engine.dialect) is not None


def test_an_engine_with_statement_events_sees_the_page_select(api, typed) -> None:
    with warehouse_statements() as seen:
        rows_json(api, typed, "limit=2")  # one statement: read directly without the listener

    assert _selects(seen)


def _selects(seen: list[tuple[str, tuple[Any, ...]]]) -> list[str]:
    return [sql for sql, _ in seen if sql.lstrip().lower().startswith("select")]
