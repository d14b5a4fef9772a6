"""mode=replace: the dataset's rows become the new file's rows, swapped in atomically (readers
see the old rows or the new ones, never a mix or nothing), on both warehouses."""

from __future__ import annotations

import threading

import pytest
from django.core.files.base import ContentFile
from sqlalchemy import text

from csvhub.datasets import services
from csvhub.datasets.models import Dataset, Upload, UploadMode
from csvhub.warehouse.engine import get_engine
from csvhub.warehouse.tables import table_exists
from tests.datasets.pipeline import api_client_for, make_org, upload, warehouse_rows

# Ingestion is queued on commit: the tests commit.
pytestmark = pytest.mark.django_db(transaction=True)

# The engines whose loads take a table's place atomically; MySQL refuses mode=replace (below).
ATOMIC_REPLACE = pytest.mark.parametrize("warehouse", ["sqlite", "postgres"], indirect=True)


def test_mysql_warehouse_refuses_replace_and_keeps_the_rows(settings):
    from tests.services import MYSQL_URL, require

    require(MYSQL_URL, "CSVHUB_TEST_MYSQL_URL")
    acme = make_org()
    client = api_client_for(acme)
    first = upload(acme, "sales.csv", "id\n1\n2\n").dataset
    settings.CSVHUB_WAREHOUSE_URL = MYSQL_URL
    answer = _post(client, "sales.csv", "id\n7\n", dataset=first.slug, mode="replace")
    assert answer.status_code == 400
    assert "mode=replace needs a SQLite or PostgreSQL warehouse" in answer.json()["detail"]
    assert Upload.objects.count() == 1


def _post(client, name: str, content: str, **fields: str):
    return client.post(
        "/api/v1/uploads/", {"file": ContentFile(content.encode(), name=name), **fields}
    )


@ATOMIC_REPLACE
def test_replace_by_file_name_replaces_the_dataset_instead_of_making_name_2(warehouse):
    acme = make_org()
    client = api_client_for(acme)
    assert _post(client, "sales.csv", "id,amount\n1,10\n2,20\n3,30\n").status_code == 202
    answer = _post(client, "sales.csv", "id,region\n7,north\n8,south\n", mode="replace")
    assert answer.status_code == 202 and answer.json()[0]["mode"] == "replace"
    (dataset,) = Dataset.objects.all()
    assert dataset.slug == "sales" and dataset.row_count == 2
    assert [c["name"] for c in dataset.columns] == ["id", "region"]
    assert warehouse_rows(dataset) == [(7, "north"), (8, "south")]
    # Row ids number on from the replaced rows': an id (a permalink, a journaled edit, an
    # upload's range) never names two different rows.
    assert (dataset.first_row_id, dataset.last_row_id) == (4, 5)


@ATOMIC_REPLACE
def test_replace_named_dataset_then_append_continues_from_the_new_rows(warehouse):
    acme = make_org()
    client = api_client_for(acme)
    first = upload(acme, "a.csv", "id\n1\n2\n3\n").dataset
    _post(client, "other-name.csv", "id\n10\n", dataset=first.slug, mode="replace")
    upload(acme, "more.csv", "id\n11\n", dataset=first.slug)
    first.refresh_from_db()
    assert warehouse_rows(first) == [(10,), (11,)] and first.row_count == 2


@ATOMIC_REPLACE
def test_replace_keeps_the_indexes_whose_columns_remain(warehouse):
    acme = make_org()
    client = api_client_for(acme)
    dataset = upload(acme, "a.csv", "id,name,gone\n1,x,1\n2,y,2\n").dataset
    for columns in (["name", "id"], ["gone"]):
        made = client.post(
            f"/api/v1/datasets/{dataset.slug}/indexes/", {"columns": columns}, format="json"
        )
        assert made.status_code == 201, made.content
    _post(client, "a.csv", "id,name\n3,z\n", dataset=dataset.slug, mode="replace")
    listed = client.get(f"/api/v1/datasets/{dataset.slug}/indexes/").json()
    assert [index["columns"] for index in listed] == [["name", "id"]]
    rows = client.get(f"/api/v1/datasets/{dataset.slug}/rows/?sort=name,id").json()
    assert [row["name"] for row in rows["rows"]] == ["z"]


@ATOMIC_REPLACE
def test_failed_replace_keeps_the_old_rows_and_leaves_no_staging_table(warehouse):
    acme = make_org()
    dataset = upload(acme, "a.csv", "id,n\n1,1\n2,2\n").dataset
    bad = "id,n\n" + "".join(f'{i},"unclosed\n' for i in range(50))
    (replacing,) = services.uploads_create(
        organization=acme,
        files=[ContentFile(bad.encode(), name="a.csv")],
        dataset_slug=dataset.slug,
        mode=UploadMode.REPLACE,
    )
    replacing.refresh_from_db()
    dataset.refresh_from_db()
    assert replacing.state == "failed"
    assert warehouse_rows(dataset) == [(1, 1), (2, 2)] and dataset.row_count == 2
    assert not table_exists(table_name=dataset.table_name + "_new")


@pytest.mark.parametrize(
    ("fields", "files"),
    [({"mode": "overwrite"}, 1), ({"mode": "replace"}, 2)],
)
def test_bad_replace_requests_are_400(fields, files):
    client = api_client_for(make_org())
    parts = [ContentFile(b"id\n1\n", name=f"f{i}.csv") for i in range(files)]
    answer = client.post("/api/v1/uploads/", {"file": parts, **fields})
    assert answer.status_code == 400 and "mode" in answer.json()["detail"]
    assert not Dataset.objects.exists()


def _rows(start: int, count: int, tag: str) -> str:
    return "id,tag\n" + "".join(f"{i},{tag}\n" for i in range(start, start + count))


@ATOMIC_REPLACE
def test_replace_is_atomic_under_concurrent_readers(warehouse):
    acme = make_org()
    dataset = upload(acme, "feed.csv", _rows(0, 20_000, "old")).dataset
    quoted = f'"{dataset.table_name}"'
    seen: set[tuple[int, str, str]] = set()
    errors: list[BaseException] = []
    stop = threading.Event()

    def reader() -> None:
        try:
            with get_engine().connect() as connection:
                while not stop.is_set():
                    row = connection.execute(
                        text(f"SELECT COUNT(*), MIN(tag), MAX(tag) FROM {quoted}")
                    ).one()
                    connection.commit()  # a new snapshot for the next read
                    seen.add(tuple(row))
        except BaseException as error:
            errors.append(error)

    readers = [threading.Thread(target=reader) for _ in range(3)]
    for thread in readers:
        thread.start()
    try:
        for round_ in range(3):
            tag = f"new{round_}"
            services.uploads_create(
                organization=acme,
                files=[ContentFile(_rows(0, 30_000 + round_, tag).encode(), name="feed.csv")],
                mode=UploadMode.REPLACE,
            )
    finally:
        stop.set()
        for thread in readers:
            thread.join()
    assert not errors, errors
    allowed = {(20_000, "old", "old")} | {(30_000 + r, f"new{r}", f"new{r}") for r in range(3)}
    assert seen <= allowed, seen - allowed
    assert (30_002, "new2", "new2") in seen or len(seen) >= 2
    dataset.refresh_from_db()
    assert dataset.row_count == 30_002 and Dataset.objects.count() == 1
