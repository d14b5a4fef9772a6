"""GET /api/v1/datasets/{slug}/rows/ on SQLite and PostgreSQL: query string in, rows or error."""

# Fixtures are imported from rows_fixtures and named again as test parameters.
# ruff: noqa: F811

from __future__ import annotations

import pytest
from sqlalchemy import event

from csvhub.datasets import rows as rows_module
from csvhub.warehouse.engine import get_engine
from tests.datasets.pipeline import api_client_for, make_org, upload
from tests.datasets.rows_fixtures import (  # noqa: F401  (fixtures)
    RESERVED_CSV,
    TITANIC_EXAMPLE,
    api,
    dataset_load,
    ids,
    org,
    q,
    rows_get,
    rows_json,
    titanic,
    typed,
)

pytestmark = pytest.mark.django_db(transaction=True)


def test_titanic_example_from_the_issue(api, titanic):
    page = rows_json(api, titanic, TITANIC_EXAMPLE)

    assert [row["name"] for row in page["rows"]] == [
        "Braund, Mr. Zacharias",
        "Braund, Mr. Owen Harris",
    ]
    assert page["count"] == 3 and page["count_capped"] is False
    assert page["previous"] is None
    following = api.get(page["next"]).json()
    assert [row["name"] for row in following["rows"]] == ["Braund, Mr. Adam"]
    assert following["next"] is None
    assert following["count"] == 3


def test_page_shape_columns_and_json_types(api, typed):
    page = rows_json(api, typed, "limit=2")

    assert set(page) == {"columns", "rows", "count", "count_capped", "next", "previous"}
    assert [(c["name"], c["type"]) for c in page["columns"]] == [
        ("id", "integer"),
        ("amount", "decimal"),
        ("active", "boolean"),
        ("day", "date"),
        ("at", "timestamp"),
        ("note", "text"),
        ("clock", "text"),
    ]
    assert page["rows"][0] == {
        "id": 1,
        "amount": "7.250",  # at the column's scale (0.125)
        "active": True,
        "day": "2020-06-01",
        "at": "2020-06-01T12:30:00Z",
        "note": "alpha",
        "clock": "12:30",
    }
    assert page["count"] == 6 and page["next"] is not None


def test_empty_cells_are_null_and_fractions_keep_their_digits(api, typed):
    rows = {row["id"]: row for row in rows_json(api, typed)["rows"]}

    assert rows[3] == {
        "id": 3,
        "amount": None,
        "active": True,
        "day": None,
        "at": None,
        "note": None,
        "clock": None,
    }
    assert rows[4]["at"] == "2020-06-01T12:30:00.5Z"
    assert rows[5]["at"] == "2019-12-31T22:59:59Z"


