"""Quotas: what would cross one is refused with the quota, the usage and what to do, and
nothing of it is stored or loaded; loads committing together cannot pass a quota together."""

from __future__ import annotations

import threading

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection

from csvhub.datasets import services
from csvhub.datasets.models import Dataset, Upload
from csvhub.datasets.signals import rows_loading, upload_arriving
from csvhub.lifecycle.errors import RowsQuotaExceeded, StoredBytesQuotaExceeded
from csvhub.lifecycle.quotas import check_rows, quota_set
from csvhub.warehouse.tables import table_exists, table_row_count
from tests.datasets.pipeline import upload

pytestmark = pytest.mark.django_db(transaction=True)


def _post(client, name: str, content: bytes, **fields):
    file = SimpleUploadedFile(name, content, content_type="text/csv")
    return client.post("/api/v1/uploads/", {"file": file, **fields}, format="multipart")


def _rows(count: int, start: int = 0) -> bytes:
    return ("n\n" + "".join(f"{start + i}\n" for i in range(count))).encode()


def test_a_file_over_the_upload_quota_is_refused_with_413(acme, acme_admin):
    quota_set(organization=acme, changes={"max_upload_bytes": 10})

    response = _post(acme_admin, "big.csv", b"a\n123456789\n")

    assert response.status_code == 413
    assert "12 bytes" in response.json()["detail"]
    assert "largest upload is 10 bytes" in response.json()["detail"]
    assert not Dataset.objects.exists()


def test_an_upload_over_the_stored_bytes_quota_is_refused_before_storing(storage, acme, acme_admin):
    upload(acme, "first.csv", "a\n" + "1\n" * 20)  # 42 bytes stored
    quota_set(organization=acme, changes={"max_stored_bytes": 50})

    response = _post(acme_admin, "second.csv", b"a\n1\n2\n3\n4\n")  # 10 bytes: 52 > 50

    assert response.status_code == 409
    detail = response.json()["detail"]
    assert "stores 42 bytes" in detail
    assert "quota of 50 bytes" in detail
    assert "Delete datasets or files" in detail
    assert list(Dataset.objects.values_list("slug", flat=True)) == ["first"]
    assert Upload.objects.count() == 1


def test_an_upload_within_the_quota_is_taken(acme, acme_admin):
    quota_set(organization=acme, changes={"max_stored_bytes": 1000, "max_warehouse_rows": 5})

    response = _post(acme_admin, "small.csv", _rows(5))

    assert response.status_code == 202
    assert Dataset.objects.get().row_count == 5


def test_a_load_that_would_pass_the_rows_quota_fails_whole(warehouse, acme, acme_admin):
    quota_set(organization=acme, changes={"max_warehouse_rows": 10})
    first = upload(acme, "meters.csv", _rows(6))

    more = upload(acme, "meters.csv", _rows(5, start=6), dataset="meters")

    assert more.state == "failed"
    assert "holds 6 rows" in more.error
    assert "adding 5 would pass its quota of 10 rows" in more.error
    assert "nothing was loaded" in more.error
    dataset = Dataset.objects.get(pk=first.dataset_id)
    assert dataset.row_count == 6
    assert table_row_count(table_name=dataset.table_name) == 6


def test_a_first_load_over_the_rows_quota_leaves_no_table(warehouse, acme):
    quota_set(organization=acme, changes={"max_warehouse_rows": 3})

    refused = upload(acme, "big.csv", _rows(4))

    assert refused.state == "failed"
    assert not table_exists(table_name=refused.dataset.table_name)


def test_uploads_are_refused_once_the_rows_quota_is_used_up(acme, acme_admin):
    quota_set(organization=acme, changes={"max_warehouse_rows": 3})
    upload(acme, "full.csv", _rows(3))

    response = _post(acme_admin, "more.csv", _rows(1))

    assert response.status_code == 409
    assert "holds 3 rows" in response.json()["detail"]


