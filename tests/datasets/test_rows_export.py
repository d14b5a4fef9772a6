"""CSV and NDJSON exports: every matching row, streamed, exact enough to upload again."""

# Fixtures are imported from rows_fixtures and named again as test parameters.
# ruff: noqa: F811

from __future__ import annotations

import csv
import io
import json

import pytest

from csvhub.datasets import rows as rows_module
from csvhub.datasets.models import Dataset
from csvhub.datasets.rowquery import parse_row_query
from csvhub.warehouse import query as warehouse_query
from csvhub.warehouse.dialects import postgresql as postgresql_dialect
from csvhub.warehouse.engine import get_engine
from tests.datasets.pipeline import upload
from tests.datasets.rows_fixtures import (  # noqa: F401  (fixtures)
    TITANIC_EXAMPLE,
    api,
    dataset_load,
    org,
    rows_get,
    rows_json,
    streamed,
    titanic,
    typed,
)

pytestmark = pytest.mark.django_db(transaction=True)


def _typed_csv(warehouse: str) -> str:
    # SQLite keeps decimals as REAL, PostgreSQL keeps NUMERIC digits as written; both give
    # timestamp fractions without trailing zeros (csvread stores them canonically).
    hundred, half = ("100", "12:30:00.5") if warehouse == "postgres" else ("100.0", "12:30:00.5")
    return (
        "id,amount,active,day,at,note,clock\n"
        "1,7.25,true,2020-06-01,2020-06-01 12:30:00,alpha,12:30\n"
        "2,-3.5,false,2021-01-15,2021-01-15 08:00:00,Beta 50%,eq:odd\n"
        "3,,true,,,,\n"
        f"4,{hundred},false,2020-06-15,2020-06-01 {half},gamma_ray,\n"
        "5,0.125,,2019-12-31,2019-12-31 22:59:59,-minus,\n"
        "6,7.25,false,2020-06-01,2020-06-01 12:30:00,alphabet,\n"
    )


def test_csv_export_is_the_canonical_text_of_every_row(api, typed, warehouse):
    response = rows_get(api, typed, "format=csv")

    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert response["Content-Disposition"] == 'attachment; filename="typed.csv"'
    assert streamed(response) == _typed_csv(warehouse)


def test_export_applies_filters_sort_and_fields_but_not_the_page(api, titanic):
    text = streamed(rows_get(api, titanic, f"{TITANIC_EXAMPLE}&format=csv&fields=Name,Fare"))

    assert list(csv.reader(io.StringIO(text))) == [
        ["Name", "Fare"],
        ["Braund, Mr. Zacharias", "24.15"],
        ["Braund, Mr. Owen Harris", "7.25"],
        ["Braund, Mr. Adam", "7.05"],
    ]


def test_accept_header_chooses_the_export(api, typed):
    as_csv = rows_get(api, typed, "fields=id", HTTP_ACCEPT="text/csv")
    as_ndjson = rows_get(api, typed, "fields=id", HTTP_ACCEPT="application/x-ndjson")
    assert streamed(as_csv) == "id\n1\n2\n3\n4\n5\n6\n"
    assert as_ndjson["Content-Type"] == "application/x-ndjson"
    assert streamed(as_ndjson).splitlines()[0] == '{"id": 1}'


def test_ndjson_lines_are_the_json_rows(api, typed):
    text = streamed(rows_get(api, typed, "format=ndjson&sort=id:desc&limit=1"))
    lines = [json.loads(line) for line in text.splitlines()]
    assert lines == list(reversed(rows_json(api, typed)["rows"]))


def test_csv_export_uploaded_again_gives_the_same_rows_and_types(api, org, typed, titanic):
    for dataset in (typed, titanic):
        exported = streamed(rows_get(api, dataset, "format=csv"))
        copy = dataset_load(org, f"{dataset.slug}-copy.csv", exported)
        assert copy.columns == dataset.columns
        assert rows_json(api, copy, "limit=1000")["rows"] == (
            rows_json(api, dataset, "limit=1000")["rows"]
        )


def test_csv_export_appends_to_its_own_dataset(api, org, typed):
    exported = streamed(rows_get(api, typed, "format=csv"))
    appended = upload(org, "again.csv", exported, dataset=typed.slug)
    assert appended.state == "succeeded", appended.error
    rows = rows_json(api, typed)["rows"]
    assert rows[6:] == rows[:6]


FORMULAS_CSV = "cmd,n,=sum\n=1+2,-5,x\n+x,3,y\n@me,1,z\nplain,2,w\n-minus,4,v\n"


def test_spreadsheet_safe_export_neutralizes_formulas_in_text_cells(api, org):
    dataset = dataset_load(org, "formulas.csv", FORMULAS_CSV)
    label = dataset.columns[2]["label"]
    safe = streamed(rows_get(api, dataset, "format=csv&safe=spreadsheet"))
    exact = streamed(rows_get(api, dataset, "format=csv"))

    assert list(csv.reader(io.StringIO(safe))) == [
        ["cmd", "n", f"'{label}" if label.startswith("=") else label],
        ["'=1+2", "-5", "x"],
        ["'+x", "3", "y"],
        ["'@me", "1", "z"],
        ["plain", "2", "w"],
        ["'-minus", "4", "v"],
    ]
    assert list(csv.reader(io.StringIO(exact)))[1:] == [
        ["=1+2", "-5", "x"],
        ["+x", "3", "y"],
        ["@me", "1", "z"],
        ["plain", "2", "w"],
        ["-minus", "4", "v"],
    ]


def test_exports_stream_in_chunks(api, titanic, monkeypatch, warehouse):
    monkeypatch.setattr(warehouse_query, "EXPORT_BATCH_ROWS", 4)
    monkeypatch.setattr(postgresql_dialect, "EXPORT_CHUNK_BYTES", 200)
    csv_chunks = list(rows_get(api, titanic, "format=csv").streaming_content)
    ndjson_chunks = list(rows_get(api, titanic, "format=ndjson").streaming_content)
    # Rows in batches of 4 (SQLite) or chunks of about 200 bytes (COPY), the header with the
    # first (the response starts with rows: see client_watch).
    assert len(csv_chunks) >= 4
    assert csv_chunks[0].count(b"\n") > 1
    assert b"".join(csv_chunks).count(b"\n") == 16
    assert len(ndjson_chunks) == 4
    assert b"".join(ndjson_chunks).count(b"\n") == 15


@pytest.mark.parametrize("output", ["csv", "ndjson"])
def test_abandoned_export_gives_its_connection_back(titanic, warehouse, output):
    dataset = Dataset.objects.get(pk=titanic.pk)
    query = parse_row_query([("format", output), ("Sex", "male")])
    export = rows_module.rows_export(dataset=dataset, query=query)
    assert next(iter(export))
    assert get_engine().pool.checkedout() == 1
    export.close()
    assert get_engine().pool.checkedout() == 0
    # The connection is clean: the next query on it works.
    assert rows_json_count(dataset) == 15


def rows_json_count(dataset: Dataset) -> int:
    query = parse_row_query([("count", "exact"), ("Fare", "gte:0")])
    return rows_module.rows_page(dataset=dataset, query=query).count


def test_export_errors_come_before_the_stream(api, titanic):
    response = rows_get(api, titanic, "format=csv&Fare=abc")
    assert response.status_code == 400
    assert not response.streaming
    assert "not a valid value for 'fare'" in response.json()["detail"]
