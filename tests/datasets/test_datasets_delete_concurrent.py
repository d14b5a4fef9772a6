"""Deleting datasets while other uploads load, on the embedded SQLite warehouse: each delete
waits for the write lock like a load does and succeeds (issue 11, item 9)."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

import pytest
from django.db import connection
from rest_framework.test import APIClient

from csvhub.datasets import services
from csvhub.datasets.models import Dataset
from csvhub.warehouse.tables import table_exists
from tests.datasets.pipeline import api_client_for, make_org, upload

pytestmark = pytest.mark.django_db(transaction=True)

LOADS = 4
DELETES = 12


def _rows(count: int) -> str:
    lines = ["id,name,amount,day"]
    lines += [f"{i},name {i},{i}.25,2020-01-{i % 28 + 1:02d}" for i in range(count)]
    return "\n".join(lines) + "\n"


def _in_thread(work: Callable[[], None], errors: list[BaseException]) -> threading.Thread:
    def run() -> None:
        try:
            work()
        except BaseException as error:  # reported by the test, not lost in the thread
            errors.append(error)
        finally:
            connection.close()  # each thread has its own Django connection

    return threading.Thread(target=run)


def test_deletes_while_uploads_load_all_succeed(settings):
    assert settings.CSVHUB_WAREHOUSE_URL.startswith("sqlite:")
    alice = make_org("alice")
    # Half have a table; half are datasets whose first upload has not loaded yet (no table:
    # their delete reads before it writes, which a load committing meanwhile used to refuse).
    doomed = [upload(alice, f"doomed-{i}.csv", _rows(50)).dataset for i in range(DELETES // 2)]
    doomed += [
        services.dataset_create(organization=alice, name=f"waiting-{i}")
        for i in range(DELETES // 2)
    ]
    big = _rows(60_000)
    statuses: list[int] = []
    errors: list[BaseException] = []

    def load(i: int) -> None:
        for round_ in range(3):
            assert upload(alice, f"load-{i}-{round_}.csv", big).state == "succeeded"

    editor = api_client_for(alice, role="editor").handler._force_user

    def delete(datasets: list[Dataset]) -> None:
        api = APIClient()
        api.force_authenticate(editor)
        for dataset in datasets:
            # Spread over the loads, so that deletes meet loads that start and commit.
            time.sleep(0.3)
            statuses.append(api.delete(f"/api/v1/datasets/{dataset.slug}/").status_code)

    threads = [_in_thread(lambda i=i: load(i), errors) for i in range(LOADS)]
    threads += [_in_thread(lambda d=doomed[i::2]: delete(d), errors) for i in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=600)
    assert not errors, errors
    assert statuses == [204] * DELETES
    assert not Dataset.objects.filter(pk__in=[d.pk for d in doomed]).exists()
    assert not any(table_exists(table_name=d.table_name) for d in doomed)
    assert Dataset.objects.filter(slug__startswith="load-").count() == LOADS * 3