def test_a_replace_counts_the_rows_it_leaves_not_the_rows_it_adds(acme):
    quota_set(organization=acme, changes={"max_warehouse_rows": 8})
    upload(acme, "meters.csv", _rows(6))

    (again,) = services.uploads_create(
        organization=acme,
        files=[SimpleUploadedFile("meters.csv", _rows(7))],
        mode="replace",
    )

    again.refresh_from_db()
    assert again.state == "succeeded", again.error
    assert Dataset.objects.get(slug="meters").row_count == 7


@pytest.mark.parametrize("warehouse", ["postgres", "mysql"], indirect=True)
def test_loads_committing_together_cannot_pass_the_rows_quota(warehouse, acme):
    """Two loads of 4 rows over 4 stored, quota 10: each fits alone, not both. The second runs
    entirely while the first is between its check and its commit (on SQLite, loads of one
    warehouse never overlap: its write lock serializes them)."""
    quota_set(organization=acme, changes={"max_warehouse_rows": 10})
    upload(acme, "a.csv", _rows(4))
    inside: list[Upload] = []

    def second_load_meanwhile(sender, *, upload: Upload, rows: int, **kwargs) -> None:
        if not inside:
            inside.append(upload)
            inside.append(_upload_b(acme))

    rows_loading.connect(second_load_meanwhile)
    try:
        first = upload(acme, "a.csv", _rows(4, start=4), dataset="a")
    finally:
        rows_loading.disconnect(second_load_meanwhile)

    second = inside[1]
    assert (first.state, second.state) == ("succeeded", "failed"), (first.error, second.error)
    assert "holds 8 rows" in second.error  # the 4 stored and the 4 of the first load, reserved
    assert sum(Dataset.objects.values_list("row_count", flat=True)) == 8
    assert not table_exists(table_name=second.dataset.table_name)


def _upload_b(organization) -> Upload:
    (created,) = services.uploads_create(
        organization=organization, files=[SimpleUploadedFile("b.csv", _rows(4))]
    )
    created.refresh_from_db()
    return created


def test_check_rows_refuses_what_would_pass_the_quota(acme):
    upload(acme, "a.csv", _rows(4))
    check_rows(acme, 1_000_000)  # no quota: unlimited
    quota_set(organization=acme, changes={"max_warehouse_rows": 5})

    check_rows(acme, 1)
    with pytest.raises(
        RowsQuotaExceeded, match="holds 4 rows in the warehouse; adding 2 would pass"
    ):
        check_rows(acme, 2)


def test_uploads_arriving_together_cannot_pass_the_stored_bytes_quota(acme):
    """Two uploads of 30 bytes, quota 50: both pass the check before storing (each fits
    alone), then record one after the other under the quota lock; the second is refused and
    its stored file deleted."""
    quota_set(organization=acme, changes={"max_stored_bytes": 50})
    both_checked = threading.Barrier(2, timeout=30)

    def wait_for_the_other(sender, **kwargs) -> None:
        both_checked.wait()

    results: dict[str, object] = {}

    def send(name: str) -> None:
        try:
            services.uploads_create(
                organization=acme, files=[SimpleUploadedFile(name, b"n\n" + b"1\n" * 14)]
            )
            results[name] = "taken"
        except StoredBytesQuotaExceeded as refused:
            results[name] = refused
        finally:
            connection.close()

    upload_arriving.connect(wait_for_the_other)
    try:
        threads = [threading.Thread(target=send, args=(f"{n}.csv",)) for n in ("a", "b")]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(60)
    finally:
        upload_arriving.disconnect(wait_for_the_other)

    assert sorted(str(type(r).__name__) for r in results.values()) == [
        "StoredBytesQuotaExceeded",
        "str",
    ]
    refused = next(r for r in results.values() if not isinstance(r, str))
    assert "stores 30 bytes" in str(refused)
    assert Upload.objects.count() == 1
    stored = Upload.objects.get()
    storage = stored.file.storage
    folders = storage.listdir(f"uploads/{acme.id}")[0]
    files = {f: storage.listdir(f"uploads/{acme.id}/{f}")[1] for f in folders}
    kept = {folder: names for folder, names in files.items() if names}
    assert kept == {str(stored.id): [stored.original_name]}  # the refused file was deleted
