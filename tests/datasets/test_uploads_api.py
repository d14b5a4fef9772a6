"""The datasets and uploads API: shapes, status codes and messages."""

from __future__ import annotations

import http.client
import json
import socket
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from csvhub.datasets.models import Dataset
from tests.datasets.pipeline import api_client_for, make_org, table_exists

pytestmark = pytest.mark.django_db(transaction=True)


def _file(name: str, content: bytes) -> SimpleUploadedFile:
    return SimpleUploadedFile(name, content, content_type="text/csv")


def test_upload_several_files_creates_one_dataset_each():
    org = make_org()
    client = api_client_for(org)
    response = client.post(
        "/api/v1/uploads/",
        {"file": [_file("titanic.csv", b"a,b\n1,x\n"), _file("ships.csv", b"c\n2\n")]},
        format="multipart",
    )

    assert response.status_code == 202, response.content
    body = response.json()
    assert [u["dataset"] for u in body] == ["titanic", "ships"]
    assert all(u["status_url"].endswith(f"/api/v1/uploads/{u['id']}/") for u in body)
    status = client.get(body[0]["status_url"]).json()
    assert status["state"] == "succeeded"
    assert (status["rows_loaded"], status["bytes_total"]) == (1, 8)


def test_upload_with_dataset_appends():
    org = make_org()
    client = api_client_for(org)
    client.post("/api/v1/uploads/", {"file": _file("t.csv", b"a\n1\n")}, format="multipart")
    response = client.post(
        "/api/v1/uploads/",
        {"file": _file("more.csv", b"a\n2\n"), "dataset": "t"},
        format="multipart",
    )
    assert response.status_code == 202
    assert response.json()[0]["dataset"] == "t"
    detail = client.get("/api/v1/datasets/t/").json()
    assert detail["row_count"] == 2
    assert [u["file_name"] for u in detail["uploads"]] == ["t.csv", "more.csv"]
    assert detail["columns"] == [
        {
            "name": "a",
            "label": "a",
            "type": "integer",
            "nullable": False,
            "description": "",
            "unit": "",
        }
    ]


def test_upload_without_file_is_400_saying_what_to_send():
    client = api_client_for(make_org())
    response = client.post("/api/v1/uploads/", {}, format="multipart")
    assert response.status_code == 400
    assert "file" in response.json()["detail"]


def test_upload_to_unknown_dataset_is_404():
    client = api_client_for(make_org())
    response = client.post(
        "/api/v1/uploads/",
        {"file": _file("x.csv", b"a\n1\n"), "dataset": "nope"},
        format="multipart",
    )
    assert response.status_code == 404
    assert "nope" in response.json()["detail"]
    assert not Dataset.objects.exists()


def test_upload_over_the_size_limit_is_413(settings):
    settings.CSVHUB_MAX_UPLOAD_BYTES = 10
    client = api_client_for(make_org())
    response = client.post(
        "/api/v1/uploads/", {"file": _file("big.csv", b"a\n" + b"1\n" * 20)}, format="multipart"
    )
    assert response.status_code == 413
    assert "CSVHUB_MAX_UPLOAD_BYTES" in response.json()["detail"]
    assert not Dataset.objects.exists()


def test_create_list_and_show_datasets():
    org = make_org()
    client = api_client_for(org)
    created = client.post("/api/v1/datasets/", {"name": "Empty one"}, format="json")
    assert created.status_code == 201
    assert created.json()["slug"] == "empty-one"
    assert created.json()["status"] == "empty"

    listed = client.get("/api/v1/datasets/").json()
    assert [(d["slug"], d["files"], d["row_count"]) for d in listed] == [("empty-one", 0, 0)]
    assert client.get("/api/v1/datasets/empty-one/").json()["uploads"] == []


def test_create_dataset_without_name_is_400():
    client = api_client_for(make_org())
    response = client.post("/api/v1/datasets/", {}, format="json")
    assert response.status_code == 400
    assert response.json() == {
        "detail": "name: This field is required.",
        "errors": {"name": ["This field is required."]},
    }


