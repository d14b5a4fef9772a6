"""Cleaning recipes: versioned through the API, applied to every new upload before type
inference (on every warehouse), scheduled re-application, and applied to the stored rows as
journaled edits (one per text column)."""

from __future__ import annotations

from datetime import UTC, timedelta
from decimal import Decimal

import pytest

from csvhub.cleaning.models import Recipe
from csvhub.cleaning.services import recipes_run_due
from csvhub.datasets.models import Dataset
from tests.datasets.pipeline import api_client_for, make_org, upload, warehouse_rows

pytestmark = pytest.mark.django_db(transaction=True)

STEPS = [
    {"op": "trim", "column": "company"},
    {"op": "map", "column": "company", "values": {"J&A Holding Stocks": "JEA Holding Stocks"}},
    {"op": "case", "column": "city", "to": "upper"},
    {"op": "replace", "column": "code", "pattern": r"^ID-(\d+)$", "with": r"\1"},
    {"op": "null_tokens", "column": "price", "tokens": ["?"]},
    {"op": "parse_number", "column": "price", "decimal": ",", "thousands": "."},
    {"op": "parse_date", "column": "day", "format": "%d.%m.%y"},
]
FILE = (
    "company,city,code,price,day\n"
    '"  J&A   Holding Stocks ",paris,ID-7,"1.234,5",05.01.24\n'
    "JEA Holding Stocks,Oslo,ID-8,?,31.12.23\n"
)


@pytest.fixture
def client_and_dataset():
    org = make_org()
    client = api_client_for(org)
    answer = client.post("/api/v1/datasets/", {"name": "firms"}, format="json")
    return org, client, answer.json()["slug"]


def test_recipe_steps_clean_every_new_upload_before_type_inference(warehouse, client_and_dataset):
    org, client, slug = client_and_dataset
    put = client.put(f"/api/v1/datasets/{slug}/recipe/", {"steps": STEPS}, format="json")
    assert put.status_code == 200, put.json()
    assert put.json()["version"] == 1

    job = upload(org, "firms.csv", FILE, dataset=slug)

    assert job.state == "succeeded", job.error
    dataset = Dataset.objects.get(slug=slug)
    types = {column.name: column.type.value for column in dataset.schema}
    assert types == {
        "company": "text",
        "city": "text",
        "code": "integer",
        "price": "decimal",
        "day": "date",
    }
    rows = [(r[0], r[1], r[2], r[3], str(r[4])[:10]) for r in warehouse_rows(dataset)]
    assert rows == [
        ("JEA Holding Stocks", "PARIS", 7, Decimal("1234.5"), "2024-01-05"),
        ("JEA Holding Stocks", "OSLO", 8, None, "2023-12-31"),
    ]


def test_every_change_keeps_the_previous_version(client_and_dataset):
    _, client, slug = client_and_dataset
    url = f"/api/v1/datasets/{slug}/recipe/"
    client.put(url, {"steps": STEPS[:1], "note": "first"}, format="json")
    client.put(url, {"steps": STEPS[:2]}, format="json")

    current = client.get(url).json()
    assert (current["version"], len(current["steps"])) == (2, 2)
    versions = client.get(f"{url}versions/").json()["versions"]
    assert [(v["version"], len(v["steps"]), v["note"]) for v in versions] == [
        (2, 2, ""),
        (1, 1, "first"),
    ]


@pytest.mark.parametrize(
    ("steps", "message"),
    [
        ([{"op": "shout", "column": "a"}], "Step 1: Unknown op 'shout'"),
        ([{"op": "replace", "column": "a", "pattern": "(", "with": ""}], "not a regular expr"),
        ([{"op": "case", "column": "a", "to": "loud"}], "`to` is one of upper, lower, title"),
        ([{"op": "parse_date", "column": "a", "format": "%d"}], "with a year"),
        ("trim", "steps: Expected a list"),
    ],
)
def test_bad_steps_are_a_400_that_says_what_to_fix(client_and_dataset, steps, message):
    _, client, slug = client_and_dataset
    answer = client.put(f"/api/v1/datasets/{slug}/recipe/", {"steps": steps}, format="json")
    assert answer.status_code == 400
    assert message in answer.json()["detail"]
    assert client.get(f"/api/v1/datasets/{slug}/recipe/").json()["version"] == 0