EVERY_OPERATOR_ON_EVERY_TYPE = [
    # integer
    ("id=3", [3]),
    ("id=eq:3", [3]),
    ("id=neq:3", [1, 2, 4, 5, 6]),
    ("id=lt:3", [1, 2]),
    ("id=gt:4", [5, 6]),
    ("id=lte:2", [1, 2]),
    ("id=gte:5", [5, 6]),
    ("id=in:1,4,9", [1, 4]),
    ("id=notin:1,2,3", [4, 5, 6]),
    ("id=isnull:", []),
    ("id=notnull:", [1, 2, 3, 4, 5, 6]),
    ("id=like:4", [4]),
    ("id=startswith:1", [1]),
    ("id=endswith:6", [6]),
    # decimal
    ("amount=7.25", [1, 6]),
    ("amount=gt:7", [1, 4, 6]),
    ("amount=lt:0", [2]),
    ("amount=lte:0.125", [2, 5]),
    ("amount=gte:100", [4]),
    ("amount=neq:7.25", [2, 3, 4, 5]),
    ("amount=in:-3.5,100", [2, 4]),
    ("amount=notin:7.25", [2, 3, 4, 5]),
    ("amount=isnull:", [3]),
    ("amount=notnull:", [1, 2, 4, 5, 6]),
    ("amount=like:25", [1, 5, 6]),
    ("amount=startswith:-", [2]),
    ("amount=endswith:5", [5]),  # the text at the column's scale: 7.250, -3.500, 0.125
    ("amount=gt:0&amount=lt:50", [1, 5, 6]),
    # boolean
    ("active=true", [1, 3]),
    ("active=false", [2, 4, 6]),
    ("active=yes", [1, 3]),
    ("active=neq:true", [2, 4, 5, 6]),
    ("active=lt:true", [2, 4, 6]),
    ("active=gt:false", [1, 3]),
    ("active=lte:false", [2, 4, 6]),
    ("active=gte:true", [1, 3]),
    ("active=in:true,false", [1, 2, 3, 4, 6]),
    ("active=notin:true", [2, 4, 5, 6]),
    ("active=isnull:", [5]),
    ("active=notnull:", [1, 2, 3, 4, 6]),
    ("active=like:RU", [1, 3]),
    ("active=startswith:f", [2, 4, 6]),
    ("active=endswith:se", [2, 4, 6]),
    # date
    ("day=2020-06-01", [1, 6]),
    ("day=neq:2020-06-01", [2, 3, 4, 5]),
    ("day=lt:2020-06-01", [5]),
    ("day=gt:2020-06-01", [2, 4]),
    ("day=lte:2020-06-15", [1, 4, 5, 6]),
    ("day=gte:2020-06-01", [1, 2, 4, 6]),
    ("day=in:2019-12-31,2021-01-15", [2, 5]),
    ("day=notin:2020-06-01", [2, 3, 4, 5]),
    ("day=isnull:", [3]),
    ("day=notnull:", [1, 2, 4, 5, 6]),
    ("day=like:-06-", [1, 4, 6]),
    ("day=startswith:2020-06", [1, 4, 6]),
    ("day=endswith:-31", [5]),
    # timestamp (compared as instants; values without an offset are UTC)
    ("at=2020-06-01T12:30:00Z", [1, 6]),
    ("at=eq:2020-06-01 12:30:00", [1, 6]),
    (f"at={q('2020-06-01T14:30:00+02:00')}", [1, 6]),
    ("at=eq:2020-06-01T12:30:00.5Z", [4]),
    ("at=eq:2020-06-01T12:30:00.500000", [4]),
    ("at=neq:2020-06-01T12:30:00Z", [2, 3, 4, 5]),
    ("at=lt:2020-06-01T12:30:00.5", [1, 5, 6]),
    ("at=gt:2020-06-01T12:30:00Z", [2, 4]),
    ("at=lte:2020-06-01T12:30:00.500Z", [1, 4, 5, 6]),
    ("at=gte:2020-06-01T12:30:00.5Z", [2, 4]),
    ("at=gte:2020-06-01", [1, 2, 4, 6]),
    ("at=in:2019-12-31T22:59:59Z,2021-01-15T08:00:00Z", [2, 5]),
    ("at=notin:2020-06-01T12:30:00Z", [2, 3, 4, 5]),
    ("at=isnull:", [3]),
    ("at=notnull:", [1, 2, 4, 5, 6]),
    ("at=like:12:30:00.5", [4]),
    ("at=startswith:2019-12-31%2022", [5]),
    ("at=endswith::59", [5]),
    # text (equality is exact; like, startswith and endswith ignore case)
    ("note=alpha", [1]),
    ("note=ALPHA", []),
    ("note=neq:alpha", [2, 3, 4, 5, 6]),
    ("note=lt:b", [1, 2, 5, 6]),
    ("note=gt:a", [1, 4, 6]),
    ("note=lte:alpha", [1, 2, 5]),
    ("note=gte:alphabet", [4, 6]),
    ("note=in:alpha,gamma_ray", [1, 4]),
    (f"note=in:{q('["alpha", "Beta 50%"]')}", [1, 2]),
    ("note=notin:alpha", [2, 3, 4, 5, 6]),
    ("note=isnull:", [3]),
    ("note=notnull:", [1, 2, 4, 5, 6]),
    ("note=isnull:false", [1, 2, 4, 5, 6]),
    ("note=", [3]),
    ("note=neq:", [1, 2, 4, 5, 6]),
    ("note=like:ALPHA", [1, 6]),
    ("note=like:50%25", [2]),
    ("note=like:%25", [2]),
    ("note=like:_", [4]),
    ("note=startswith:ALP", [1, 6]),
    ("note=endswith:BET", [6]),
    ("note=-minus", [5]),
    # a value whose prefix is not an operator is taken whole; `__op` takes the value whole
    ("clock=12:30", [1]),
    ("clock=eq:eq:odd", [2]),
    ("clock__eq=eq:odd", [2]),
    ("clock=odd", []),
    # several filters AND; names and labels match case-insensitively
    ("id=gt:1&note=like:a", [2, 4, 6]),
    ("ID=gt:4&Note=notnull:", [5, 6]),
    ("amount__gte=7&day__lt=2020-06-10", [1, 6]),
]


