"""S3 sources against a real S3 endpoint (moto server): a manifest of (key, ETag, size) makes
each object version load exactly once, whatever the listing order or its age."""

from __future__ import annotations

import gzip
import uuid
from datetime import UTC, datetime

import boto3
import pytest

from csvhub.sources.models import SourceFile
from tests.sources.helpers import dataset_make, rows_of, source_add, source_run

pytestmark = pytest.mark.usefixtures("loopback_allowed")


@pytest.fixture
def bucket(s3_endpoint):
    name = f"feed-{uuid.uuid4().hex[:10]}"
    client = boto3.client("s3", endpoint_url=s3_endpoint, region_name="us-east-1")
    client.create_bucket(Bucket=name)
    return client, name


def _csv(first_id: int, count: int) -> bytes:
    return (
        "id,name\n" + "".join(f"{i},n{i}\n" for i in range(first_id, first_id + count))
    ).encode()


def _s3_source(api, dataset, bucket, s3_endpoint, **extra):
    _, name = bucket
    return source_add(
        api,
        dataset,
        kind="s3",
        bucket=name,
        prefix="exports/",
        glob="exports/*.csv.gz",
        endpoint_url=s3_endpoint,
        region="us-east-1",
        access_key_id="testing",
        secret_access_key="testing-secret",
        **extra,
    )


def test_objects_added_between_runs_load_once_each(world, api_as, bucket, s3_endpoint, warehouse):
    client, name = bucket
    dataset = dataset_make(world)
    api = api_as("editor")
    source = _s3_source(api, dataset, bucket, s3_endpoint)
    client.put_object(Bucket=name, Key="exports/b.csv.gz", Body=gzip.compress(_csv(1, 3)))
    client.put_object(Bucket=name, Key="exports/a.csv.gz", Body=gzip.compress(_csv(4, 2)))
    client.put_object(Bucket=name, Key="exports/notes.txt", Body=b"not matched")
    client.put_object(Bucket=name, Key="other/c.csv.gz", Body=gzip.compress(_csv(9, 9)))

    first = source_run(api, dataset, source)
    assert (first["files_found"], first["files_loaded"], first["rows"]) == (2, 2, 5)
    nothing = source_run(api, dataset, source)
    assert (nothing["state"], nothing["files_skipped"]) == ("not_modified", 2)

    # A new object whose key sorts first, and an old key rewritten with new contents.
    client.put_object(Bucket=name, Key="exports/0-early.csv.gz", Body=gzip.compress(_csv(20, 4)))
    client.put_object(Bucket=name, Key="exports/a.csv.gz", Body=gzip.compress(_csv(30, 1)))
    third = source_run(api, dataset, source)
    assert (third["files_found"], third["files_loaded"], third["files_skipped"]) == (3, 2, 1)
    assert rows_of(dataset) == 5 + 4 + 1
    assert SourceFile.objects.filter(source_id=source["id"]).count() == 4


def test_secret_key_is_never_shown(world, api_as, bucket, s3_endpoint):
    dataset = dataset_make(world)
    api = api_as("editor")
    source = _s3_source(api, dataset, bucket, s3_endpoint)
    shown = api.get(f"/api/v1/datasets/{dataset.slug}/sources/{source['id']}/").content.decode()
    assert "testing-secret" not in shown and source["has_credentials"] is True


def test_replace_mode_takes_only_the_newest_new_object(world, api_as, bucket, s3_endpoint):
    client, name = bucket
    dataset = dataset_make(world)
    api = api_as("editor")
    source = _s3_source(api, dataset, bucket, s3_endpoint, mode="replace")
    client.put_object(Bucket=name, Key="exports/1.csv.gz", Body=gzip.compress(_csv(1, 3)))
    assert source_run(api, dataset, source)["rows"] == 3
    client.put_object(Bucket=name, Key="exports/2.csv.gz", Body=gzip.compress(_csv(10, 7)))
    client.put_object(Bucket=name, Key="exports/3.csv.gz", Body=gzip.compress(_csv(20, 2)))
    run = source_run(api, dataset, source)
    assert (run["files_loaded"], run["files_skipped"]) == (1, 2)
    assert rows_of(dataset) == 2  # the newest file's rows only


def test_missing_bucket_fails_the_run_with_the_reason(world, api_as, s3_endpoint):
    dataset = dataset_make(world)
    api = api_as("editor")
    source = source_add(
        api, dataset, kind="s3", bucket="no-such-bucket", endpoint_url=s3_endpoint,
        region="us-east-1",
    )  # fmt: skip
    run = source_run(api, dataset, source)
    assert run["state"] == "failed" and "NoSuchBucket" in run["error"]


def test_manifest_hit_needs_no_download(world, api_as, bucket, s3_endpoint, monkeypatch):
    client, name = bucket
    dataset = dataset_make(world)
    api = api_as("editor")
    source = _s3_source(api, dataset, bucket, s3_endpoint)
    client.put_object(Bucket=name, Key="exports/a.csv.gz", Body=gzip.compress(_csv(1, 3)))
    source_run(api, dataset, source)
    from csvhub.sources import runs

    def refuse(*args, **kwargs):
        raise AssertionError(f"downloaded again at {datetime.now(UTC)}")

    monkeypatch.setattr(runs, "s3_download", refuse)
    assert source_run(api, dataset, source)["state"] == "not_modified"
