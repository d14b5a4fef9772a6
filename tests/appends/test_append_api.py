"""POST /api/v1/datasets/{slug}/rows/: JSON and NDJSON appends, on every warehouse."""

from __future__ import annotations

import json

import pytest
from django.test import override_settings
from rest_framework.test import APIClient

from csvhub.appends.models import AppendKey
from csvhub.datasets import services
from csvhub.datasets.models import Dataset
from csvhub.datasets.signals import rows_committed
from csvhub.warehouse.tables import table_exists, table_row_count
from tests.datasets.pipeline import api_client_for, column_types, make_org, upload, warehouse_rows

pytestmark = pytest.mark.django_db(transaction=True)

MEASURES = "sensor,at,temperature\ns1,2026-01-01 10:00:00,20\ns2,2026-01-01 10:05:00,22\n"


def _post(client, slug, data, *, content_type="application/json", key=None):
    body = data if isinstance(data, (str, bytes)) else json.dumps(data)
    headers = {"Idempotency-Key": key} if key else {}
    return client.generic(
        "POST", f"/api/v1/datasets/{slug}/rows/", body, content_type=content_type, headers=headers
    )


def _measures(org):
    return upload(org, "measures.csv", MEASURES).dataset


def _rows(dataset):
    """The stored rows as the rows API reads them from the warehouse (one text form for every
    engine: timestamps ISO with Z, decimals as strings), in row id order."""
    dataset.refresh_from_db()
    client = APIClient()
    client.force_authenticate(dataset.organization.memberships.first().user)
    response = client.get(f"/api/v1/datasets/{dataset.slug}/rows/?limit=1000")
    assert response.status_code == 200, response.content
    return [tuple(row.values()) for row in response.json()["rows"]]


def test_single_object_appends_one_row_and_answers_its_id(warehouse):
    org = make_org()
    dataset = _measures(org)
    response = _post(
        api_client_for(org),
        "measures",
        {"sensor": "s3", "at": "2026-01-01T10:10:00Z", "temperature": 19},
    )
    assert response.status_code == 201, response.content
    assert response.json() == {
        "rows_appended": 1,
        "row_ids": {"first": 3, "last": 3},
        "type_changes": [],
        "columns": ["sensor", "at", "temperature"],
    }
    assert _rows(dataset)[-1] == ("s3", "2026-01-01T10:10:00Z", 19)


def test_list_of_objects_appends_them_in_order(warehouse):
    org = make_org()
    dataset = _measures(org)
    rows = [{"sensor": f"s{i}", "temperature": i} for i in range(5)]
    response = _post(api_client_for(org), "measures", rows)
    assert response.status_code == 201, response.content
    assert response.json()["row_ids"] == {"first": 3, "last": 7}
    assert [(r[0], r[2]) for r in _rows(dataset)[2:]] == [(f"s{i}", i) for i in range(5)]


def test_ndjson_appends_one_row_per_line(warehouse):
    org = make_org()
    dataset = _measures(org)
    body = '{"sensor": "a", "temperature": 1}\n\n{"sensor": "b", "temperature": 2}\n'
    response = _post(api_client_for(org), "measures", body, content_type="application/x-ndjson")
    assert response.status_code == 201, response.content
    assert response.json()["rows_appended"] == 2
    assert [(r[0], r[2]) for r in _rows(dataset)[2:]] == [("a", 1), ("b", 2)]


def test_keys_match_column_names_and_labels_case_insensitively(warehouse):
    org = make_org()
    dataset = upload(org, "m.csv", "Sensor Name,Temp\nx,1\n").dataset
    response = _post(
        api_client_for(org), "m", [{"SENSOR_NAME": "y", "temp": 2}, {"sensor name": "z", "TEMP": 3}]
    )
    assert response.status_code == 201, response.content
    assert _rows(dataset) == [("x", 1), ("y", 2), ("z", 3)]