def test_every_operator_on_every_type(api, typed, subtests):
    for query, expected in EVERY_OPERATOR_ON_EVERY_TYPE:
        with subtests.test(query):
            assert ids(api, typed, query) == expected


SORTS = [
    ("", [1, 2, 3, 4, 5, 6]),
    ("sort=amount", [2, 5, 1, 6, 4, 3]),
    # every key descending: ties (1 and 6) in reverse upload order, NULLs still last
    ("sort=amount:desc", [4, 6, 1, 5, 2, 3]),
    ("sort=active,amount:desc", [4, 6, 2, 1, 3, 5]),
    ("sort=day:desc,id", [2, 4, 1, 6, 5, 3]),
    ("sort=note", [5, 2, 1, 6, 4, 3]),
    ("sort=note:desc", [4, 6, 1, 2, 5, 3]),
    ("sort=at:desc", [2, 4, 6, 1, 5, 3]),
    ("sort=at,id:desc", [5, 6, 1, 4, 2, 3]),
    ("sort=clock,active:desc", [1, 2, 3, 4, 6, 5]),
    ("sort=AMOUNT:DESC,Id:asc", [4, 1, 6, 5, 2, 3]),
]


def test_multi_column_sort_puts_nulls_last(api, typed, subtests):
    for query, expected in SORTS:
        with subtests.test(query):
            assert ids(api, typed, query) == expected


def _walk(api, url: str, direction: str = "next") -> list[list[int]]:
    pages = []
    while url:
        page = api.get(url).json()
        pages.append([row["id"] for row in page["rows"]])
        url = page[direction]
    return pages


def test_cursor_pages_join_into_the_full_order_both_ways(api, typed, subtests):
    for query, expected in SORTS:
        for size in (1, 2, 4):
            with subtests.test(query=query, size=size):
                first = f"/api/v1/datasets/typed/rows/?{query}&limit={size}"
                forward = _walk(api, first)
                assert [i for page in forward for i in page] == expected
                assert all(len(page) == size for page in forward[:-1])
                offset = (len(expected) - 1) // size * size
                last_page = f"/api/v1/datasets/typed/rows/?{query}&limit={offset},{size}"
                backward = _walk(api, last_page, "previous")
                assert [i for page in reversed(backward) for i in page] == expected


def test_cursor_pages_with_filters_and_fields(api, titanic):
    query = "Sex=male&Fare=gt:7&sort=Age:desc,name&fields=Name,age&limit=3"
    everything = rows_json(api, titanic, query.replace("limit=3", "limit=100"))["rows"]
    walked = []
    url = f"/api/v1/datasets/titanic/rows/?{query}"
    while url:
        page = api.get(url).json()
        assert [c["name"] for c in page["columns"]] == ["name", "age"]
        walked += page["rows"]
        url = page["next"]
    assert walked == everything
    assert len(everything) == 8
    assert everything[-1] == {"name": "Moran, Mr. James", "age": None}


def test_offset_page_links_to_cursor_pages(api, typed):
    page = rows_json(api, typed, "sort=amount&limit=2,2")
    assert [row["id"] for row in page["rows"]] == [1, 6]
    assert [row["id"] for row in api.get(page["next"]).json()["rows"]] == [4, 3]
    assert [row["id"] for row in api.get(page["previous"]).json()["rows"]] == [2, 5]
    assert "offset" not in page["next"] and "limit=2&" in page["next"]


def test_cursor_is_stable_while_rows_are_appended(api, org):
    dataset = dataset_load(org, "log.csv", "n,word\n1,a\n2,b\n3,c\n4,d\n5,e\n")
    first = rows_json(api, dataset, "limit=2")
    upload(org, "more.csv", "n,word\n6,f\n7,g\n", dataset=dataset.slug)
    walked = [row["n"] for row in first["rows"]]
    url = first["next"]
    while url:
        page = api.get(url).json()
        walked += [row["n"] for row in page["rows"]]
        url = page["next"]
    assert walked == [1, 2, 3, 4, 5, 6, 7]


