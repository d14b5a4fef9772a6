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


def test_a_long_append_keeps_the_summaries_of_the_whole_batch(warehouse):
    """A long append whose values keep their types (on PostgreSQL: stored a chunk at a time,
    as read) is summarized as the whole batch: extremes in any chunk, a NULL in the last one,
    top values counted over every chunk."""
    org = make_org()
    dataset = upload(org, "measures.csv", MEASURES).dataset
    rows = _rows(LONG, temperature=lambda i: i % 50 - 10)
    rows[CHUNK_ROWS + 7]["temperature"] = -40
    rows[-2]["temperature"] = None

    response = _post(api_client_for(org), rows)

    assert response.status_code == 201, response.content
    answer = response.json()
    assert answer["type_changes"] == []
    assert answer["row_ids"] == {"first": 3, "last": LONG + 2}
    dataset.refresh_from_db()
    stored = [row[1] for row in warehouse_rows(dataset)]
    assert stored == [20, 22, *(r["temperature"] for r in rows)]
    temperature = dataset.schema.stats_of("temperature")
    assert (int(temperature.min_value), int(temperature.max_value)) == (-40, 39)
    assert temperature.nulls == 1
    counts = dict(dataset.schema.stats_of("sensor").top_values.counts)
    expected = {f"s{n}": sum(1 for i in range(LONG) if i % 7 == n) for n in range(7)}
    assert counts == {**expected, "s1": expected["s1"] + 1, "s2": expected["s2"] + 1}
    assert dataset.row_count == LONG + 2


def test_a_decimal_then_text_widen_the_stored_rows_once(warehouse):
    """A first chunk that widens (integer to decimal) and a later one that widens again (to
    text) do not convert the rows stored before the append twice: 20 stays "20", as an
    append widened once to text stores it, not "20.0"."""
    org = make_org()
    dataset = upload(org, "measures.csv", MEASURES).dataset
    rows = _rows(LONG)
    rows[0]["temperature"] = 1.5
    rows[CHUNK_ROWS + 1]["temperature"] = "n/a"

    response = _post(api_client_for(org), rows)

    assert response.status_code == 201, response.content
    assert response.json()["type_changes"] == [
        {"column": "temperature", "from": "integer", "to": "text"}
    ]
    dataset.refresh_from_db()
    stored = [row[1] for row in warehouse_rows(dataset)]
    assert stored == ["20", "22", *(str(r["temperature"]) for r in rows)]


def test_a_text_column_read_as_numbers_then_words_keeps_its_top_values(warehouse):
    """A text column whose first chunk holds only digits and whose next holds words is
    counted as text over the whole batch: its top values are kept, not lost to the first
    chunk's reading as integers."""
    org = make_org()
    dataset = upload(org, "measures.csv", MEASURES).dataset
    rows = _rows(LONG)
    for number, row in enumerate(rows):
        row["sensor"] = "123" if number < CHUNK_ROWS else "A1"

    response = _post(api_client_for(org), rows)

    assert response.status_code == 201, response.content
    dataset.refresh_from_db()
    sensor = dataset.schema.stats_of("sensor")
    assert sensor.top_values is not None
    assert dict(sensor.top_values.counts) == {
        "123": CHUNK_ROWS,
        "A1": LONG - CHUNK_ROWS,
        "s1": 1,
        "s2": 1,
    }


def test_a_later_chunk_that_widens_takes_back_the_chunks_written_and_numbers_on_from_them(
    warehouse,
):
    """The chunks already stored for the narrower type are taken back, not kept twice: the
    row ids run on without a gap, the table holds each row once."""
    org = make_org()
    dataset = upload(org, "measures.csv", MEASURES).dataset
    rows = _rows(LONG)
    rows[CHUNK_ROWS + 1]["temperature"] = 2.5

    response = _post(api_client_for(org), rows)

    assert response.status_code == 201, response.content
    assert response.json()["row_ids"] == {"first": 3, "last": LONG + 2}
    assert table_row_count(table_name=dataset.table_name) == LONG + 2
    assert _row_ids(dataset.table_name) == list(range(1, LONG + 3))


