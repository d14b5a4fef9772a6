"""`q=` on the rows API, on every warehouse: the rows where any text column contains the words,
ignoring case, combined with the filters, counted, paged and exported alike."""

# Fixtures are imported from rows_fixtures and named again as test parameters.
# ruff: noqa: F811

from __future__ import annotations

import pytest

from csvhub.datasets.rowquery import InvalidRowQuery, parse_row_query
from tests.datasets.rows_fixtures import (  # noqa: F401  (fixtures)
    api,
    dataset_load,
    ids,
    org,
    q,
    rows_get,
    rows_json,
    streamed,
    titanic,
    typed,
)

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("q=braund", [1, 11, 12, 13, 14, 15]),  # Name, any case
        ("q=BRAUND", [1, 11, 12, 13, 14, 15]),
        ("q=c85", [2]),  # Cabin: another text column
        ("q=a/5", [1, 15]),  # Ticket
        ("q=braund&Sex=female", [13]),  # with a filter: both must match
        ("q=braund&sort=PassengerId:desc", [15, 14, 13, 12, 11, 1]),
        ("q=%25", []),  # % matches itself, not everything
        ("q=", list(range(1, 16))),  # empty: no search
        ("q=nobody here", []),
    ],
)
def test_search_across_text_columns(api, titanic, query, expected):
    assert ids(api, titanic, query, key="passengerid") == expected


def test_search_counts_and_pages_by_cursor(api, titanic):
    page = rows_json(api, titanic, "q=braund&limit=4")
    assert page["count"] == 6 and page["count_capped"] is False
    following = api.get(page["next"]).json()
    assert [row["passengerid"] for row in following["rows"]] == [14, 15]
    # A cursor belongs to its search: another search cannot use it.
    cursor = page["next"].split("cursor=")[1]
    other = rows_get(api, titanic, f"q=allen&limit=4&cursor={cursor}")
    assert other.status_code == 400 and "cursor" in other.json()["detail"]


def test_search_applies_to_exports(api, titanic):
    text = streamed(rows_get(api, titanic, "q=BRAUND&format=csv&fields=PassengerId"))
    assert text.split() == ["PassengerId", "1", "11", "12", "13", "14", "15"]


def test_search_without_text_columns_matches_nothing(api, org):
    numbers = dataset_load(org, "numbers.csv", "a,b\n1,2\n3,4\n")
    assert rows_json(api, numbers, "q=1")["rows"] == []


def test_a_text_column_named_q_is_filtered_with_the_suffix_form(api, org):
    named = dataset_load(org, "named.csv", "q,other\nfind me,x\nnot this,find me too\n")
    assert [row["q"] for row in rows_json(api, named, f"q__eq={q('find me')}")["rows"]] == [
        "find me"
    ]
    assert len(rows_json(api, named, "q=find")["rows"]) == 2


def test_search_is_parsed_trimmed_and_capped():
    assert parse_row_query([("q", "  braund ")]).search == "braund"
    assert parse_row_query([("_q", "x")]).search == "x"
    assert parse_row_query([("q", " ")]).search is None
    with pytest.raises(InvalidRowQuery, match="NUL"):
        parse_row_query([("q", "a\x00")])