def test_unknown_keys_are_a_400_naming_them_and_append_nothing(warehouse):
    org = make_org()
    dataset = _measures(org)
    response = _post(
        api_client_for(org), "measures", [{"sensor": "a"}, {"sensr": "b", "humidity": 40}]
    )
    assert response.status_code == 400
    detail = response.json()["detail"]
    assert "'sensr'" in detail and "'humidity'" in detail and "sensor, at, temperature" in detail
    assert len(_rows(dataset)) == 2


def test_missing_keys_are_null(warehouse):
    org = make_org()
    dataset = _measures(org)
    response = _post(api_client_for(org), "measures", {"sensor": "lonely"})
    assert response.status_code == 201, response.content
    assert _rows(dataset)[-1] == ("lonely", None, None)
    dataset.refresh_from_db()
    assert dataset.schema.stats_of("temperature").nulls == 1


def test_values_are_read_as_csv_cells_are(warehouse):
    org = make_org()
    dataset = upload(
        org, "t.csv", "n,d,day,ok,at\n1,1.50,2026-01-01,true,2026-01-01 00:00:00\n"
    ).dataset
    row = {
        "n": "  7 ",
        "d": 2.25,
        "day": "2026-02-03",
        "ok": False,
        "at": "2026-01-02T03:04:05+01:00",
    }
    response = _post(api_client_for(org), "t", row)
    assert response.status_code == 201, response.content
    assert response.json()["type_changes"] == []
    assert _rows(dataset)[-1] == (7, "2.25", "2026-02-03", False, "2026-01-02T02:04:05Z")


@pytest.mark.parametrize(
    ("body", "stored"),
    [
        # Rows sharing their keys in one order: laid out column by column (integers read by
        # msgspec become their digits, booleans and null as in any row).
        (
            '[{"sensor": 7, "temperature": 3}, {"sensor": true, "temperature": null}]',
            [("7", 3), ("true", None)],
        ),
        # The same keys in another order: each value under its own key.
        (
            '[{"sensor": "a", "temperature": 1}, {"temperature": 2, "sensor": "b"}]',
            [("a", 1), ("b", 2)],
        ),
        # -0: read by the json module; an integer past 64 bits: by msgspec into an int; one of
        # more than 4,300 digits: msgspec refuses it, the json module reads it. Digits kept.
        ('[{"sensor": -0, "temperature": -0}]', [("-0", 0)]),
        ('[{"sensor": 12345678901234567890123}]', [(str(12345678901234567890123), None)]),
        ('[{"sensor": ' + "7" * 4_400 + "}]", [("7" * 4_400, None)]),
        ('[{"sensor": 1.10, "temperature": 4}, {"sensor": 1E2}]', [("1.10", 4), ("1E2", None)]),
        # An escape that is no NUL nor surrogate, in rows laid out as columns: stored as sent.
        ('[{"sensor": "caf\\u00e9"}, {"sensor": "b"}]', [("café", None), ("b", None)]),
    ],
)
def test_json_numbers_keep_the_digits_sent(warehouse, body, stored):
    org = make_org()
    dataset = _measures(org)
    response = _post(api_client_for(org), "measures", body)
    assert response.status_code == 201, response.content
    assert [(row[0], row[2]) for row in _rows(dataset)[2:]] == stored


def test_a_bad_value_in_rows_sharing_their_keys_names_its_row(warehouse):
    org = make_org()
    dataset = _measures(org)
    rows = [{"sensor": "a", "temperature": 1}, {"sensor": "b", "temperature": [2]}]
    response = _post(api_client_for(org), "measures", rows)
    assert response.status_code == 400, response.content
    assert response.json()["detail"].startswith("Row 2, 'temperature': an array is not")
    assert len(_rows(dataset)) == 2


