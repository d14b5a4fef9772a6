"""Appends longer than one chunk (csvhub.appends.services.CHUNK_ROWS): the rows go to the
warehouse a chunk at a time, and the request still reads, widens, counts and rolls back as one
batch would, on every warehouse."""

from __future__ import annotations

import json
from decimal import Decimal

import pytest

from csvhub.appends.services import CHUNK_ROWS
from csvhub.schema import ColumnType
from csvhub.warehouse.dialects import dialect_of
from csvhub.warehouse.engine import get_engine
from csvhub.warehouse.tables import table_row_count
from tests.datasets.pipeline import api_client_for, column_types, make_org, upload, warehouse_rows

pytestmark = pytest.mark.django_db(transaction=True)

MEASURES = "sensor,temperature\ns1,20\ns2,22\n"
LONG = 2 * CHUNK_ROWS + 1  # three chunks, the last one row long


def _post(client, rows):
    return client.generic(
        "POST", "/api/v1/datasets/measures/rows/", json.dumps(rows), content_type="application/json"
    )


def _rows(count, temperature=lambda i: i % 50):
    return [{"sensor": f"s{i % 7}", "temperature": temperature(i)} for i in range(count)]


def test_a_decimal_in_the_last_chunk_widens_the_column_for_every_row_and_says_so(warehouse):
    org = make_org()
    dataset = upload(org, "measures.csv", MEASURES).dataset
    rows = _rows(LONG)
    rows[-1]["temperature"] = 21.25  # the batch's only decimal, past the first two chunks

    response = _post(api_client_for(org), rows)

    assert response.status_code == 201, response.content
    answer = response.json()
    assert answer["rows_appended"] == LONG
    assert answer["row_ids"] == {"first": 3, "last": LONG + 2}
    assert answer["type_changes"] == [{"column": "temperature", "from": "integer", "to": "decimal"}]
    assert column_types(dataset)["temperature"] == "decimal"
    stored = [row[1] for row in warehouse_rows(dataset)]
    expected = [20, 22, *(i % 50 for i in range(LONG - 1)), Decimal("21.25")]
    assert stored == [Decimal(v) for v in expected]
    dataset.refresh_from_db()
    stats = dataset.schema.stats_of("temperature")
    assert (Decimal(stats.min_value), Decimal(stats.max_value)) == (0, 49)
    assert dataset.row_count == LONG + 2
    assert (dataset.first_row_id, dataset.last_row_id) == (1, LONG + 2)


def test_text_in_a_later_chunk_makes_the_column_text_and_keeps_every_value(warehouse):
    """A value no number type holds is never dropped or read as another: the column becomes
    text (as an upload's would), earlier chunks' numbers keep their digits, the answer says so."""
    org = make_org()
    dataset = upload(org, "measures.csv", MEASURES).dataset
    rows = _rows(LONG)
    rows[CHUNK_ROWS + 5]["temperature"] = "n/a"

    response = _post(api_client_for(org), rows)

    assert response.status_code == 201, response.content
    assert response.json()["type_changes"] == [
        {"column": "temperature", "from": "integer", "to": "text"}
    ]
    assert column_types(dataset)["temperature"] == "text"
    stored = [row[1] for row in warehouse_rows(dataset)]
    expected = ["20", "22", *(str(r["temperature"]) for r in rows)]
    assert stored == expected


def test_a_long_append_refused_after_its_last_chunk_appends_nothing(warehouse):
    """Every chunk is written in the one warehouse transaction: a refusal after the last one
    (the rows quota) rolls all of them back, widening included."""
    from csvhub.lifecycle.quotas import quota_set

    org = make_org()
    dataset = upload(org, "measures.csv", MEASURES).dataset
    quota_set(organization=org, changes={"max_warehouse_rows": LONG})
    rows = _rows(LONG)
    rows[-1]["temperature"] = 1.5

    response = _post(api_client_for(org), rows)

    assert response.status_code == 409, response.content
    dataset.refresh_from_db()
    assert dataset.row_count == 2 == table_row_count(table_name=dataset.table_name)
    assert column_types(dataset)["temperature"] == "integer"
    assert _stored_type(dataset.table_name, "temperature") is ColumnType.INTEGER
    assert [row[1] for row in warehouse_rows(dataset)] == [20, 22]


def _stored_type(table_name, column):
    engine = get_engine()
    with engine.connect() as connection:
        columns = dialect_of(engine).table_columns(connection, table_name)
    assert columns is not None
    return columns[column][0]


@pytest.mark.parametrize(
    ("first", "second"),
    [("1.5", "2.25"), ("2024-01-01T10:00:00+02:00", "2024-01-02T10:00:00+02:00"), ("1e3", "7")],
)
def test_text_in_a_later_chunk_keeps_every_earlier_value_as_sent(warehouse, first, second):
    """A column that holds decimals or timestamps in the first chunks and text in the last
    becomes text before any row is written: the earlier values are stored as sent, not as the
    canonical text of the type they were first read as ("1.5" stays "1.5", not "1.50")."""
    org = make_org()
    dataset = upload(org, "measures.csv", f"sensor,temperature\ns0,{second}\n").dataset
    rows = [
        {"sensor": "s", "temperature": first if i % 2 else second} for i in range(CHUNK_ROWS + 3)
    ]
    rows[-1]["temperature"] = "n/a"

    answer = _post(api_client_for(org), rows)

    assert answer.status_code == 201, answer.content
    dataset.refresh_from_db()
    stored = [row[1] for row in warehouse_rows(dataset)][1:]
    assert stored == [row["temperature"] for row in rows]
