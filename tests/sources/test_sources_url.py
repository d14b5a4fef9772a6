"""URL sources against a real HTTP server on loopback: conditional GET, change detection,
exactly-once loading, retries with backoff, limits."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from csvhub.datasets.models import Upload
from csvhub.sources.models import Run, Source
from tests.sources.feeds import Feed
from tests.sources.helpers import CSV_V1, CSV_V2, dataset_make, rows_of, source_add, source_run

pytestmark = pytest.mark.usefixtures("loopback_allowed")


@pytest.mark.parametrize(
    "validators",
    [
        pytest.param({"etag": True, "last_modified": True}, id="etag-and-last-modified"),
        pytest.param({"etag": False, "last_modified": True}, id="last-modified-only"),
        pytest.param({"etag": True, "last_modified": False}, id="etag-only"),
        pytest.param({"etag": False, "last_modified": False}, id="no-validators"),
    ],
)
def test_changed_file_loads_once_and_unchanged_is_not_modified(
    world, api_as, feeds, warehouse, validators
):
    dataset = dataset_make(world)
    feeds.feeds["/daily.csv"] = feed = Feed(body=CSV_V1, **validators)
    api = api_as("editor")
    source = source_add(api, dataset, kind="url", url=feeds.url("/daily.csv"))

    first = source_run(api, dataset, source)
    assert (first["state"], first["files_loaded"], first["rows"]) == ("succeeded", 1, 2)
    again = source_run(api, dataset, source)
    assert (again["state"], again["files_loaded"], again["files_skipped"]) == ("not_modified", 0, 1)
    assert rows_of(dataset) == 2

    feed.set(CSV_V2)
    changed = source_run(api, dataset, source)
    assert (changed["state"], changed["rows"]) == ("succeeded", 3)
    assert rows_of(dataset) == 5


def test_validators_are_sent_back_and_304_downloads_nothing(world, api_as, feeds):
    dataset = dataset_make(world)
    feeds.feeds["/daily.csv"] = feed = Feed(body=CSV_V1)
    api = api_as("editor")
    source = source_add(api, dataset, kind="url", url=feeds.url("/daily.csv"))
    source_run(api, dataset, source)
    source_run(api, dataset, source)
    second_headers = feeds.requests[-1][1]
    assert second_headers["If-None-Match"] == feed.tag
    assert "If-Modified-Since" in second_headers


def test_upload_records_its_source_and_run(world, api_as, feeds):
    dataset = dataset_make(world)
    feeds.feeds["/daily.csv"] = Feed(body=CSV_V1)
    api = api_as("editor")
    source = source_add(api, dataset, kind="url", url=feeds.url("/daily.csv"))
    run = source_run(api, dataset, source)
    (upload,) = Upload.objects.filter(dataset=dataset)
    assert upload.source_file.source_id == Source.objects.get().pk
    assert str(upload.source_file.run_id) == run["id"] and run["uploads"] == [str(upload.id)]
    assert upload.original_name == "daily.csv"


def test_headers_are_sent_but_never_shown_back(world, api_as, feeds):
    dataset = dataset_make(world)
    feeds.feeds["/private.csv"] = Feed(body=CSV_V1)
    api = api_as("editor")
    source = source_add(
        api,
        dataset,
        kind="url",
        url=feeds.url("/private.csv"),
        headers={"Authorization": "Bearer s3cr3t-token"},
    )
    source_run(api, dataset, source)
    assert feeds.requests[-1][1]["Authorization"] == "Bearer s3cr3t-token"
    for response in (
        api.get(f"/api/v1/datasets/{dataset.slug}/sources/"),
        api.get(f"/api/v1/datasets/{dataset.slug}/sources/{source['id']}/"),
        api.get(f"/api/v1/datasets/{dataset.slug}/sources/{source['id']}/runs/"),
    ):
        assert "s3cr3t" not in response.content.decode()
    assert source["header_names"] == ["Authorization"]
    assert "s3cr3t" not in Source.objects.get().secret  # encrypted at rest


def test_failed_fetch_retries_with_backoff_then_stays_failed(world, api_as, feeds, settings):
    settings.CSVHUB_SOURCE_RETRIES = 2
    settings.CSVHUB_SOURCE_RETRY_SECONDS = 60
    dataset = dataset_make(world)
    feeds.feeds["/broken.csv"] = Feed(body=CSV_V1, status=503)
    api = api_as("editor")
    source = source_add(api, dataset, kind="url", url=feeds.url("/broken.csv"), every_seconds=86400)
    delays = []
    for _ in range(3):
        before = timezone.now()
        run = source_run(api, dataset, source)
        assert run["state"] == "failed" and "HTTP 503" in run["error"]
        delays.append((Source.objects.get().next_run_at - before).total_seconds())
    # 1 and 2 minutes, then the retries are spent: the next scheduled run, a day later.
    assert [round(d / 60) for d in delays] == [1, 2, 24 * 60]
    feeds.feeds["/broken.csv"].status = 200
    assert source_run(api, dataset, source)["state"] == "succeeded"
    assert Source.objects.get().failures == 0


def test_file_larger_than_the_limit_fails_and_loads_nothing(world, api_as, feeds, settings):
    settings.CSVHUB_SOURCE_MAX_BYTES = 10
    dataset = dataset_make(world)
    feeds.feeds["/big.csv"] = Feed(body=CSV_V2)
    api = api_as("editor")
    source = source_add(api, dataset, kind="url", url=feeds.url("/big.csv"))
    run = source_run(api, dataset, source)
    assert run["state"] == "failed" and "CSVHUB_SOURCE_MAX_BYTES" in run["error"]
    assert not Upload.objects.filter(dataset=dataset).exists()


def test_download_past_its_time_limit_fails(world, api_as, feeds, settings):
    settings.CSVHUB_SOURCE_DOWNLOAD_SECONDS = 1
    dataset = dataset_make(world)
    feeds.feeds["/slow.csv"] = Feed(body=CSV_V2 * 100, stall_after=10)
    api = api_as("editor")
    source = source_add(api, dataset, kind="url", url=feeds.url("/slow.csv"))
    run = source_run(api, dataset, source)
    assert run["state"] == "failed"
    assert not Upload.objects.filter(dataset=dataset).exists()


def test_a_bad_file_fails_the_run_with_the_reason_and_is_not_retried(world, api_as, feeds):
    dataset = dataset_make(world)
    feeds.feeds["/bad.csv"] = Feed(body=b"\x00\x01\x02" * 100)
    api = api_as("editor")
    source = source_add(api, dataset, kind="url", url=feeds.url("/bad.csv"))
    run = source_run(api, dataset, source)
    assert run["state"] == "failed" and run["error"].startswith("bad.csv: ")
    assert Source.objects.get().failures == 0


def test_runs_are_listed_newest_first(world, api_as, feeds):
    dataset = dataset_make(world)
    feeds.feeds["/daily.csv"] = Feed(body=CSV_V1)
    api = api_as("editor")
    source = source_add(api, dataset, kind="url", url=feeds.url("/daily.csv"))
    Run.objects.all().delete()
    first = source_run(api, dataset, source)
    second = source_run(api, dataset, source)
    Run.objects.filter(pk=first["id"]).update(started_at=timezone.now() - timedelta(minutes=1))
    listed = api.get(f"/api/v1/datasets/{dataset.slug}/sources/{source['id']}/runs/").json()
    assert [run["id"] for run in listed] == [second["id"], first["id"]]
    assert [run["state"] for run in listed] == ["not_modified", "succeeded"]