def test_filters_of_a_column_named_like_a_reserved_word(api, org):
    dataset = dataset_load(org, "reserved.csv", RESERVED_CSV)
    assert ids(api, dataset, "sort__eq=3", key="limit") == ["a"]
    assert ids(api, dataset, "count__gt=10&_sort=count:desc", key="limit") == ["c", "b"]
    assert ids(api, dataset, "org__eq=globex", key="limit") == ["b"]
    assert ids(api, dataset, "format__in=x,z&sort=sort", key="limit") == ["c", "a"]
    page = rows_json(api, dataset, "_limit=1&_fields=sort,count&_sort=sort:desc&_count=none")
    assert page["rows"] == [{"sort": 3, "count": 10}]
    assert page["count"] is None


def test_column_names_and_labels_match_case_insensitively(api, titanic):
    by_label = rows_json(api, titanic, "NAME=like:mcCARTHY&fields=PassengerId,FARE")
    assert len(by_label["rows"]) == 1
    assert list(by_label["rows"][0].values())[1] == "51.8625"


def test_ambiguous_column_name_is_a_400_naming_the_candidates(api, org):
    dataset = dataset_load(org, "twice.csv", "Name,name\nA,b\n")
    assert len(rows_json(api, dataset, "name=b")["rows"]) == 0  # `name` is exactly one column
    response = rows_get(api, dataset, "NAME=b")
    assert response.status_code == 400
    assert "matches several columns" in response.json()["detail"]


def test_counts(api, typed, monkeypatch):
    assert rows_json(api, typed, "limit=1")["count"] == 6
    assert rows_json(api, typed, "limit=1&count=none")["count"] is None
    monkeypatch.setattr(rows_module, "COUNT_CAP", 3)
    capped = rows_json(api, typed, "id=gt:1&limit=1")
    assert (capped["count"], capped["count_capped"]) == (3, True)
    exact = rows_json(api, typed, "id=gt:1&limit=1&count=exact")
    assert (exact["count"], exact["count_capped"]) == (5, False)
    under_cap = rows_json(api, typed, "id=gt:3&limit=1")
    assert (under_cap["count"], under_cap["count_capped"]) == (3, False)
    cursor_page = api.get(rows_json(api, typed, "id=gt:3&limit=1")["next"]).json()
    assert cursor_page["count"] == 3


def _statements(api, dataset, query: str) -> list[str]:
    seen: list[str] = []

    def record(conn, cursor, statement, parameters, context, executemany) -> None:
        if dataset.table_name in statement:  # not SQLite's BEGIN
            seen.append(statement.lower())

    engine = get_engine()
    event.listen(engine, "before_cursor_execute", record)
    try:
        rows_json(api, dataset, query)
    finally:
        event.remove(engine, "before_cursor_execute", record)
    return seen


def test_first_page_is_one_query_and_unfiltered_pages_never_count(api, titanic):
    unfiltered = _statements(api, titanic, "limit=5&sort=fare")
    assert len(unfiltered) == 1 and "count(" not in unfiltered[0]
    small_filtered = _statements(api, titanic, "sex=female&limit=50")
    assert len(small_filtered) == 1
    cursor = rows_json(api, titanic, "limit=5")["next"].split("cursor=")[1]
    deep = _statements(api, titanic, f"limit=5&cursor={cursor}")
    assert len(deep) == 1 and "count(" not in deep[0]


def test_empty_dataset_has_no_rows(api):
    created = api.post("/api/v1/datasets/", {"name": "empty"}, format="json")
    assert created.status_code == 201
    page = rows_json(api, "empty")
    assert page == {
        "columns": [],
        "rows": [],
        "count": 0,
        "count_capped": False,
        "next": None,
        "previous": None,
    }


def _cursor_of(api, titanic, query: str) -> str:
    return rows_json(api, titanic, query)["next"].split("cursor=")[1]


