"""Appends running at the same time as each other and as uploads: nothing lost, counted once."""

from __future__ import annotations

import json
import threading

import pytest
from django.core.files.base import ContentFile
from django.db import connections
from rest_framework.test import APIClient

from csvhub.datasets import ingest
from csvhub.datasets.models import Dataset, Upload
from csvhub.warehouse.tables import table_row_count
from tests.datasets.pipeline import api_client_for, make_org, upload, warehouse_rows

pytestmark = pytest.mark.django_db(transaction=True)


def _in_threads(*targets) -> list[BaseException]:
    errors: list[BaseException] = []

    def run(target) -> None:
        try:
            target()
        except BaseException as error:  # reported by the test, not lost in the thread
            errors.append(error)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=run, args=(target,)) for target in targets]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return errors


def _appender(client: APIClient, writer: int, requests: int, answers: list):
    def append() -> None:
        for request in range(requests):
            rows = [
                {"n": writer * 10_000 + request * 100 + i, "who": f"a{writer}"} for i in range(50)
            ]
            response = client.post("/api/v1/datasets/base/rows/", rows, format="json")
            answers.append(response)

    return append


@pytest.mark.parametrize("warehouse", ["postgres"], indirect=True)
def test_concurrent_appends_and_an_upload_lose_nothing(warehouse):
    org = make_org()
    dataset = upload(org, "base.csv", "n,who\n0,base\n").dataset
    client = api_client_for(org)
    content = ("n,who\n" + "".join(f"{900_000 + i},up\n" for i in range(2_000))).encode()
    job = Upload(dataset=dataset, original_name="more.csv", size=len(content))
    job.file.save(job.original_name, ContentFile(content), save=True)
    answers: list = []

    errors = _in_threads(
        *[_appender(client, writer, 5, answers) for writer in range(4)],
        lambda: ingest.upload_ingest(upload_id=job.pk),
    )

    assert not errors
    assert [a.status_code for a in answers] == [201] * 20
    ranges = sorted((a.json()["row_ids"]["first"], a.json()["row_ids"]["last"]) for a in answers)
    assert all(last - first == 49 for first, last in ranges)
    dataset = Dataset.objects.get(pk=dataset.pk)
    expected = [0, *range(900_000, 902_000)] + [
        w * 10_000 + r * 100 + i for w in range(4) for r in range(5) for i in range(50)
    ]
    assert dataset.row_count == len(expected) == table_row_count(table_name=dataset.table_name)
    assert sorted(row[0] for row in warehouse_rows(dataset)) == sorted(expected)
    assert (dataset.first_row_id, dataset.last_row_id) == (1, len(expected))
    stats = dataset.schema.stats_of("n")
    assert (int(stats.min_value), int(stats.max_value), stats.non_null) == (
        0,
        901_999,
        len(expected),
    )


@pytest.mark.parametrize("warehouse", ["postgres"], indirect=True)
def test_the_same_key_sent_twice_at_once_appends_once(warehouse):
    org = make_org()
    dataset = upload(org, "base.csv", "n,who\n0,base\n").dataset
    client = api_client_for(org)
    body = json.dumps([{"n": i, "who": "twice"} for i in range(1_000)])
    answers: list = []

    def send() -> None:
        answers.append(
            client.generic(
                "POST",
                "/api/v1/datasets/base/rows/",
                body,
                content_type="application/json",
                headers={"Idempotency-Key": "same"},
            )
        )

    assert not _in_threads(send, send, send)
    assert [a.status_code for a in answers] == [201] * 3
    assert len({json.dumps(a.json(), sort_keys=True) for a in answers}) == 1
    dataset = Dataset.objects.get(pk=dataset.pk)
    assert dataset.row_count == 1_001 == table_row_count(table_name=dataset.table_name)
