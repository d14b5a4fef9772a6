"""Issue 11, query side: hostile query strings answer a 4xx with a message, the same on both
warehouses, for pages, exports and analysis (never a 500, never a different answer per warehouse).
"""

from __future__ import annotations

import pytest

from tests.datasets.pipeline import api_client_for, make_org
from tests.datasets.rows_fixtures import TITANIC_CSV, dataset_load

pytestmark = pytest.mark.django_db(transaction=True)

# One `at` timestamp column beside Titanic's: the edge-of-range timestamps need one.
TIMED_CSV = """\
id,name,age,at
1,alpha,22,2020-06-01T12:30:00Z
2,beta,0.42,2021-01-15 08:00:00
3,gamma,,9999-12-31 23:59:59
"""

# (query string, text the 400's message must contain)
BAD_VALUES = [
    # NUL bytes, in every operator that takes text, and in a JSON list
    ("name=eq:a%00b", "NUL"),
    ("name=a%00b", "NUL"),
    ("name=like:%00", "NUL"),
    ("name=startswith:a%00", "NUL"),
    ("name=endswith:%00b", "NUL"),
    ("name=in:a,b%00", "NUL"),
    ("name=notin:%5B%22a%5Cu0000%22%5D", "NUL"),
    ("name__like=%00", "NUL"),
    ("age=eq:1%002", "NUL"),
    # decimals outside what either warehouse can compare
    ("age=eq:1e999999", "not a valid value for 'age'"),
    ("age=gt:1e-999999", "not a valid value for 'age'"),
    ("age=lt:-1e1000", "not a valid value for 'age'"),
    ("age=in:1,1e5000", "not a valid value for 'age'"),
    ("age=eq:" + "9" * 1001, "at most 1000 digits"),
    # timestamps that leave years 1..9999 once moved to UTC
    ("at=gt:9999-12-31T23:59:59-23:59", "not a valid value for 'at'"),
    ("at=lt:0001-01-01T00:00:00%2B01:00", "not a valid value for 'at'"),
    ("at=in:2020-01-01,9999-12-31T23:00:00-01:00", "not a valid value for 'at'"),
    # Long values: capped at 4096 characters (each item of a list), digits counted before int()
    ("id=eq:" + "9" * 5000, "filter 'id' is 5,000 characters long"),
    ("id=" + "9" * 5000, "at most 4,096"),
    ("id=eq:" + "9" * 4000, "not a valid value for 'id'"),
    ("id=in:1," + "9" * 4500, "at most 4,096"),
    ("name=like:" + "a" * 60_000, "filter 'name' is 60,000 characters long"),
    ("name__startswith=" + "%25" * 5000, "at most 4,096"),
    ("name=in:" + "%5B" * 3000 + "%5D" * 3000, "not a JSON array"),
]

# Values at the edge that are fine, with the ids they select on both warehouses.
GOOD_EDGES = [
    ("age=lt:9e999", [1, 2]),
    ("age=gt:1e-999", [1, 2]),
    ("at=gte:9999-12-31T23:59:59Z", [3]),
    ("at=lt:9999-12-31T23:59:59%2B23:59", [1, 2]),
    ("name=like:%25", []),
]


@pytest.fixture
def alice(warehouse):
    return make_org("alice")


@pytest.fixture
def viewer(alice):
    return api_client_for(alice, role="viewer")


@pytest.fixture
def timed(alice) -> str:
    return dataset_load(alice, "timed.csv", TIMED_CSV).slug


@pytest.mark.parametrize(("query", "message"), BAD_VALUES)
@pytest.mark.parametrize("output", ["", "&format=csv", "&format=ndjson"])
def test_bad_filter_value_is_a_400_on_rows_and_exports(viewer, timed, query, message, output):
    response = viewer.get(f"/api/v1/datasets/{timed}/rows/?{query}{output}")
    assert response.status_code == 400, response.content
    assert message in response.json()["detail"]


@pytest.mark.parametrize(("query", "message"), BAD_VALUES)
@pytest.mark.parametrize(
    "analysis", ["type=row_count", "type=aggregate&group_by=name", "type=histogram&column=age"]
)
def test_bad_filter_value_is_a_400_on_analysis(viewer, timed, query, message, analysis):
    response = viewer.get(f"/api/v1/datasets/{timed}/analysis/?{analysis}&{query}")
    assert response.status_code == 400, response.content
    assert message in response.json()["detail"]


@pytest.mark.parametrize(("query", "expected"), GOOD_EDGES)
def test_values_at_the_edge_answer_alike_on_both_warehouses(viewer, timed, query, expected):
    response = viewer.get(f"/api/v1/datasets/{timed}/rows/?{query}")
    assert response.status_code == 200, response.content
    assert [row["id"] for row in response.json()["rows"]] == expected


def test_nul_in_a_filter_names_the_parameter(viewer, timed):
    response = viewer.get(f"/api/v1/datasets/{timed}/rows/?name=like:%00")
    assert response.status_code == 400
    assert "'name'" in response.json()["detail"]


def test_titanic_issue_examples(alice, viewer):
    slug = dataset_load(alice, "titanic.csv", TITANIC_CSV).slug
    for query in ("Name=eq:a%00b", "Name=like:%00", "Age=eq:1e999999", "Age=eq:1e-999999"):
        response = viewer.get(f"/api/v1/datasets/{slug}/rows/?{query}")
        assert response.status_code == 400, (query, response.content)


# Numbers too long for int() to parse (Python refuses past 4300 digits), everywhere one is read.
LONG_NUMBERS = [
    ("rows/?limit=" + "9" * 5000, "is more than the maximum 1000"),
    ("rows/?offset=" + "9" * 5000, "is more than the maximum"),
    ("rows/?limit=0," + "9" * 5000, "is more than the maximum 1000"),
    ("analysis/?type=histogram&column=age&bins=" + "9" * 5000, "not a whole number from 1"),
    ("analysis/?type=aggregate&group_by=name&limit=" + "9" * 5000, "not a whole number from 1"),
]


@pytest.mark.parametrize(("path", "message"), LONG_NUMBERS)
def test_numbers_too_long_to_parse_are_a_400(viewer, timed, path, message):
    response = viewer.get(f"/api/v1/datasets/{timed}/{path}")
    assert response.status_code == 400, response.content
    assert message in response.json()["detail"]


# Requests whose cost is capped (item 11): (query string, text the 400's message must contain)
TOO_COSTLY = [
    ("&".join(["name=like:zz"] * 300) + "&count=exact", "at most 50 (CSVHUB_MAX_FILTERS)"),
    ("&".join(["name=like:zz"] * 51) + "&format=csv", "at most 50 (CSVHUB_MAX_FILTERS)"),
    ("sort=id,name,age,at,id,name,age,at,id", "at most 8 (CSVHUB_MAX_SORT_KEYS)"),
]


@pytest.mark.parametrize(("query", "message"), TOO_COSTLY)
def test_too_costly_requests_are_a_400_naming_the_cap(viewer, timed, query, message):
    response = viewer.get(f"/api/v1/datasets/{timed}/rows/?{query}")
    assert response.status_code == 400, response.content
    assert message in response.json()["detail"]


def test_nul_in_index_columns_is_a_400(alice, timed):
    editor = api_client_for(alice, role="editor")
    response = editor.post(
        f"/api/v1/datasets/{timed}/indexes/", {"columns": ["na\u0000me"]}, format="json"
    )
    assert response.status_code == 400, response.content
    # DRF refuses it in the request body (the body's shape is issue 11 item 10's).
    assert "Null characters are not allowed" in str(response.json())