ERRORS = [
    ("nosuch=1", ["Unknown column 'nosuch' in filter", "Columns are: passengerid", "fare"]),
    ("sort=nosuch", ["Unknown column 'nosuch' in sort", "Columns are:"]),
    ("sort=fare:up", ["Unknown column 'fare:up'", "Sort directions are asc and desc"]),
    ("sort=fare,Fare:desc", ["sort names 'fare' twice"]),
    ("fields=fare,nosuch", ["Unknown column 'nosuch' in fields", "Columns are:"]),
    ("Fare=gtx:7", ["Unknown operator 'gtx'", "Operators are: eq, neq, like"]),
    ("fare__bigger=7", ["Unknown operator 'bigger' in 'fare__bigger'", "Operators are: eq"]),
    ("Fare=abc", ["'abc' is not a valid value for 'fare', a decimal column", "such as 7.25"]),
    ("Age=gt:old", ["'old' is not a valid value for 'age'"]),
    ("PassengerId=1.5", ["not a valid value for 'passengerid', an integer column"]),
    ("PassengerId=in:1,x", ["'x' is not a valid value for 'passengerid'"]),
    ("PassengerId=in:", ["needs 1 to 1000 values"]),
    ("Name=isnull:maybe", ["isnull: on 'name' takes no value (or true/false)"]),
    ("limit=abc", ["limit='abc' is not a whole number", "limit=offset,count"]),
    ("limit=5000", ["limit=5000 is more than the maximum 1000", "cursor"]),
    ("limit=1,2&offset=3", ["already gives an offset"]),
    ("offset=-5", ["offset='-5' is not a whole number"]),
    ("cursor=garbage", ["cursor is not one this API gave out", "drop cursor"]),
    ("format=xml", ["format='xml' is not one of: json, csv, ndjson"]),
    ("count=maybe", ["count='maybe' is not one of: capped, exact, none"]),
    ("safe=spreadsheet", ["CSV exports only"]),
    ("_bogus=1", ["Unknown parameter '_bogus'"]),
    ("sort=fare&_sort=age", ["'sort' is given more than once", "sort__eq=value"]),
]


def test_every_error_is_a_400_naming_the_problem_and_the_choices(api, titanic, subtests):
    for query, fragments in ERRORS:
        with subtests.test(query):
            response = rows_get(api, titanic, query)
            assert response.status_code == 400, response.content
            detail = response.json()["detail"]
            for fragment in fragments:
                assert fragment in detail


def test_cursor_errors(api, titanic):
    cursor = _cursor_of(api, titanic, "sex=male&sort=fare&limit=1")
    other_filter = rows_get(api, titanic, f"sex=female&sort=fare&cursor={cursor}")
    other_sort = rows_get(api, titanic, f"sex=male&sort=age&cursor={cursor}")
    tampered = rows_get(api, titanic, f"sex=male&sort=fare&cursor={cursor[:-2]}xx")
    with_offset = rows_get(api, titanic, f"sex=male&sort=fare&offset=2&cursor={cursor}")
    for response in (other_filter, other_sort):
        assert response.status_code == 400
        assert "other filters or another sort" in response.json()["detail"]
    assert "not one this API gave out" in tampered.json()["detail"]
    assert "cursor and offset do not mix" in with_offset.json()["detail"]
    same = rows_get(api, titanic, f"Sex=male&sort=FARE&limit=5&cursor={cursor}")
    assert same.status_code == 200  # the same query spelled differently keeps its cursor


def test_other_organizations_dataset_is_404(titanic):
    stranger = api_client_for(make_org("globex"), role="admin")
    response = rows_get(stranger, "titanic")
    assert response.status_code == 404


def test_viewer_can_query_rows(titanic, org):
    viewer = api_client_for(org, role="viewer")
    assert rows_get(viewer, titanic, "limit=1").status_code == 200


def test_schema_documents_the_grammar_and_the_example(api, titanic):
    schema = api.get("/api/schema/?format=json").json()
    operation = schema["paths"]["/api/v1/datasets/{slug}/rows/"]["get"]
    parameters = {p["name"]: p for p in operation["parameters"]}
    assert {
        "filters",
        "sort",
        "limit",
        "offset",
        "cursor",
        "fields",
        "format",
        "count",
        "safe",
    } <= (set(parameters))
    filters = parameters["filters"]
    assert (filters["style"], filters["explode"]) == ("form", True)
    assert _examples(filters) == [
        {"sex": "male", "Name": "like:Braund", "Ticket": "like:A", "Fare": "gt:7"}
    ]
    assert _examples(parameters["limit"]) == [2]  # `0,2` is a shorthand the schema leaves out
    assert _examples(parameters["sort"]) == ["name:desc,Sex:asc"]
    assert "startswith" in operation["description"] and "sort__eq=3" in operation["description"]
    assert set(operation["responses"]["200"]["content"]) == {
        "application/json",
        "text/csv",
        "application/x-ndjson",
    }


def _examples(parameter: dict) -> list:
    return [example["value"] for example in parameter["examples"].values()]