def test_steps_on_unknown_columns_of_a_loaded_dataset_are_refused():
    org = make_org()
    job = upload(org, "a.csv", "a,b\n1,2\n")
    client = api_client_for(org)
    answer = client.put(
        f"/api/v1/datasets/{job.dataset.slug}/recipe/",
        {"steps": [{"op": "trim", "column": "c"}]},
        format="json",
    )
    assert answer.status_code == 400
    assert "'c' is not a column of this dataset (a, b)" in answer.json()["detail"]


@pytest.mark.django_db(transaction=True)
def test_applying_to_stored_rows_is_a_journaled_edit_per_text_column(warehouse):
    org = make_org()
    job = upload(
        org,
        "firms.csv",
        "company,city,n\n  J&A Holding Stocks ,paris,1\nJEA Holding Stocks,rome,2\n",
    )
    client = api_client_for(org)
    slug = job.dataset.slug
    steps = [
        {"op": "trim", "column": "company"},
        {"op": "map", "column": "company", "values": {"J&A Holding Stocks": "JEA Holding Stocks"}},
        {"op": "case", "column": "city", "to": "upper"},
    ]
    put = client.put(f"/api/v1/datasets/{slug}/recipe/", {"steps": steps}, format="json")
    assert put.status_code == 200, put.json()

    answer = client.post(f"/api/v1/datasets/{slug}/recipe/apply")

    assert answer.status_code == 200, answer.json()
    assert len(answer.json()["edits"]) == 2 and answer.json()["rows_changed"] == 3
    assert warehouse_rows(Dataset.objects.get(slug=slug)) == [
        ("JEA Holding Stocks", "PARIS", 1),
        ("JEA Holding Stocks", "ROME", 2),
    ]
    listed = client.get(f"/api/v1/datasets/{slug}/edits/").json()
    assert len(listed) == 2  # each undoable on its own


@pytest.mark.django_db(transaction=True)
def test_a_step_on_a_typed_column_refuses_the_stored_rows_and_changes_nothing(warehouse):
    org = make_org()
    job = upload(org, "firms.csv", "company,n\n x ,1\n")
    client = api_client_for(org)
    slug = job.dataset.slug
    steps = [
        {"op": "trim", "column": "company"},
        {"op": "null_tokens", "column": "n", "tokens": ["1"]},
    ]
    put = client.put(f"/api/v1/datasets/{slug}/recipe/", {"steps": steps}, format="json")
    assert put.status_code == 200, put.json()

    answer = client.post(f"/api/v1/datasets/{slug}/recipe/apply")

    assert answer.status_code == 400
    assert "'n' is stored as integer" in answer.json()["detail"]
    assert warehouse_rows(Dataset.objects.get(slug=slug)) == [(" x ", 1)]


def test_scheduled_recipe_runs_at_its_local_time_and_records_why_nothing_changed(
    client_and_dataset,
):
    _, client, slug = client_and_dataset
    answer = client.put(
        f"/api/v1/datasets/{slug}/recipe/",
        {"steps": STEPS[:1], "schedule": {"cron": "0 3 * * *", "time_zone": "Europe/Paris"}},
        format="json",
    )
    assert answer.status_code == 200, answer.json()
    recipe = Recipe.objects.get(dataset__slug=slug)
    # 03:00 in Paris in winter is 02:00 UTC.
    assert recipe.next_run_at.astimezone(UTC).hour == 2

    assert recipes_run_due(now=recipe.next_run_at - timedelta(minutes=1)) == []
    (ran,) = recipes_run_due(now=recipe.next_run_at)
    ran.refresh_from_db()
    assert "not a column of this dataset" in ran.last_error  # it holds no rows yet
    assert ran.next_run_at > recipe.next_run_at
    assert recipes_run_due(now=recipe.next_run_at) == []  # claimed once


def test_bad_cron_is_a_400(client_and_dataset):
    _, client, slug = client_and_dataset
    answer = client.put(
        f"/api/v1/datasets/{slug}/recipe/", {"schedule": {"cron": "every night"}}, format="json"
    )
    assert answer.status_code == 400
    assert "five fields" in answer.json()["detail"]


