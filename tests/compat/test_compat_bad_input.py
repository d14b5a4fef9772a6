"""Bad input to the Simetric and Thena endpoints: each case is a request and the 4xx it gets,
with a message saying what to fix. Nothing is half-created by a refused request."""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlencode

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db.models.signals import post_save

from csvhub.compat.models import Customer
from csvhub.compat.services import event_upload_create, table_upload_create
from csvhub.datasets.errors import UploadTooLarge
from csvhub.datasets.models import Dataset

pytestmark = pytest.mark.django_db(transaction=True)

EVENTS = "event_id,occurred_at\n1,2024-03-01T08:00:00Z\n2,2024-03-02T08:00:00Z\n"
NO_TIME = "event_id,kind\n1,click\n"


@dataclass(frozen=True)
class Case:
    name: str
    method: str
    path: str
    body: dict | list | None
    status: int
    message: str
    multipart: bool = False
    form: bool = False  # application/x-www-form-urlencoded, a list value repeating its key


def _file(name: str = "events.csv", text: str = EVENTS) -> SimpleUploadedFile:
    return SimpleUploadedFile(name, text.encode(), content_type="text/csv")


CASES = [
    Case("etl without a file", "post", "/etl/", {"title": "x"}, 400, "part named 'file'", True),
    Case(
        "etl with two files",
        "post",
        "/etl/",
        {"file": [_file("a.csv"), _file("b.csv")]},
        400,
        "one file per request",
        True,
    ),
    Case("unknown table", "get", "/api/nosuch/", None, 404, "No dataset with slug 'nosuch'"),
    Case("table named like csvhub's root", "get", "/api/v1/", None, 404, "/api/_/v1/"),
    Case("the same in capitals", "get", "/api/V1/", None, 404, "/api/_/v1/"),
    Case("table named like a future API version", "get", "/api/v2/", None, 404, "/api/_/v2/"),
    Case("table name of an underscore", "get", "/api/_/", None, 404, "names no table"),
    Case("table name of a dash", "get", "/api/-/", None, 404, "names no table"),
    Case("table name of a space", "get", "/api/%20/", None, 404, "names no table"),
    Case("escaped name of a dash", "get", "/api/_/-/", None, 404, "names no table"),
    Case(
        "etl file named like a customer's dataset",
        "post",
        "/etl/",
        {"file": "customer-1000.csv"},
        409,
        "Thena customer 1000's events",
        True,
    ),
    Case(
        "event with a 32-digit customer_id",
        "post",
        "/api/v1/event/",
        {"file": "FILE", "customer_id": "1" * 32},
        400,
        "up to 19 digits",
        True,
    ),
    Case(
        "event with a UUID in braces (the schema's UUIDs are written in full)",
        "post",
        "/api/v1/event/",
        {"file": "FILE", "customer_id": "{6f9619ff-8b86-d011-b42d-00c04fc964ff}"},
        400,
        "8-4-4-4-12 hexadecimal digits",
        True,
    ),
    Case(
        "analyze form repeating analyze_type",
        "post",
        "/api/v1/analyze/",
        {"customer_id": "1000", "analyze_type": ["10001", "10000"]},
        400,
        "Send each key once; repeated: analyze_type",
        form=True,
    ),
    Case(
        "analyze form with Arabic-Indic digits",
        "post",
        "/api/v1/analyze/",
        {"customer_id": "1000", "analyze_type": "\u0661\u0660\u0660\u0660\u0661"},
        400,
        "Unknown analyze_type",
        form=True,
    ),
    Case(
        "analyze JSON with Arabic-Indic digits",
        "post",
        "/api/v1/analyze/",
        {"customer_id": 1000, "analyze_type": "\u0661\u0660\u0660\u0660\u0661"},
        400,
        "Unknown analyze_type",
    ),
    Case("unknown filter column", "get", "/api/known/?nosuch=1", None, 400, "nosuch"),
    Case("bad limit", "get", "/api/known/?limit=x", None, 400, "limit"),
    Case(
        "event without customer_id",
        "post",
        "/api/v1/event/",
        {"file": "FILE"},
        400,
        "customer_id must be a non-negative integer",
        True,
    ),
    Case(
        "event with a text customer_id",
        "post",
        "/api/v1/event/",
        {"file": "FILE", "customer_id": "acme"},
        400,
        "or a UUID (8-4-4-4-12 hexadecimal digits); got 'acme'",
        True,
    ),
    Case(
        "event with a negative customer_id",
        "post",
        "/api/v1/event/",
        {"file": "FILE", "customer_id": "-5"},
        400,
        "non-negative integer",
        True,
    ),
    Case(
        "event without a file",
        "post",
        "/api/v1/event/",
        {"customer_id": "5"},
        400,
        "part named 'file'",
        True,
    ),
    Case(
        "unknown analyze_type",
        "post",
        "/api/v1/analyze/",
        {"customer_id": 1000, "analyze_type": 3},
        400,
        "Unknown analyze_type 3. Valid types: 10000 (time difference",
    ),
    Case(
        "unknown analyzer_type",
        "post",
        "/api/v1/analyze/",
        {"customer_id": 1000, "analyzer_type": "10002"},
        400,
        "10001 (total number of rows)",
    ),
    Case(
        "no analyze_type",
        "post",
        "/api/v1/analyze/",
        {"customer_id": 1000},
        400,
        "Send analyze_type (or analyzer_type). Valid types: 10000",
    ),
    Case(
        "analyze_type true",
        "post",
        "/api/v1/analyze/",
        {"customer_id": 1000, "analyze_type": True},
        400,
        "Valid types",
    ),
    Case(
        "both spellings disagree",
        "post",
        "/api/v1/analyze/",
        {"customer_id": 1000, "analyze_type": 10000, "analyzer_type": 10001},
        400,
        "disagree",
    ),
    Case(
        "analyze without customer_id",
        "post",
        "/api/v1/analyze/",
        {"analyze_type": 10001},
        400,
        "customer_id must be",
    ),
    Case(
        "analyze with a fractional customer_id",
        "post",
        "/api/v1/analyze/",
        {"customer_id": 1000.5, "analyze_type": 10001},
        400,
        "customer_id must be",
    ),
    Case(
        "analyze a body that is not an object",
        "post",
        "/api/v1/analyze/",
        [1000, 10001],
        400,
        "Send analyze_type",
    ),
    Case(
        "unknown customer",
        "post",
        "/api/v1/analyze/",
        {"customer_id": 999, "analyze_type": 10001},
        404,
        "No customer 999 in this organization",
    ),
    Case(
        "time difference without a time column",
        "post",
        "/api/v1/analyze/",
        {"customer_id": 2, "analyze_type": 10000},
        400,
        "analyze_type 10000 measures time: time_span needs a date or timestamp column, and this "
        "dataset has none",
    ),
]