def test_a_wider_value_widens_the_column_and_says_so(warehouse):
    org = make_org()
    dataset = _measures(org)
    response = _post(api_client_for(org), "measures", {"sensor": "s", "temperature": 21.5})
    assert response.status_code == 201, response.content
    assert response.json()["type_changes"] == [
        {"column": "temperature", "from": "integer", "to": "decimal"}
    ]
    assert column_types(dataset)["temperature"] == "decimal"
    assert [r[2] for r in _rows(dataset)] == ["20.0", "22.0", "21.5"]


@pytest.mark.parametrize(
    ("body", "content_type", "status", "says"),
    [
        ('{"sensor": "a",', "application/json", 400, "not valid JSON"),
        ('{"sensor": "a"}\n{oops}\n', "application/x-ndjson", 400, "Line 2"),
        ("[1, 2]", "application/json", 400, "Row 1 is not a JSON object"),
        ('"text"', "application/json", 400, "object or a list"),
        ("[]", "application/json", 400, "no rows"),
        ("", "application/json", 400, "empty"),
        ('{"sensor": {"id": 1}}', "application/json", 400, "an object is not a cell value"),
        ('{"temperature": NaN}', "application/json", 400, "NaN"),
        ('{"sensor": "a\\u0000b"}', "application/json", 400, "NUL"),
        ('{"sensor": "\\ud800"}', "application/x-ndjson", 400, "lone surrogate"),
        ('[{"sensor": "\\ud800"}]', "application/json", 400, "lone surrogate"),
        # Rows sharing their keys (laid out as columns): the row at fault is still named.
        ('[{"sensor": "a"}, {"sensor": "b\\u0000"}]', "application/json", 400, "Row 2, 'sensor'"),
        ('[{"s\\udc00": "a"}, {"s\\udc00": "b"}]', "application/json", 400, "lone surrogate"),
        ("sensor\na\n", "text/csv", 415, "application/x-ndjson"),
    ],
)
def test_bad_bodies_are_refused_with_a_message(warehouse, body, content_type, status, says):
    org = make_org()
    dataset = _measures(org)
    response = _post(api_client_for(org), "measures", body, content_type=content_type)
    assert response.status_code == status, response.content
    assert says in response.json()["detail"]
    assert len(_rows(dataset)) == 2


def test_a_bad_row_in_the_middle_appends_nothing(warehouse):
    org = make_org()
    dataset = _measures(org)
    rows = [{"sensor": f"s{i}", "temperature": i} for i in range(100)]
    rows[50] = {"sensor": "bad", "temperature": [1, 2]}
    response = _post(api_client_for(org), "measures", rows)
    assert response.status_code == 400
    assert "Row 51" in response.json()["detail"]
    dataset.refresh_from_db()
    assert dataset.row_count == 2 == table_row_count(table_name=dataset.table_name)


def test_a_conflict_found_against_the_table_appends_and_widens_nothing(warehouse):
    """Keys are matched to columns inside the warehouse transaction, under the table's lock:
    a row naming a column twice, after a row that would widen a column, leaves both alone."""
    org = make_org()
    dataset = _measures(org)
    rows = [{"sensor": "ok", "temperature": 1.5}, {"Sensor": "x", "sensor": "y"}]
    response = _post(api_client_for(org), "measures", rows)
    assert response.status_code == 400
    assert (
        "Row 2: keys 'sensor' and 'Sensor' both name column 'sensor'" in response.json()["detail"]
    )
    assert column_types(dataset)["temperature"] == "integer"
    assert len(_rows(dataset)) == 2


def test_idempotency_key_retry_appends_once_and_answers_the_first_result(warehouse):
    org = make_org()
    dataset = _measures(org)
    client = api_client_for(org)
    rows = [{"sensor": "k", "temperature": 1.5}]
    first = _post(client, "measures", rows, key="batch-1")
    again = _post(client, "measures", rows, key="batch-1")
    assert first.status_code == again.status_code == 201
    assert again.json() == first.json()
    assert again.headers["Idempotency-Replayed"] == "true"
    dataset.refresh_from_db()
    assert dataset.row_count == 3 == table_row_count(table_name=dataset.table_name)
    other = _post(client, "measures", [{"sensor": "other"}], key="batch-1")
    assert other.status_code == 409
    assert _post(client, "measures", rows, key="batch-2").json()["row_ids"]["first"] == 4