def test_reading_rules_set_on_the_first_upload_through_the_api(warehouse):
    org = make_org()
    client = api_client_for(org)
    from django.core.files.base import ContentFile

    data = "id,temperature,when,zip\n1,3;5,05/01/2024,01234\n2,?,06/01/2024,2000\n"
    answer = client.post(
        "/api/v1/uploads/",
        {
            "file": ContentFile(data.replace(";", ",").replace("3,5", '"3,5"'), name="w.csv"),
            "null_tokens": "?,n/a",
            "decimal_separator": ",",
            "thousands_separator": "none",
            "day_first": "true",
            "column_types": "zip:text",
        },
        format="multipart",
    )
    assert answer.status_code == 202, answer.json()
    slug = answer.json()[0]["dataset"]
    dataset = Dataset.objects.get(slug=slug)
    types = {column.name: column.type.value for column in dataset.schema}
    assert types == {"id": "integer", "temperature": "decimal", "when": "date", "zip": "text"}
    rules = client.get(f"/api/v1/datasets/{slug}/reading-rules/").json()
    assert rules == {
        "null_tokens": ["?", "n/a"],
        "decimal_separator": ",",
        "thousands_separator": "",
        "day_first": True,
        "column_types": {"zip": "text"},
        "strict": False,
    }
    assert [str(row[2])[:10] for row in warehouse_rows(dataset)] == ["2024-01-05", "2024-01-06"]


def test_bad_reading_rule_on_upload_is_a_400_and_makes_no_dataset():
    org = make_org()
    client = api_client_for(org)
    from django.core.files.base import ContentFile

    answer = client.post(
        "/api/v1/uploads/",
        {"file": ContentFile(b"a\n1\n", name="x.csv"), "column_types": "a:number"},
        format="multipart",
    )
    assert answer.status_code == 400
    assert "'number' (column 'a') is not a type" in answer.json()["detail"]
    assert not Dataset.objects.exists()


def test_upload_answer_carries_the_reading_notes():
    org = make_org()
    client = api_client_for(org)
    job = upload(org, "d.csv", "id,day\n1,05/01/2024\n")
    notes = client.get(f"/api/v1/uploads/{job.id}/").json()["reading_notes"]
    assert len(notes) == 1 and "read month first" in notes[0]


def test_reading_rules_api_refuses_unknown_rules_and_bad_values():
    org = make_org()
    job = upload(org, "a.csv", "a\n1\n")
    client = api_client_for(org)
    url = f"/api/v1/datasets/{job.dataset.slug}/reading-rules/"
    assert (
        "Unknown reading rules 'nul': the rules are"
        in client.put(url, {"nul": []}, format="json").json()["detail"]
    )
    bad = client.put(url, {"decimal_separator": ",", "thousands_separator": ","}, format="json")
    assert bad.status_code == 400 and "must differ" in bad.json()["detail"]


def test_dataset_detail_reads_every_upload_s_notes_in_one_query(django_assert_max_num_queries):
    org = make_org()
    first = upload(org, "d.csv", "id,day\n1,05/01/2024\n")
    for n in range(4):
        upload(org, "d.csv", f"id,day\n{n},05/01/2024\n", dataset=first.dataset.slug)
    client = api_client_for(org)
    url = f"/api/v1/datasets/{first.dataset.slug}/"
    client.get(url)  # the session and membership lookups warm up
    with django_assert_max_num_queries(8):
        body = client.get(url).json()
    assert [len(u["reading_notes"]) for u in body["uploads"]] == [1] * 5


@pytest.mark.parametrize(
    "body", [{"strict": 0}, {"day_first": 1}, {"null_tokens": [0]}, {"column_types": {"a": 1}}]
)
def test_reading_rules_of_the_wrong_json_type_are_a_400(body):
    org = make_org()
    job = upload(org, "a.csv", "a\n1\n")
    client = api_client_for(org)
    answer = client.put(f"/api/v1/datasets/{job.dataset.slug}/reading-rules/", body, format="json")
    assert answer.status_code == 400, answer.json()
