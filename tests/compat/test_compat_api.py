"""The Simetric and Thena endpoints, sent exactly the requests docs/migrating.md documents, on
both warehouses, with a bearer token; answers checked against values computed in the test."""

from __future__ import annotations

import csv
import io
import itertools
import json
import random
import time
from datetime import UTC, datetime
from decimal import Decimal
from urllib.parse import parse_qsl, urlsplit

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.tasks import task_backends

from csvhub.compat.models import Customer
from csvhub.compat.services import upload_wait_slots, uploads_wait
from csvhub.datasets.models import Dataset, Upload
from csvhub.datasets.services import dataset_create

pytestmark = pytest.mark.django_db(transaction=True)

# Simetric's documented query, as its users send it.
SIMETRIC_QUERY = (
    "limit=0,2&sex=male&Name=like:Braund&Ticket=like:A&Fare=gt:7&sort=name:desc,Sex:asc"
)
TITANIC_HEADER = [
    "PassengerId", "Survived", "Pclass", "Name", "Sex", "Age",
    "SibSp", "Parch", "Ticket", "Fare", "Cabin", "Embarked",
]  # fmt: skip
# Given names with distinct capitals: "Braund, Mr. X" sorts the same under every collation.
GIVEN = ["Adam", "Bert", "Carl", "Dirk", "Emil", "Finn", "Gust", "Hugo", "Ivar", "Jens"]


def titanic_csv(seed: int = 13) -> str:
    """A titanic-shaped file: Braunds (some matching the query, some failing one filter each)
    among other passengers."""
    rng = random.Random(seed)
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(TITANIC_HEADER)
    for number in range(1, 61):
        braund = number % 3 == 0
        given = GIVEN[number % len(GIVEN)]
        sex = rng.choice(["male", "male", "female"])
        title = "Mr." if sex == "male" else "Mrs."
        name = f"Braund, {title} {given} {number}" if braund else f"Other, {title} {given}"
        ticket = rng.choice(["A/5 21171", "PC 17599", "CA 2343", "113803", "STON/O2 3101282"])
        fare = Decimal("7.00") if number % 9 == 0 else Decimal(rng.randint(300, 9000)) / 100
        age = rng.choice(["", str(rng.randint(1, 80))])
        writer.writerow(
            [
                number,
                rng.randint(0, 1),
                rng.randint(1, 3),
                name,
                sex,
                age,
                0,
                0,
                ticket,
                fare,
                rng.choice(["", "C85"]),
                rng.choice("SCQ"),
            ]
        )
    return out.getvalue()


def simetric_expected(text: str) -> tuple[list[str], int]:
    """The query answered in Python: male, "braund" and "a" as case-insensitive substrings,
    fare above 7; name descending then sex ascending; offset 0, two rows."""
    matching = [
        row
        for row in csv.DictReader(io.StringIO(text))
        if row["Sex"] == "male"
        and "braund" in row["Name"].lower()
        and "a" in row["Ticket"].lower()
        and Decimal(row["Fare"]) > 7
    ]
    matching.sort(key=lambda row: row["Sex"])
    matching.sort(key=lambda row: row["Name"], reverse=True)
    return [row["PassengerId"] for row in matching[:2]], len(matching)


def _file(name: str, text: str) -> SimpleUploadedFile:
    return SimpleUploadedFile(name, text.encode(), content_type="text/csv")


def test_simetric_upload_then_query_answers_as_the_rows_endpoint(warehouse, world, api_as):
    client = api_as("editor")
    text = titanic_csv()
    response = client.post(
        "/etl/", {"file": _file("titanic.csv", text), "title": "Titanic"}, format="multipart"
    )
    assert response.status_code == 202, response.content
    (created,) = response.json()
    assert created["dataset"] == "titanic"
    assert urlsplit(created["status_url"]).path == f"/api/v1/uploads/{created['id']}/"
    assert client.get(created["status_url"]).json()["state"] == "succeeded"

    simetric = client.get(f"/api/titanic/?{SIMETRIC_QUERY}")
    csvhub = client.get(f"/api/v1/datasets/titanic/rows/?{SIMETRIC_QUERY}")
    assert simetric.status_code == 200, simetric.content
    page, reference = simetric.json(), csvhub.json()
    expected_ids, expected_count = simetric_expected(text)
    assert [str(row["passengerid"]) for row in page["rows"]] == expected_ids
    assert page["count"] == expected_count and expected_count > 2
    for key in ("columns", "rows", "count", "count_capped", "previous"):
        assert page[key] == reference[key]
    # The next page is a Simetric URL carrying the same cursor as csvhub's: the same position
    # (a cursor is signed with the second it was made in, which two requests may straddle).
    assert urlsplit(page["next"]).path == "/api/titanic/"
    assert _unsigned(page["next"]) == _unsigned(reference["next"])
    following = client.get(page["next"]).json()
    assert following["rows"] == client.get(reference["next"]).json()["rows"]