def test_original_file_streams_back_byte_for_byte():
    client = api_client_for(make_org())
    content = "naïve,x\r\n1,2\r\n".encode("cp1252")
    body = client.post(
        "/api/v1/uploads/", {"file": _file("raw.csv", content)}, format="multipart"
    ).json()
    response = client.get(body[0]["file_url"])
    assert response.status_code == 200
    assert b"".join(response.streaming_content) == content
    assert "raw.csv" in response["Content-Disposition"]
    # The uploader's bytes, whatever the name suggests (a .html or .svg is never rendered).
    assert response["Content-Type"] == "application/octet-stream"


def test_rejects_endpoint_lists_lines_and_reasons(settings):
    settings.CSVHUB_MAX_REJECT_RATIO = 0.9
    client = api_client_for(make_org())
    body = client.post(
        "/api/v1/uploads/", {"file": _file("bad.csv", b"a,b\n1,2\n3\n4,5,6\n")}, format="multipart"
    ).json()
    rejects = client.get(body[0]["rejects_url"]).json()
    assert rejects["count"] == 2
    assert [(r["line"], r["text"]) for r in rejects["rows"]] == [(3, "3"), (4, "4,5,6")]
    assert "expected 2 fields" in rejects["rows"][0]["reason"]


def test_failed_upload_explains_why():
    org = make_org()
    client = api_client_for(org)
    client.post("/api/v1/uploads/", {"file": _file("h.csv", b"a\n1\n")}, format="multipart")
    body = client.post(
        "/api/v1/uploads/", {"file": _file("h2.csv", b"b\n1\n"), "dataset": "h"}, format="multipart"
    ).json()
    status = client.get(body[0]["status_url"]).json()
    assert status["state"] == "failed"
    assert "missing columns: a" in status["error"]


def test_delete_dataset_removes_everything():
    org = make_org()
    client = api_client_for(org)
    client.post("/api/v1/uploads/", {"file": _file("d.csv", b"a\n1\n")}, format="multipart")
    table = Dataset.objects.get(slug="d").table_name

    assert client.delete("/api/v1/datasets/d/").status_code == 204
    assert client.get("/api/v1/datasets/d/").status_code == 404
    assert not table_exists(table_name=table)


def test_unknown_upload_id_is_404():
    client = api_client_for(make_org())
    assert client.get("/api/v1/uploads/not-a-uuid/").status_code == 404
    assert client.get("/api/v1/uploads/00000000-0000-0000-0000-000000000000/").status_code == 404


def test_schema_and_docs_are_served():
    client = api_client_for(make_org())
    schema = client.get("/api/schema/")
    assert schema.status_code == 200
    assert b"/api/v1/uploads/" in schema.content
    assert client.get("/api/docs/").status_code == 200


def test_health_checks_need_no_login(client):
    assert client.get("/healthz").json() == {"status": "ok"}
    ready = client.get("/readyz")
    assert ready.status_code == 200
    checks = ready.json()["checks"]
    assert {"database", "warehouse", "migrations", "serving"} <= set(checks)
    assert set(checks.values()) == {"ok"}


@pytest.mark.s3
def test_s3_storage_round_trip(s3_storage):
    """Files go to a real S3 endpoint (moto server) and ingestion streams them back."""
    import boto3

    client = api_client_for(make_org())
    content = b"a,b\n1,x\n2,y\n"
    body = client.post(
        "/api/v1/uploads/", {"file": _file("s3.csv", content)}, format="multipart"
    ).json()
    status = client.get(body[0]["status_url"]).json()
    assert status["state"] == "succeeded", status["error"]
    assert status["rows_loaded"] == 2

    from django.conf import settings

    endpoint = settings.STORAGES["default"]["OPTIONS"]["endpoint_url"]
    keys = [
        obj["Key"]
        for obj in boto3.client("s3", endpoint_url=endpoint, region_name="us-east-1")
        .list_objects_v2(Bucket=s3_storage)
        .get("Contents", [])
    ]
    assert len(keys) == 1 and keys[0].startswith("files/uploads/")
    download = client.get(body[0]["file_url"])
    assert b"".join(download.streaming_content) == content


