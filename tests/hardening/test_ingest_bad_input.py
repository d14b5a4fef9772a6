"""Bad uploads of issue 11, items 5, 7 and 21, as a table: what is sent, and the answer.

Requests are refused before their body is read (the test client fails a read past the bytes
given, so each refused body here claims far more than it holds); files that cannot be loaded
fail their upload with a message, nothing loaded, every reject counted, and their dataset shown
as failed until discarded.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from csvhub.accounts.models import Membership
from csvhub.datasets.models import Dataset, Upload
from tests.datasets.pipeline import make_org

pytestmark = pytest.mark.django_db(transaction=True)

BOUNDARY = "bad-input-boundary"
CSRF = "k" * 32
FILE_PART = (
    f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="file"; filename="b.csv"\r\n'
    "Content-Type: text/csv\r\n\r\na\n1\n"
).encode()


def _client(role: str) -> Client:
    from django.contrib.auth import get_user_model

    organization = make_org()
    user = get_user_model().objects.create_user(role, password="x")
    Membership.objects.create(user=user, organization=organization, role=role)
    client = Client(enforce_csrf_checks=True)
    client.force_login(user)
    client.cookies["csrftoken"] = CSRF
    return client


def _claiming(client: Client, claimed: int) -> Any:
    return client.generic(
        "POST",
        "/api/v1/uploads/",
        FILE_PART,
        f"multipart/form-data; boundary={BOUNDARY}",
        CONTENT_LENGTH=str(claimed),
        HTTP_X_CSRFTOKEN=CSRF,
    )


def _files(client: Client, *contents: bytes) -> Any:
    files = [SimpleUploadedFile(f"f{i}.csv", c) for i, c in enumerate(contents)]
    return client.post("/api/v1/uploads/", {"file": files}, HTTP_X_CSRFTOKEN=CSRF)


@dataclass(frozen=True)
class Refusal:
    name: str
    role: str
    send: Callable[[Client], Any]
    status: int
    message: str
    settings: dict[str, Any] = field(default_factory=dict)


REFUSALS = [
    Refusal(
        "declared body over the limit (item 7)",
        "editor",
        lambda c: _claiming(c, 52 * 1024 * 1024),
        413,
        "CSVHUB_MAX_UPLOAD_BYTES",
        {"CSVHUB_MAX_UPLOAD_BYTES": 1024 * 1024},
    ),
    Refusal(
        "viewer's session upload, body never read (item 7)",
        "viewer",
        lambda c: _claiming(c, 52 * 1024 * 1024),
        403,
        "editor role",
    ),
    Refusal(
        "file past the limit while streaming (item 7)",
        "editor",
        lambda c: _files(c, b"a\n" + b"1\n" * 40_000),
        413,
        "largest upload accepted",
        {"CSVHUB_MAX_UPLOAD_BYTES": 64 * 1024},
    ),
    Refusal(
        "files of one request over the limit together (item 7)",
        "editor",
        lambda c: _files(c, b"a\n" + b"1\n" * 9, b"a\n" + b"2\n" * 9),
        413,
        "largest upload accepted",
        {"CSVHUB_MAX_UPLOAD_BYTES": 30},
    ),
]


@pytest.mark.parametrize("case", REFUSALS, ids=lambda case: case.name)
def test_upload_request_is_refused(case: Refusal, settings) -> None:
    for name, value in case.settings.items():
        setattr(settings, name, value)
    response = case.send(_client(case.role))
    assert response.status_code == case.status, response.content
    assert case.message in response.json()["detail"]
    assert not Dataset.objects.exists()


@dataclass(frozen=True)
class Failure:
    name: str
    content: bytes
    message: str
    rows_rejected: int
    settings: dict[str, Any] = field(default_factory=dict)


PNG = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(80)
FAILURES = [
    Failure("a PNG as first upload (item 21)", PNG, "", 0),
    Failure(
        "too many bad rows: exact count, nothing loaded (item 21)",
        b"a,b\n1,2\n3\n4\n5\n",
        "3 of 4 rows could not be read",
        3,
        {"CSVHUB_MAX_REJECT_RATIO": 0.1},
    ),
    Failure(
        "a field needing more memory than the reader may use (item 5)",
        b'a,b\n1,"' + b"x" * (40 << 20) + b'"\n',
        "needs more memory than the 96 MiB the reader is allowed",
        0,
        # A record limit above the field, so that memory is what it runs into.
        {
            "CSVHUB_READER_MEMORY_LIMIT_BYTES": 96 << 20,
            "CSVHUB_CHILD_READER_MIN_BYTES": 0,
            "CSVHUB_MAX_RECORD_SIZE": 64 << 20,
        },
    ),
]


@pytest.mark.parametrize("case", FAILURES, ids=lambda case: case.name)
def test_file_that_cannot_be_loaded_fails_its_upload(case: Failure, settings) -> None:
    for name, value in case.settings.items():
        setattr(settings, name, value)
    client = _client("editor")
    response = _files(client, case.content)
    assert response.status_code == 202, response.content
    upload = Upload.objects.get(pk=response.json()[0]["id"])
    assert upload.state == "failed"
    assert case.message in upload.error and upload.error
    assert (upload.rows_loaded, upload.rows_rejected) == (0, case.rows_rejected)
    dataset = client.get(f"/api/v1/datasets/{upload.dataset.slug}/").json()
    assert (dataset["status"], dataset["row_count"]) == ("failed", 0)