def test_simetric_same_file_name_appends_and_title_names_the_dataset(warehouse, world, api_as):
    client = api_as("editor")
    first, second = titanic_csv(1), titanic_csv(2)
    client.post("/etl/", {"file": _file("titanic.csv", first), "title": "Ship"}, format="multipart")
    response = client.post("/etl/", {"file": _file("titanic.csv", second)}, format="multipart")

    assert response.json()[0]["dataset"] == "titanic"
    dataset = Dataset.objects.get(organization=world.acme)
    assert (dataset.slug, dataset.name, dataset.row_count) == ("titanic", "Ship", 120)


def test_table_name_is_the_slug_of_the_file_name(world, api_as):
    client = api_as("editor")
    client.post("/etl/", {"file": _file("Sales 2024.csv", "a\n1\n")}, format="multipart")

    for table_name in ("sales-2024", "Sales%202024"):
        assert client.get(f"/api/{table_name}/").json()["rows"] == [{"a": 1}]


def test_simetric_upload_with_a_different_header_fails_with_csvhubs_message(world, api_as):
    client = api_as("editor")
    client.post("/etl/", {"file": _file("titanic.csv", titanic_csv())}, format="multipart")
    response = client.post(
        "/etl/", {"file": _file("titanic.csv", "a,b\n1,2\n")}, format="multipart"
    )

    status = client.get(response.json()[0]["status_url"]).json()
    assert status["state"] == "failed"
    assert "header does not match the dataset's columns" in status["error"]
    assert Dataset.objects.get().row_count == 60


# Thena's events: `day` (a date) comes before the timestamp `occurred_at`, and `received_at` is
# a second timestamp; the time difference is measured on occurred_at.
EVENTS_1 = """\
event_id,day,occurred_at,received_at,kind,amount
1,2024-01-01,2024-03-01T08:00:00Z,2025-01-01T00:00:00Z,click,1.5
2,2024-01-02,2024-03-01T09:30:15Z,2025-01-01T00:00:00Z,view,2
3,2024-01-03,2024-03-02 10:00:00,2025-01-01T00:00:00Z,click,
"""
EVENTS_2 = """\
event_id,day,occurred_at,received_at,kind,amount
4,2024-01-04,2024-03-05T23:59:59+01:00,2025-06-01T00:00:00Z,buy,40
5,2024-01-05,2024-03-07T06:45:30Z,2025-06-01T00:00:00Z,click,3
"""


def _seconds_between_first_and_last(*texts: str) -> int:
    stamps = [
        datetime.fromisoformat(row["occurred_at"].replace(" ", "T"))
        for text in texts
        for row in csv.DictReader(io.StringIO(text))
    ]
    aware = [s if s.tzinfo else s.replace(tzinfo=UTC) for s in stamps]  # csvhub reads UTC
    return int((max(aware) - min(aware)).total_seconds())


def _row_count(*texts: str) -> int:
    return sum(len(list(csv.DictReader(io.StringIO(text)))) for text in texts)


JSON, CURL_DEFAULT = "application/json", "application/x-www-form-urlencoded"


def _analyze(client, body: dict, content_type: str):
    return client.post("/api/v1/analyze/", json.dumps(body), content_type=content_type)


def test_thena_two_uploads_then_both_analyses(warehouse, world, api_as):
    client = api_as("editor")
    # curl -F "file=@events.csv" -F "customer_id=1000" $BASE/api/v1/event/
    for text in (EVENTS_1, EVENTS_2):
        response = client.post(
            "/api/v1/event/",
            {"file": _file("events.csv", text), "customer_id": "1000"},
            format="multipart",
        )
        assert response.status_code == 202, response.content
        assert client.get(response.json()[0]["status_url"]).json()["state"] == "succeeded"

    # Thena documents `analyze_type`; its curl example sends `analyzer_type`. curl -d sends
    # the JSON as a form unless told otherwise: both labels are read as JSON.
    spellings = ("analyze_type", "analyzer_type")
    for key, content_type in itertools.product(spellings, (JSON, CURL_DEFAULT)):
        span = _analyze(client, {"customer_id": 1000, key: 10000}, content_type)
        count = _analyze(client, {"customer_id": 1000, key: 10001}, content_type)
        assert span.status_code == 200, span.content
        assert span.json()["result"] == _seconds_between_first_and_last(EVENTS_1, EVENTS_2)
        assert span.json()["column"] == "occurred_at"
        assert span.json()["duration"] == "P5DT22H45M30S"
        assert count.json()["result"] == _row_count(EVENTS_1, EVENTS_2) == 5
    assert Customer.objects.get().dataset.uploads.count() == 2