def test_a_file_of_several_upload_chunks_is_stored_byte_for_byte():
    # Bigger than the upload handler's 512 KiB pieces, with a line cut at each boundary.
    content = b"n,text\n" + b"".join(b"%d,row %d \xc3\xa9\n" % (i, i) for i in range(150_000))
    assert len(content) > 3 * 512 * 1024
    client = api_client_for(make_org())
    response = client.post(
        "/api/v1/uploads/", {"file": _file("big.csv", content)}, format="multipart"
    )
    assert response.status_code == 202, response.content
    upload = response.json()[0]
    assert client.get(upload["status_url"]).json()["rows_loaded"] == 150_000
    stored = client.get(f"/api/v1/uploads/{upload['id']}/file")
    assert b"".join(stored.streaming_content) == content


# -- bodies refused before they are read --------------------------------------------------------

BOUNDARY = "csvhub-test-boundary"
MULTIPART = f"multipart/form-data; boundary={BOUNDARY}"
CLAIMED = 52 * 1024 * 1024  # the body the client says it sends; it never sends all of it


def _part_start(name: str = "big.csv") -> bytes:
    """The start of a multipart body: one file part and its first rows, no end."""
    head = (
        f"--{BOUNDARY}\r\n"
        f'Content-Disposition: form-data; name="file"; filename="{name}"\r\n'
        "Content-Type: text/csv\r\n\r\n"
    )
    return head.encode() + b"a\n" + b"1\n" * 2000


def _member(organization, username: str, role: str):
    from django.contrib.auth import get_user_model

    from csvhub.accounts.models import Membership

    user = get_user_model().objects.create_user(username, password="x")
    Membership.objects.create(user=user, organization=organization, role=role)
    return user


def _session_client(user) -> Client:
    """A browser's session, with the CSRF check the test client usually skips."""
    client = Client(enforce_csrf_checks=True)
    client.force_login(user)
    client.cookies["csrftoken"] = CSRF_TOKEN
    return client


CSRF_TOKEN = "c" * 32


@pytest.fixture
def spool_dir(tmp_path, settings) -> Path:
    """Where request bodies would be spooled: empty unless a body was read."""
    directory = tmp_path / "spool"
    directory.mkdir()
    settings.FILE_UPLOAD_TEMP_DIR = str(directory)
    return directory


# Every view that takes uploads: csvhub's own and the Simetric and Thena ones (csvhub.compat).
UPLOAD_PATHS = ["/api/v1/uploads/", "/etl/", "/api/v1/event/"]


@pytest.mark.parametrize("path", UPLOAD_PATHS)
def test_a_declared_length_over_the_limit_is_413_before_the_body_is_read(path, settings, spool_dir):
    settings.CSVHUB_MAX_UPLOAD_BYTES = 1024 * 1024
    client = api_client_for(make_org())
    # Only the body's first bytes exist: reading further would fail the test client.
    response = client.generic("POST", path, _part_start(), MULTIPART, CONTENT_LENGTH=str(CLAIMED))
    assert response.status_code == 413
    assert "CSVHUB_MAX_UPLOAD_BYTES" in response.json()["detail"]
    assert f"{CLAIMED:,} bytes" in response.json()["detail"]
    assert not Dataset.objects.exists()
    assert not list(spool_dir.iterdir())


@pytest.mark.parametrize("path", UPLOAD_PATHS)
def test_a_viewer_session_upload_is_403_before_the_body_is_read(path, spool_dir):
    org = make_org()
    client = _session_client(_member(org, "bob", "viewer"))
    response = client.generic(
        "POST",
        path,
        _part_start(),
        MULTIPART,
        CONTENT_LENGTH=str(CLAIMED),
        HTTP_X_CSRFTOKEN=CSRF_TOKEN,
    )
    assert response.status_code == 403
    assert "editor" in response.json()["detail"]
    assert not Dataset.objects.exists()
    assert not list(spool_dir.iterdir())