def test_a_failed_request_leaves_its_key_free_for_the_corrected_one(warehouse):
    org = make_org()
    _measures(org)
    client = api_client_for(org)
    assert _post(client, "measures", {"sensr": 1}, key="k").status_code == 400
    assert not AppendKey.objects.exists()
    assert _post(client, "measures", {"sensor": 1}, key="k").status_code == 201


def test_expired_keys_are_forgotten(warehouse):
    org = make_org()
    dataset = _measures(org)
    client = api_client_for(org)
    rows = {"sensor": "e"}
    assert _post(client, "measures", rows, key="old").status_code == 201
    AppendKey.objects.update(expires_at="2000-01-01T00:00:00Z")
    again = _post(client, "measures", rows, key="old")
    assert again.status_code == 201 and "Idempotency-Replayed" not in again.headers
    dataset.refresh_from_db()
    assert dataset.row_count == 4
    assert AppendKey.objects.count() == 1


def test_a_dataset_without_columns_takes_them_from_the_first_batch(warehouse):
    org = make_org()
    dataset = services.dataset_create(organization=org, name="sensors")
    rows = [
        {"Sensor": "a", "At": "2026-01-01 10:00:00", "Temp": 1, "note": None},
        {"sensor": "b", "at": "2026-01-01 11:00:00", "temp": 2.5, "note": None},
    ]
    response = _post(api_client_for(org), "sensors", rows)
    assert response.status_code == 201, response.content
    assert response.json()["columns"] == ["sensor", "at", "temp", "note"]
    assert column_types(dataset) == {
        "sensor": "text",
        "at": "timestamp",
        "temp": "decimal",
        "note": "text",
    }
    assert [c["label"] for c in dataset.columns] == ["Sensor", "At", "Temp", "note"]
    assert dataset.row_count == 2 and table_exists(table_name=dataset.table_name)


def test_summaries_stay_exact_after_appends(warehouse):
    org = make_org()
    dataset = _measures(org)
    client = api_client_for(org)
    _post(client, "measures", [{"sensor": "x", "at": "2025-12-31T23:00:00Z", "temperature": -5}])
    _post(client, "measures", {"sensor": "y", "at": "2026-02-01 00:00:00", "temperature": 40})
    _post(client, "measures", {"sensor": "z"})
    dataset.refresh_from_db()
    stored = _rows(dataset)
    assert dataset.row_count == len(stored) == 5
    assert (dataset.first_row_id, dataset.last_row_id) == (1, 5)
    temps = [r[2] for r in warehouse_rows(dataset) if r[2] is not None]
    stats = dataset.schema.stats_of("temperature")
    assert (int(stats.min_value), int(stats.max_value)) == (min(temps), max(temps)) == (-5, 40)
    assert (stats.nulls, stats.non_null) == (1, 4)
    times = sorted(r[1] for r in stored if r[1] is not None)
    span = dataset.schema.stats_of("at")
    assert [span.min_value, span.max_value] == [
        times[0].replace("T", " ").rstrip("Z"),
        times[-1].replace("T", " ").rstrip("Z"),
    ]
    summary = client.get("/api/v1/datasets/measures/summary/").json()
    assert summary["row_count"] == 5


def test_rows_committed_is_sent_after_the_commit_with_the_rows_ids(warehouse):
    org = make_org()
    dataset = _measures(org)
    heard = []

    def receiver(**kwargs):
        heard.append((kwargs["dataset_id"], kwargs["row_id_range"], kwargs["origin"]))

    rows_committed.connect(receiver)
    try:
        _post(api_client_for(org), "measures", [{"sensor": "a"}, {"sensor": "b"}])
    finally:
        rows_committed.disconnect(receiver)
    assert heard == [(dataset.pk, (3, 4), "append")]