def _row_ids(table_name):
    from sqlalchemy import text

    quote = get_engine().dialect.identifier_preparer.quote_identifier
    with get_engine().connect() as connection:
        found = connection.execute(text(f"SELECT _row_id FROM {quote(table_name)} ORDER BY 1"))
        return [row[0] for row in found]


@pytest.mark.parametrize("widened_in", [None, 0, 2])
def test_chunks_go_to_the_warehouse_as_they_are_read_unless_one_widens(warehouse, widened_in):
    """Where the engine stores rows while the caller reads (PostgreSQL), _written_as_read
    writes each chunk once it is observed; a chunk that needs a wider column makes it take
    back every row written and forget what it observed, and say so (False): the caller then
    writes the batch whole, with the same ids. Other engines cannot take rows back."""
    from csvhub.appends.services import _chunks, _write_whole, _written_as_read
    from csvhub.csvread import Columns
    from csvhub.datasets.typed_writes import TypedWriter
    from csvhub.warehouse.load import LoadSession

    org = make_org()
    dataset = upload(org, "measures.csv", MEASURES).dataset
    cells = [str(i % 50) for i in range(LONG)]
    if widened_in is not None:
        cells[widened_in * CHUNK_ROWS] = "2.5"
    columns = Columns([["s"] * LONG, cells])
    assert len(list(_chunks(columns))) == 3
    with LoadSession(get_engine(), dataset.table_name, "test-load", recorded=False) as load:
        load.set_write_order(["sensor", "temperature"])
        writer = TypedWriter(load, ["sensor", "temperature"])
        if not load.stores_while_caller_reads:
            with pytest.raises(NotImplementedError):
                load.take_back_rows()
            return
        written = _written_as_read(writer, columns)
        assert written is (widened_in is None)
        assert load.rows_written == (LONG if written else 0)
        assert (writer.tracker.last_observation is None) is not written
        if not written:  # the caller's way on: the same ids again, for the whole batch
            _write_whole(writer, columns)
        assert load.row_id_range() == (3, LONG + 2)
        load.finish(writer.result({}))
    assert _row_ids(dataset.table_name) == list(range(1, LONG + 3))
    dataset.refresh_from_db()
    stored = [row[1] for row in warehouse_rows(dataset)][2:]
    assert stored == [Decimal(cell) for cell in cells]  # widened or not: the values sent


@pytest.mark.parametrize("count", [3, LONG])
def test_digits_appended_to_a_text_column_are_counted_as_text(warehouse, count):
    """A column stored as text takes digits as text: its top values count them, and are not
    lost because the request's values alone would read as integers."""
    org = make_org()
    dataset = upload(org, "measures.csv", MEASURES).dataset
    rows = [{"sensor": "123", "temperature": 1} for _ in range(count)]

    response = _post(api_client_for(org), rows)

    assert response.status_code == 201, response.content
    assert response.json()["type_changes"] == []
    dataset.refresh_from_db()
    sensor = dataset.schema.stats_of("sensor")
    assert sensor.top_values is not None
    assert dict(sensor.top_values.counts) == {"123": count, "s1": 1, "s2": 1}
    assert (sensor.min_length, sensor.max_length) == (2, 3)


def test_an_upload_of_digits_into_a_text_column_keeps_its_top_values(warehouse):
    org = make_org()
    dataset = upload(org, "measures.csv", MEASURES).dataset
    upload(org, "more.csv", "sensor,temperature\n7,1\n7,2\n", dataset=dataset.slug)

    dataset.refresh_from_db()
    sensor = dataset.schema.stats_of("sensor")
    assert column_types(dataset)["sensor"] == "text"
    assert sensor.top_values is not None
    assert dict(sensor.top_values.counts) == {"7": 2, "s1": 1, "s2": 1}