def test_an_editor_session_upload_with_csrf_token_is_accepted():
    org = make_org()
    client = _session_client(_member(org, "carol", "editor"))
    response = client.post(
        "/api/v1/uploads/", {"file": _file("s.csv", b"a\n1\n")}, HTTP_X_CSRFTOKEN=CSRF_TOKEN
    )
    assert response.status_code == 202, response.content
    refused = client.post("/api/v1/uploads/", {"file": _file("s.csv", b"a\n1\n")})
    assert refused.status_code == 403  # no CSRF token
    assert "CSRF" in refused.json()["detail"]


def test_a_file_past_the_limit_is_refused_while_streaming_and_its_spool_deleted(
    settings, spool_dir
):
    # Its declared length is within the limit plus the multipart envelope: only counting the
    # file's bytes as they arrive finds it too large.
    settings.CSVHUB_MAX_UPLOAD_BYTES = 100 * 1024
    client = api_client_for(make_org())
    content = b"a\n" + b"1\n" * (60 * 1024)
    response = client.post("/api/v1/uploads/", {"file": _file("s.csv", content)})
    assert response.status_code == 413
    assert "102,400 bytes" in response.json()["detail"]
    assert not Dataset.objects.exists()
    assert not list(spool_dir.iterdir())


def test_files_sent_together_count_against_the_limit(settings):
    settings.CSVHUB_MAX_UPLOAD_BYTES = 30
    client = api_client_for(make_org())
    files = [_file("one.csv", b"a\n" + b"1\n" * 9), _file("two.csv", b"a\n" + b"2\n" * 9)]
    response = client.post("/api/v1/uploads/", {"file": files})
    assert response.status_code == 413
    assert not Dataset.objects.exists()
    alone = client.post("/api/v1/uploads/", {"file": files[0]})
    assert alone.status_code == 202, alone.content


def _send_start_of_big_body(url: str, headers: dict[str, str]) -> tuple[int, dict]:
    """POST CLAIMED bytes' worth of headers over a real socket, send the body's first bytes
    only, and read the answer: a server that waited for the rest would time out."""
    parts = urlsplit(url)
    head = "".join(
        f"{name}: {value}\r\n"
        for name, value in {
            "Host": parts.netloc,
            "Content-Type": MULTIPART,
            "Content-Length": str(CLAIMED),
            **headers,
        }.items()
    )
    with socket.create_connection((parts.hostname, parts.port), timeout=10) as sock:
        sock.sendall(f"POST /api/v1/uploads/ HTTP/1.1\r\n{head}\r\n".encode() + _part_start())
        answer = http.client.HTTPResponse(sock)
        answer.begin()
        return answer.status, json.loads(answer.read())


def test_a_real_server_refuses_big_and_unauthorised_bodies_without_reading_them(
    live_server, settings, spool_dir
):
    from csvhub.accounts.models import Role
    from csvhub.accounts.services import token_create

    settings.CSVHUB_MAX_UPLOAD_BYTES = 1024 * 1024
    org = make_org()
    editor = _member(org, "carol", "editor")
    token = token_create(organization=org, user=editor, name="t", role=Role.EDITOR).text
    status, body = _send_start_of_big_body(live_server.url, {"Authorization": f"Bearer {token}"})
    assert status == 413, body
    assert "CSVHUB_MAX_UPLOAD_BYTES" in body["detail"]

    settings.CSVHUB_MAX_UPLOAD_BYTES = 20 * 1024**3
    session = _session_client(_member(org, "bob", "viewer"))
    cookie = f"sessionid={session.cookies['sessionid'].value}; csrftoken={CSRF_TOKEN}"
    status, body = _send_start_of_big_body(
        live_server.url, {"Cookie": cookie, "X-CSRFToken": CSRF_TOKEN}
    )
    assert status == 403, body
    assert "editor" in body["detail"]
    assert not list(spool_dir.iterdir())
    assert not Dataset.objects.exists()
