"""POST/GET /api/v1/datasets/{slug}/indexes/: build indexes (now or in the background), list."""

# Fixtures are imported from rows_fixtures and named again as test parameters.
# ruff: noqa: F811

from __future__ import annotations

import pytest
from sqlalchemy import exc, inspect, text

from csvhub.datasets import rows as rows_module
from csvhub.warehouse.dialects.sqlite import indexes_restore, indexes_set_aside
from csvhub.warehouse.engine import get_engine
from csvhub.warehouse.indexes import index_name
from tests.datasets.pipeline import api_client_for
from tests.datasets.rows_fixtures import (  # noqa: F401  (fixtures)
    api,
    org,
    rows_json,
    titanic,
)

pytestmark = pytest.mark.django_db(transaction=True)

URL = "/api/v1/datasets/titanic/indexes/"


def test_index_is_built_listed_and_found_again(api, titanic):
    built = api.post(URL, {"columns": ["Name", "sex"]}, format="json")

    assert built.status_code == 201, built.content
    index = built.json()
    assert (index["columns"], index["status"]) == (["name", "sex"], "ready")
    assert index["name"] == index_name(titanic.table_name, ["name", "sex"])
    assert api.get(URL).json() == [index]
    again = api.post(URL, {"columns": ["name", "Sex"]}, format="json")
    assert (again.status_code, again.json()) == (200, index)


def test_queries_answer_the_same_with_an_index(api, titanic):
    query = "sort=sex:desc,name:desc&fields=passengerid&limit=4"
    before = _walk(api, query)
    assert api.post(URL, {"columns": ["sex", "name"]}, format="json").status_code == 201
    assert _walk(api, query) == before
    assert len(before) == 15


def _walk(api, query: str) -> list[dict]:
    rows, url = [], f"/api/v1/datasets/titanic/rows/?{query}"
    while url:
        page = api.get(url).json()
        rows += page["rows"]
        url = page["next"]
    return rows


def test_big_table_is_indexed_in_the_background(api, titanic, monkeypatch):
    monkeypatch.setattr(rows_module, "INLINE_INDEX_ROWS", 10)
    queued = api.post(URL, {"columns": ["fare"]}, format="json")

    assert queued.status_code == 202
    assert queued.json()["status"] == "queued"
    # The test runner runs tasks inline: the build is done by now.
    assert [(i["columns"], i["status"]) for i in api.get(URL).json()] == [(["fare"], "ready")]


@pytest.mark.parametrize(
    ("columns", "message"),
    [
        (["nosuch"], "Unknown column 'nosuch' in index columns"),
        (["fare", "Fare"], "An index names each column once"),
        ([], "columns"),
        (["fare"] * 9, "columns"),
    ],
)
def test_bad_index_requests_are_400(api, titanic, columns, message):
    response = api.post(URL, {"columns": columns}, format="json")
    assert response.status_code == 400
    assert message in response.content.decode()


def test_viewer_lists_indexes_but_cannot_build_them(titanic, org):
    viewer = api_client_for(org, role="viewer")
    assert viewer.get(URL).status_code == 200
    assert viewer.post(URL, {"columns": ["fare"]}, format="json").status_code == 403


def test_empty_dataset_cannot_be_indexed(api):
    api.post("/api/v1/datasets/", {"name": "empty"}, format="json")
    response = api.post("/api/v1/datasets/empty/indexes/", {"columns": ["a"]}, format="json")
    assert response.status_code == 400
    assert "no rows yet" in response.json()["detail"]
    assert api.get("/api/v1/datasets/empty/indexes/").json() == []


def test_failed_postgres_build_is_listed_as_failed_and_rebuilt(api, titanic, warehouse):
    if warehouse != "postgres":
        pytest.skip("only PostgreSQL builds concurrently and can leave an invalid index")
    name = index_name(titanic.table_name, ["sex"])
    # A UNIQUE index on a column with duplicates fails midway and stays behind, invalid.
    autocommit = get_engine().connect().execution_options(isolation_level="AUTOCOMMIT")
    with autocommit as connection, pytest.raises(exc.IntegrityError):
        connection.execute(
            text(f'CREATE UNIQUE INDEX CONCURRENTLY "{name}" ON "{titanic.table_name}" (sex)')
        )
    assert api.get(URL).json() == [{"name": name, "columns": ["sex"], "status": "failed"}]

    rebuilt = api.post(URL, {"columns": ["sex"]}, format="json")
    assert (rebuilt.status_code, rebuilt.json()["status"]) == (201, "ready")
    assert rows_json(api, titanic, "sex=female&limit=1")["count"] == 6


def test_sqlite_indexes_are_set_aside_and_restored_around_a_retype(api, titanic, warehouse):
    if warehouse != "sqlite":
        pytest.skip("only SQLite must drop indexes to replace a column")
    api.post(URL, {"columns": ["fare", "name"]}, format="json")
    with get_engine().begin() as connection:
        saved = indexes_set_aside(connection, titanic.table_name)
        assert inspect(connection).get_indexes(titanic.table_name) == []
        indexes_restore(connection, saved)
    assert [(i["columns"], i["status"]) for i in api.get(URL).json()] == [
        (["fare", "name"], "ready")
    ]