def _seed(client) -> None:
    client.post("/etl/", {"file": _file("known.csv")}, format="multipart")
    for customer_id, text in (("1000", EVENTS), ("2", NO_TIME)):
        client.post(
            "/api/v1/event/",
            {"file": _file(text=text), "customer_id": customer_id},
            format="multipart",
        )


def _part(value: object) -> object:
    """ "FILE": an events file; "*.csv": an events file of that name."""
    if value == "FILE":
        return _file()
    if isinstance(value, str) and value.endswith(".csv"):
        return _file(value)
    return value


def _send(client, case: Case):
    if case.multipart:
        body = {key: _part(value) for key, value in case.body.items()}
        return client.post(case.path, body, format="multipart")
    if case.form:
        body = urlencode(case.body, doseq=True)
        return client.post(case.path, body, content_type="application/x-www-form-urlencoded")
    if case.body is not None:
        return client.post(case.path, case.body, format="json")
    return client.get(case.path)


@pytest.mark.parametrize("case", CASES, ids=lambda case: case.name)
def test_bad_input_gets_a_4xx_saying_what_to_fix(case: Case, world, api_as) -> None:
    client = api_as("editor")
    _seed(client)
    datasets, customers = Dataset.objects.count(), Customer.objects.count()

    response = _send(client, case)

    assert response.status_code == case.status, response.content
    assert response["Content-Type"].startswith("application/json")
    assert case.message in response.content.decode()
    assert (Dataset.objects.count(), Customer.objects.count()) == (datasets, customers)


@pytest.mark.parametrize(
    ("path", "body"), [("/etl/", {}), ("/api/v1/event/", {"customer_id": "5"})]
)
def test_a_refused_first_upload_leaves_no_dataset_or_customer(
    path: str, body: dict, settings, world, api_as
) -> None:
    """The size is checked before the dataset is made: no dataset is created and deleted again
    (which could delete it under a concurrent request that found it meanwhile)."""
    settings.CSVHUB_MAX_UPLOAD_BYTES = 10
    created: list[Dataset] = []

    def record(sender: type, instance: Dataset, **kwargs: object) -> None:
        if kwargs.get("created"):
            created.append(instance)

    post_save.connect(record, sender=Dataset)
    try:
        response = api_as("editor").post(path, {**body, "file": _file()}, format="multipart")
    finally:
        post_save.disconnect(record, sender=Dataset)

    assert response.status_code == 413
    assert "CSVHUB_MAX_UPLOAD_BYTES" in response.json()["detail"]
    assert not Customer.objects.exists() and not Dataset.objects.exists()
    assert created == []


@pytest.mark.parametrize("kind", ["table", "event"])
def test_a_too_large_file_is_refused_before_its_dataset_is_made(kind: str, settings, world):
    """Through the services (over HTTP the upload handler refuses such a body before the view):
    the size is checked first, so no dataset is created, then deleted under a concurrent
    request that found it meanwhile."""
    settings.CSVHUB_MAX_UPLOAD_BYTES = 10
    created: list[Dataset] = []

    def record(sender: type, instance: Dataset, **kwargs: object) -> None:
        if kwargs.get("created"):
            created.append(instance)

    post_save.connect(record, sender=Dataset)
    try:
        with pytest.raises(UploadTooLarge, match="CSVHUB_MAX_UPLOAD_BYTES"):
            if kind == "table":
                table_upload_create(organization=world.acme, files=[_file()])
            else:
                event_upload_create(organization=world.acme, customer_id="5", files=[_file()])
    finally:
        post_save.disconnect(record, sender=Dataset)

    assert created == []
    assert not Customer.objects.exists() and not Dataset.objects.exists()
