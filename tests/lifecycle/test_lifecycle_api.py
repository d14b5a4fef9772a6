"""Retention settings, legal holds and usage through the API."""

from __future__ import annotations

import pytest

from csvhub.lifecycle.models import LegalHold
from csvhub.lifecycle.quotas import quota_set
from tests.datasets.pipeline import api_client_for, upload

pytestmark = pytest.mark.django_db(transaction=True)


def test_retention_keeps_everything_by_default(acme, acme_admin):
    body = acme_admin.get("/api/v1/retention/").json()

    assert body == {"keep_files_days": None, "keep_rows_days": None, "rows_column": ""}


def test_admin_sets_and_clears_retention(acme, acme_admin):
    changed = acme_admin.patch(
        "/api/v1/retention/",
        {"keep_files_days": 30, "keep_rows_days": 90, "rows_column": "measured_at"},
        format="json",
    )
    assert changed.status_code == 200
    assert changed.json()["keep_rows_days"] == 90

    cleared = acme_admin.patch("/api/v1/retention/", {"keep_files_days": None}, format="json")

    assert cleared.json() == {
        "keep_files_days": None,
        "keep_rows_days": 90,
        "rows_column": "measured_at",
    }


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"keep_files_days": 0}, "keep_files_days: From 1 to 36,500 days"),
        ({"keep_files_days": "30"}, "keep_files_days: A whole number of days"),
        ({"keep_rows_days": 90}, "needs rows_column"),
        ({"keep_days": 3}, "Unknown keep_days"),
    ],
)
def test_bad_retention_is_a_400_saying_what_to_fix(acme, acme_admin, body, message):
    response = acme_admin.patch("/api/v1/retention/", body, format="json")

    assert response.status_code == 400
    assert message in response.json()["detail"]


def test_an_editor_cannot_change_retention(acme):
    response = api_client_for(acme, "editor").patch(
        "/api/v1/retention/", {"keep_files_days": 1}, format="json"
    )

    assert response.status_code == 403


def test_dataset_override_and_inherit(acme, acme_admin):
    upload(acme, "meters.csv", "at,v\n2026-01-01 10:00:00,1\n")
    acme_admin.patch("/api/v1/retention/", {"keep_files_days": 30}, format="json")
    path = "/api/v1/datasets/meters/retention/"

    own = acme_admin.patch(path, {"keep_rows_days": 10, "rows_column": "at"}, format="json")
    assert own.status_code == 200, own.json()
    assert own.json()["keep_files_days"] == "inherit"
    assert own.json()["effective"] == {
        "keep_files_days": 30,
        "keep_rows_days": 10,
        "rows_column": "at",
    }

    back = acme_admin.patch(path, {"keep_rows_days": "inherit"}, format="json")
    assert back.json()["effective"]["keep_rows_days"] is None


def test_dataset_rows_column_must_be_a_date_or_timestamp_column(acme, acme_admin):
    upload(acme, "meters.csv", "at,v\n2026-01-01 10:00:00,1\n")

    response = acme_admin.patch(
        "/api/v1/datasets/meters/retention/",
        {"keep_rows_days": 10, "rows_column": "v"},
        format="json",
    )

    assert response.status_code == 400
    assert "its date and timestamp columns: at" in response.json()["detail"]


def test_holds_are_listed_and_released(acme, acme_admin):
    loaded = upload(acme, "meters.csv", "a\n1\n")
    made = acme_admin.post(
        "/api/v1/holds/", {"upload": str(loaded.id), "reason": "matter 7"}, format="json"
    )
    assert made.status_code == 201
    assert acme_admin.get("/api/v1/holds/").json()[0]["upload"] == str(loaded.id)

    released = acme_admin.delete(f"/api/v1/holds/{made.json()['id']}/")

    assert released.status_code == 204
    assert not LegalHold.objects.exists()


def test_a_hold_names_one_thing(acme, acme_admin):
    response = acme_admin.post("/api/v1/holds/", {"reason": "x"}, format="json")

    assert response.status_code == 400
    assert "one dataset or one upload" in response.json()["detail"]


def test_usage_shows_bytes_rows_table_sizes_and_quotas(warehouse, acme, acme_admin):
    loaded = upload(acme, "meters.csv", "a,b\n" + "".join(f"{i},x{i}\n" for i in range(200)))
    quota_set(organization=acme, changes={"max_warehouse_rows": 1000})

    body = acme_admin.get("/api/v1/usage/").json()

    assert body["stored_bytes"] == loaded.size
    assert body["rows"] == 200
    (dataset,) = body["datasets"]
    assert (dataset["slug"], dataset["rows"], dataset["stored_bytes"]) == (
        "meters",
        200,
        loaded.size,
    )
    assert dataset["warehouse_bytes"] > 0
    assert body["warehouse_bytes"] == dataset["warehouse_bytes"]
    assert body["quotas"] == {
        "max_stored_bytes": None,
        "max_warehouse_rows": 1000,
        "max_upload_bytes": None,
    }
