"""The datasets and uploads API: shapes, status codes and messages."""

from __future__ import annotations

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

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
    assert detail["columns"] == [{"name": "a", "label": "a", "type": "integer", "nullable": False}]


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
    assert ready.json()["checks"] == {"database": "ok", "warehouse": "ok"}


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