def test_thena_upload_with_other_columns_fails_with_csvhubs_message(warehouse, world, api_as):
    client = api_as("editor")
    client.post(
        "/api/v1/event/",
        {"file": _file("events.csv", EVENTS_1), "customer_id": "1000"},
        format="multipart",
    )
    response = client.post(
        "/api/v1/event/",
        {"file": _file("events.csv", "event_id,colour\n9,red\n"), "customer_id": "1000"},
        format="multipart",
    )

    status = client.get(response.json()[0]["status_url"]).json()
    assert status["state"] == "failed"
    assert status["error"] == (
        "The file's header does not match the dataset's columns (missing columns: day, "
        "occurred_at, received_at, kind, amount; unexpected columns: colour). Appending needs "
        "the same columns, in any order."
    )
    answer = client.post(
        "/api/v1/analyze/", {"customer_id": 1000, "analyze_type": 10001}, format="json"
    )
    assert answer.json()["result"] == 3


def test_customer_ids_normalize_and_are_listed(world, api_as):
    client = api_as("editor")
    upper = "6F9619FF-8B86-D011-B42D-00C04FC964FF"
    for customer_id in ("1000", "01000", upper, "6f9619ff-8b86-d011-b42d-00c04fc964ff"):
        client.post(
            "/api/v1/event/",
            {"file": _file("events.csv", EVENTS_2), "customer_id": customer_id},
            format="multipart",
        )

    listed = client.get("/api/v1/customers/").json()
    assert [(c["customer_id"], c["row_count"]) for c in listed] == [
        ("1000", 4),
        (upper.lower(), 4),
    ]
    assert listed[0]["dataset"] == "customer-1000"
    by_uuid = client.post(
        "/api/v1/analyze/", {"customer_id": upper, "analyze_type": 10001}, format="json"
    )
    assert by_uuid.json()["result"] == 4


def test_analyze_still_reads_a_real_form(world, api_as):
    client = api_as("editor")
    client.post(
        "/api/v1/event/",
        {"file": _file("events.csv", EVENTS_1), "customer_id": "1000"},
        format="multipart",
    )
    answer = client.post(
        "/api/v1/analyze/", "customer_id=1000&analyzer_type=10001", content_type=CURL_DEFAULT
    )
    assert answer.json()["result"] == 3


def test_deleting_a_customers_dataset_forgets_the_customer(world, api_as):
    client = api_as("editor")
    body = {"customer_id": "1000"}
    client.post("/api/v1/event/", {**body, "file": _file("e.csv", EVENTS_1)}, format="multipart")
    assert client.delete("/api/v1/datasets/customer-1000/").status_code == 204
    assert client.get("/api/v1/customers/").json() == []

    client.post("/api/v1/event/", {**body, "file": _file("e.csv", EVENTS_2)}, format="multipart")
    answer = client.post(
        "/api/v1/analyze/", {"customer_id": 1000, "analyze_type": 10001}, format="json"
    )
    assert answer.json()["result"] == 2


def test_another_organizations_table_and_customer_are_404(world, api_as):
    api_as("editor").post(
        "/etl/", {"file": _file("titanic.csv", titanic_csv())}, format="multipart"
    )
    api_as("editor").post(
        "/api/v1/event/",
        {"file": _file("events.csv", EVENTS_1), "customer_id": "7"},
        format="multipart",
    )
    other = api_as("other_org")

    assert other.get(f"/api/titanic/?{SIMETRIC_QUERY}").status_code == 404
    assert other.get("/api/_/titanic/").status_code == 404
    answer = other.post(
        "/api/v1/analyze/", {"customer_id": 7, "analyze_type": 10001}, format="json"
    )
    assert answer.status_code == 404
    assert other.get("/api/v1/customers/").json() == []


def test_a_viewer_reads_but_cannot_upload(world, api_as):
    api_as("editor").post(
        "/etl/", {"file": _file("titanic.csv", titanic_csv())}, format="multipart"
    )
    viewer = api_as("viewer")

    assert viewer.get("/api/titanic/").status_code == 200
    refused = viewer.post("/etl/", {"file": _file("t.csv", "a\n1\n")}, format="multipart")
    assert refused.status_code == 403


@pytest.mark.parametrize("name", ["v1", "schema", "docs"])
def test_csvhubs_routes_win_and_the_escape_reaches_a_table_named_like_them(name, world, api_as):
    client = api_as("editor")
    client.post("/etl/", {"file": _file(f"{name}.csv", "a\n1\n")}, format="multipart")

    assert client.get(f"/api/_/{name}/").json()["rows"] == [{"a": 1}]
    assert client.get(f"/api/v1/datasets/{name}/rows/").json()["rows"] == [{"a": 1}]
    shadowed = client.get(f"/api/{name}/")
    if name == "v1":
        assert shadowed.status_code == 404
        assert "/api/_/v1/" in shadowed.json()["detail"]
    else:
        assert shadowed.status_code == 200
        assert shadowed["Content-Type"].startswith(("application/vnd.oai.openapi", "text/html"))
    assert client.get("/api/v1/datasets/").status_code == 200