def test_viewers_may_not_append(warehouse):
    org = make_org()
    _measures(org)
    response = _post(api_client_for(org, role="viewer"), "measures", {"sensor": "v"})
    assert response.status_code == 403
    assert "editor" in response.json()["detail"]


def test_another_organizations_dataset_is_404(warehouse):
    _measures(make_org("acme"))
    response = _post(api_client_for(make_org("globex")), "measures", {"sensor": "v"})
    assert response.status_code == 404
    assert table_row_count(table_name=Dataset.objects.get().table_name) == 2


@override_settings(CSVHUB_APPEND_MAX_ROWS=3, CSVHUB_APPEND_MAX_BYTES=200)
def test_limits_answer_413_naming_the_setting(warehouse):
    org = make_org()
    _measures(org)
    client = api_client_for(org)
    many = _post(client, "measures", [{"sensor": "a"}] * 4)
    assert many.status_code == 413 and "CSVHUB_APPEND_MAX_ROWS" in many.json()["detail"]
    big = _post(client, "measures", {"sensor": "a" * 300})
    assert big.status_code == 413 and "CSVHUB_APPEND_MAX_BYTES" in big.json()["detail"]


def test_get_still_queries_rows(warehouse):
    org = make_org()
    _measures(org)
    response = api_client_for(org).get("/api/v1/datasets/measures/rows/?sensor=s2")
    assert response.status_code == 200
    assert [r["temperature"] for r in response.json()["rows"]] == [22]


def test_an_append_past_the_rows_quota_is_a_409_and_appends_nothing(warehouse):
    from csvhub.lifecycle.quotas import quota_set

    org = make_org()
    dataset = _measures(org)  # 2 rows
    quota_set(organization=org, changes={"max_warehouse_rows": 4})
    rows = [{"sensor": f"s{i}", "temperature": i} for i in range(3)]

    client = api_client_for(org)
    response = _post(client, "measures", rows)

    assert response.status_code == 409, response.content
    assert "quota of 4 rows" in response.json()["detail"]
    dataset.refresh_from_db()
    assert dataset.row_count == 2 == table_row_count(table_name=dataset.table_name)
    assert _post(client, "measures", rows[:2]).status_code == 201  # up to the quota: taken


@pytest.mark.parametrize("content_type", ["application/json", "application/x-ndjson"])
def test_json_nested_past_the_parser_is_a_400_not_a_500(warehouse, content_type):
    org = make_org()
    dataset = _measures(org)
    response = _post(api_client_for(org), "measures", "[" * 200_000, content_type=content_type)
    assert response.status_code == 400, response.content
    assert "nests arrays or objects too deeply" in response.json()["detail"]
    dataset.refresh_from_db()
    assert dataset.row_count == 2


def test_an_append_after_a_delete_numbers_past_the_deleted_rows_so_undo_restores_them(
    warehouse,
):
    """The ids of rows an edit deleted stay taken (read with the table's largest id, in one
    statement): the append does not take row 2's id, and undoing the delete puts row 2 back."""
    from tests.edits.helpers import edit

    org = make_org()
    dataset = _measures(org)
    client = api_client_for(org)
    deleted = edit(client, dataset, {"filter": "sensor=s2", "action": {"delete": True}})
    assert deleted.status_code == 201, deleted.content

    response = _post(client, "measures", {"sensor": "s3", "temperature": 19})

    assert response.status_code == 201, response.content
    assert response.json()["row_ids"] == {"first": 3, "last": 3}
    undo = client.post(f"/api/v1/datasets/measures/edits/{deleted.json()['id']}/undo")
    assert undo.status_code == 201, undo.content
    assert [(r[0], r[2]) for r in _rows(dataset)] == [("s1", 20), ("s2", 22), ("s3", 19)]