def test_schema_documents_the_endpoints_under_the_compatibility_tag(world, api_as):
    schema = api_as("viewer").get("/api/schema/?format=json").json()
    tagged = {
        (path, method)
        for path, operations in schema["paths"].items()
        for method, operation in operations.items()
        if "compatibility" in operation.get("tags", [])
    }
    assert tagged == {
        ("/etl/", "post"),
        ("/api/{table_name}/", "get"),
        ("/api/_/{table_name}/", "get"),
        ("/api/v1/event/", "post"),
        ("/api/v1/analyze/", "post"),
        ("/api/v1/customers/", "get"),
    }
    query = schema["paths"]["/api/{table_name}/"]["get"]
    assert {p["name"] for p in query["parameters"]} >= {"table_name", "limit", "sort", "filters"}
    assert "slug" not in {p["name"] for p in query["parameters"]}
    rows = schema["paths"]["/api/v1/datasets/{slug}/rows/"]["get"]
    assert "compatibility" not in rows["tags"]


THREAD_TASKS = {
    "default": {"BACKEND": "csvhub.jobs.backends.ThreadBackend", "OPTIONS": {"threads": 1}}
}


def _many_events(count: int) -> str:
    lines = [
        f"{i},2024-01-01,2024-03-01T08:{i % 60:02d}:00Z,2025-01-01,click,1" for i in range(count)
    ]
    return EVENTS_1.splitlines()[0] + "\n" + "\n".join(lines) + "\n"


def test_upload_answers_once_loaded_so_scripts_can_query_at_once(settings, world, api_as):
    """With background ingestion (the thread runner, as in production), a Thena script that
    analyses right after uploading sees its rows."""
    settings.TASKS = THREAD_TASKS
    client = api_as("editor")
    text = _many_events(20_000)
    try:
        response = client.post(
            "/api/v1/event/", {"file": _file("e.csv", text), "customer_id": "1"}, format="multipart"
        )
        count = client.post(
            "/api/v1/analyze/", {"customer_id": 1, "analyze_type": 10001}, format="json"
        )
    finally:
        task_backends["default"].wait()
    assert response.json()[0]["state"] == "succeeded"
    assert count.json()["result"] == 20_000


def test_the_wait_ends_after_its_seconds_when_the_load_has_not(world):
    dataset = dataset_create(organization=world.acme, name="slow")
    queued = Upload.objects.create(dataset=dataset, original_name="slow.csv", file="slow.csv")
    started = time.monotonic()

    (answered,) = uploads_wait(uploads=[queued], seconds=0.3)

    assert 0.3 <= time.monotonic() - started < 2
    assert answered.state == "queued" and answered.dataset.slug == "slow"


def _queued(world, name: str) -> Upload:
    dataset = dataset_create(organization=world.acme, name=name)
    return Upload.objects.create(dataset=dataset, original_name=f"{name}.csv", file=f"{name}.csv")


def test_an_upload_queued_behind_other_jobs_is_answered_at_once(settings, world):
    """It would not start before the wait ends: holding a request thread for it helps nobody."""
    settings.CSVHUB_WORKER_THREADS = 2
    _queued(world, "first")
    _queued(world, "second")
    mine = _queued(world, "mine")
    started = time.monotonic()

    (answered,) = uploads_wait(uploads=[mine], seconds=3)

    assert time.monotonic() - started < 1
    assert answered.state == "queued"


def test_only_so_many_uploads_wait_at_once_the_others_answer_at_once(settings, world):
    """A waiting upload holds a request thread: with every wait slot taken (here the one slot
    is held by another request), an upload that could start answers at once."""
    settings.CSVHUB_COMPAT_UPLOAD_WAITERS = 1
    mine = _queued(world, "mine")
    slots = upload_wait_slots()
    assert slots.acquire(blocking=False)
    try:
        started = time.monotonic()
        (answered,) = uploads_wait(uploads=[mine], seconds=3)
        elapsed = time.monotonic() - started
    finally:
        slots.release()

    assert elapsed < 1
    assert answered.state == "queued"
    # The slot is free again: the next upload waits (for its seconds, as nothing loads it).
    started = time.monotonic()
    uploads_wait(uploads=[mine], seconds=0.3)
    assert time.monotonic() - started >= 0.3


def _unsigned(url: str) -> list[tuple[str, str]]:
    """A page link's parameters, its cursor without the signing time and signature."""
    return [
        (name, value.rsplit(":", 2)[0] if name == "cursor" else value)
        for name, value in parse_qsl(urlsplit(url).query)
    ]
