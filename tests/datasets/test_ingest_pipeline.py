"""The ingestion pipeline end to end, on a SQLite and a PostgreSQL warehouse."""

from __future__ import annotations

import datetime as dt
import gzip
import threading
from decimal import Decimal

import pytest
from django.db import connections

from csvhub.csvread import decoding
from csvhub.csvread.child import _whole_file_descriptor
from csvhub.datasets import ingest, services
from csvhub.datasets.models import Dataset, Reject, Upload
from csvhub.warehouse.engine import get_engine
from tests.datasets.pipeline import (
    api_client_for,
    column_types,
    make_org,
    table_exists,
    table_row_count,
    upload,
    warehouse_rows,
)

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(autouse=True, params=["read-in-worker", "read-in-child"])
def reader_process(request, settings) -> str:
    """Every scenario runs with the file parsed in the worker and in a child process."""
    settings.CSVHUB_CHILD_READER_MIN_BYTES = 0 if request.param == "read-in-child" else 1 << 40
    return request.param


SALES = (
    "id,day,amount,paid,note\n"
    "1,2024-01-05,10.50,true,first\n"
    "2,2024-01-06,3,false,\n"
    '3,2024-02-01,7.25,yes,"comma, inside"\n'
)


def _as_date(value) -> dt.date:
    """SQLite keeps dates as ISO text, PostgreSQL as dates."""
    return value if isinstance(value, dt.date) else dt.date.fromisoformat(value)


def test_first_upload_creates_typed_table_named_after_file(warehouse):
    org = make_org()
    job = upload(org, "Sales 2024.csv", SALES)

    assert job.state == "succeeded", job.error
    dataset = job.dataset
    dataset.refresh_from_db()
    assert dataset.slug == "sales-2024"
    assert column_types(dataset) == {
        "id": "integer",
        "day": "date",
        "amount": "decimal",
        "paid": "boolean",
        "note": "text",
    }
    assert dataset.row_count == 3 == job.rows_loaded
    rows = warehouse_rows(dataset)
    assert [r[0] for r in rows] == [1, 2, 3]
    assert [_as_date(r[1]) for r in rows] == [
        dt.date(2024, 1, 5),
        dt.date(2024, 1, 6),
        dt.date(2024, 2, 1),
    ]
    assert [Decimal(str(r[2])) for r in rows] == [Decimal("10.5"), Decimal("3"), Decimal("7.25")]
    assert [bool(r[3]) for r in rows] == [True, False, True]
    assert [r[4] for r in rows] == ["first", None, "comma, inside"]


def test_a_stored_original_on_disk_is_read_by_the_child_itself(warehouse):
    """No copy of every byte through the worker and a pipe (docs/performance.md)."""
    job = upload(make_org(), "sales.csv", SALES)
    with job.file.open("rb") as stored:
        assert _whole_file_descriptor(stored) is not None


def test_second_file_with_same_name_gets_a_unique_slug(warehouse):
    org = make_org()
    first = upload(org, "titanic.csv", "a\n1\n")
    second = upload(org, "titanic.csv", "a\n2\n")
    assert (first.dataset.slug, second.dataset.slug) == ("titanic", "titanic-2")


def test_columns_keep_their_labels_and_nullability(warehouse):
    org = make_org()
    job = upload(org, "people.csv", "Full Name,Âge,,Full Name\nAnn,30,x,y\nBo,,z,w\n")
    job.dataset.refresh_from_db()
    assert job.dataset.columns == [
        {"name": "full_name", "label": "Full Name", "type": "text", "nullable": False},
        {"name": "age", "label": "Âge", "type": "integer", "nullable": True},
        {"name": "column_3", "label": "", "type": "text", "nullable": False},
        {"name": "full_name_2", "label": "Full Name", "type": "text", "nullable": False},
    ]


def test_append_widens_integer_column_to_decimal(warehouse):
    org = make_org()
    first = upload(org, "m.csv", "n\n1\n2\n")
    second = upload(org, "m2.csv", "n\n2.5\n", dataset=first.dataset.slug)

    assert second.state == "succeeded", second.error
    # The first value that widened the column, with its line (csvhub.cleaning says it plainly).
    assert second.type_changes == [
        {"column": "n", "from": "integer", "to": "decimal", "line": 2, "value": "2.5"}
    ]
    dataset = Dataset.objects.get(pk=first.dataset_id)
    assert column_types(dataset) == {"n": "decimal"}
    assert [Decimal(str(r[0])) for r in warehouse_rows(dataset)] == [1, 2, Decimal("2.5")]
    assert dataset.row_count == 3


def test_append_widens_date_to_timestamp_then_to_text(warehouse):
    org = make_org()
    first = upload(org, "d.csv", "at\n2024-03-01\n")
    slug = first.dataset.slug
    second = upload(org, "d2.csv", "at\n2024-03-02 10:30:00\n", dataset=slug)
    assert second.type_changes == [
        {
            "column": "at",
            "from": "date",
            "to": "timestamp",
            "line": 2,
            "value": "2024-03-02 10:30:00",
        }
    ]
    third = upload(org, "d3.csv", "at\nsoon\n", dataset=slug)
    assert third.type_changes == [
        {"column": "at", "from": "timestamp", "to": "text", "line": 2, "value": "soon"}
    ]

    dataset = Dataset.objects.get(pk=first.dataset_id)
    assert column_types(dataset) == {"at": "text"}
    assert [r[0] for r in warehouse_rows(dataset)] == [
        "2024-03-01 00:00:00",
        "2024-03-02 10:30:00",
        "soon",
    ]


def test_widening_inside_one_file_keeps_every_value(warehouse, monkeypatch):
    # Small batches make the type change happen after rows were already written.
    monkeypatch.setattr(ingest, "BATCH_ROWS", 2)
    monkeypatch.setattr(ingest, "TYPE_WAIT_ROWS", 2)
    org = make_org()
    job = upload(org, "w.csv", "v\n1\n2\n3\n4.5\n6\n")
    assert job.state == "succeeded", job.error
    assert column_types(job.dataset) == {"v": "decimal"}
    assert [Decimal(str(r[0])) for r in warehouse_rows(job.dataset)] == [1, 2, 3, Decimal("4.5"), 6]
    assert job.type_changes == []


def test_column_empty_at_first_gets_its_type_from_later_rows(warehouse, monkeypatch):
    monkeypatch.setattr(ingest, "BATCH_ROWS", 2)
    monkeypatch.setattr(ingest, "TYPE_WAIT_ROWS", 2)
    org = make_org()
    job = upload(org, "late.csv", "k,v\n1,\n2,\n3,2024-05-01\n4,2024-05-02T08:00:00Z\n")
    assert job.state == "succeeded", job.error
    assert column_types(job.dataset) == {"k": "integer", "v": "timestamp"}
    values = [r[1] for r in warehouse_rows(job.dataset)]
    assert values[:2] == [None, None]
    assert [str(v)[:19] for v in values[2:]] == ["2024-05-01 00:00:00", "2024-05-02 08:00:00"]


def test_all_empty_column_is_nullable_text(warehouse):
    org = make_org()
    job = upload(org, "e.csv", "a,b\n1,\n2,\n")
    assert column_types(job.dataset) == {"a": "integer", "b": "text"}


def test_append_with_other_columns_fails_and_names_them(warehouse):
    org = make_org()
    first = upload(org, "h.csv", "id,name\n1,a\n")
    second = upload(org, "h2.csv", "ID,email\n2,b\n", dataset=first.dataset.slug)

    assert second.state == "failed"
    assert "missing columns: name" in second.error
    assert "unexpected columns: email" in second.error
    assert Dataset.objects.get(pk=first.dataset_id).row_count == 1
    assert table_row_count(table_name=first.dataset.table_name) == 1


def test_append_accepts_columns_in_another_order(warehouse):
    org = make_org()
    first = upload(org, "o.csv", "id,name\n1,a\n")
    second = upload(org, "o2.csv", "name,id\nb,2\n", dataset=first.dataset.slug)
    assert second.state == "succeeded", second.error
    assert warehouse_rows(Dataset.objects.get(pk=first.dataset_id)) == [(1, "a"), (2, "b")]


def test_bad_rows_are_quarantined_with_line_numbers_and_good_rows_load(warehouse, settings):
    settings.CSVHUB_MAX_REJECT_RATIO = 0.5
    org = make_org()
    content = 'id,text\n1,"multi\nline"\n2,x,extra\n3,ok\n4\n'
    job = upload(org, "q.csv", content)

    assert job.state == "succeeded", job.error
    assert (job.rows_loaded, job.rows_rejected) == (2, 2)
    rejects = list(Reject.objects.filter(upload=job).values_list("line", "reason"))
    assert [line for line, _ in rejects] == [4, 6]
    assert "3" in rejects[0][1]  # says how many fields it found
    assert [r[0] for r in warehouse_rows(job.dataset)] == [1, 3]


def test_too_many_bad_rows_fail_the_upload_and_load_nothing(warehouse, settings):
    settings.CSVHUB_MAX_REJECT_RATIO = 0.1
    org = make_org()
    first = upload(org, "r.csv", "a,b\n1,2\n")
    job = upload(org, "r2.csv", "a,b\n3,4\n5\n6\n", dataset=first.dataset.slug)

    assert job.state == "failed"
    assert "2 of 3 rows" in job.error
    assert Dataset.objects.get(pk=first.dataset_id).row_count == 1
    assert table_row_count(table_name=first.dataset.table_name) == 1
    assert (job.rows_loaded, job.rows_rejected) == (0, 2)
    assert Reject.objects.filter(upload=job).count() == 2


def test_a_failed_upload_counts_every_reject_and_no_loaded_row(warehouse, settings, monkeypatch):
    # Small batches: good rows are staged (and reported) before the bad ones fail the upload.
    monkeypatch.setattr(ingest, "BATCH_ROWS", 2)
    monkeypatch.setattr(ingest, "TYPE_WAIT_ROWS", 2)
    settings.CSVHUB_MAX_REJECT_RATIO = 0.1
    settings.CSVHUB_MAX_STORED_REJECTS = 3  # counted beyond what is kept
    org = make_org()
    job = upload(org, "late-bad.csv", "a,b\n1,2\n3,4\n5,6\n7\n8\n9\n10\n11\n")

    assert job.state == "failed"
    assert "5 of 8 rows" in job.error
    assert (job.rows_loaded, job.rows_rejected) == (0, 5)
    assert Reject.objects.filter(upload=job).count() == 3
    assert not table_exists(table_name=job.dataset.table_name)


def test_unreadable_file_fails_with_a_message(warehouse):
    org = make_org()
    job = upload(org, "empty.csv", b"")
    assert job.state == "failed"
    assert job.error
    assert not table_exists(table_name=job.dataset.table_name)


def test_gzip_upload_is_read(warehouse):
    org = make_org()
    job = upload(org, "z.csv.gz", "a;b\n1;x\n")
    assert job.state == "succeeded", job.error
    assert job.dataset.slug == "z"
    assert warehouse_rows(job.dataset) == [(1, "x")]


def test_a_batch_of_only_bad_rows_is_quarantined_and_loading_goes_on(
    warehouse, settings, monkeypatch
):
    monkeypatch.setattr(ingest, "BATCH_ROWS", 2)
    settings.CSVHUB_MAX_REJECT_RATIO = 0.5
    org = make_org()
    job = upload(org, "gap.csv", "a,b\n1,2\n3,4\n5\n6\n7,8\n")  # the 2nd batch: bad rows only
    assert job.state == "succeeded", job.error
    assert (job.rows_loaded, job.rows_rejected) == (3, 2)
    assert [r[0] for r in warehouse_rows(job.dataset)] == [1, 3, 7]


def test_a_file_of_only_bad_rows_fails_with_the_reject_message(warehouse):
    org = make_org()
    job = upload(org, "short.csv", "a,b,c\n1,2\n")
    assert job.state == "failed"
    assert "1 of 1 rows could not be read" in job.error


def _quote_never_closed_on_line_26() -> str:
    lines = ["id,name", *(f"{n},row {n}" for n in range(1, 51))]
    lines[25] = '25,"oops'
    return "\n".join(lines) + "\n"


def test_a_quote_never_closed_rejects_its_line_and_the_rows_after_it_load(warehouse):
    org = make_org()
    job = upload(org, "oops.csv", _quote_never_closed_on_line_26())
    assert job.state == "succeeded", job.error
    assert (job.rows_loaded, job.rows_rejected) == (49, 1)
    rejects = list(Reject.objects.filter(upload=job).values_list("line", "reason", "text"))
    assert rejects == [(26, "quote opened on line 26 is never closed", '25,"oops')]
    assert [r[0] for r in warehouse_rows(job.dataset)] == [n for n in range(1, 51) if n != 25]


def test_a_quote_open_at_the_end_of_the_file_is_rejected_not_loaded(warehouse):
    org = make_org()
    content = "id,name\n" + "".join(f"{n},row {n}\n" for n in range(1, 11)) + '11,"tail'
    job = upload(org, "tail.csv", content)
    assert (job.state, job.rows_loaded, job.rows_rejected) == ("succeeded", 10, 1), job.error
    assert Reject.objects.get(upload=job).reason == "quote opened on line 12 is never closed"
    assert [r[0] for r in warehouse_rows(job.dataset)] == list(range(1, 11))


def test_read_limits_come_from_the_settings(warehouse, settings):
    settings.CSVHUB_MAX_RECORD_SIZE = 1024
    settings.CSVHUB_MAX_RECORD_LINES = 5
    settings.CSVHUB_MAX_BATCH_SIZE = 64
    org = make_org()
    rows = [f"{n},row {n}" for n in range(1, 40)]
    rows[3] = "4," + "y" * 2000
    rows[9] = '10,"open'
    job = upload(org, "limits.csv", "id,name\n" + "\n".join(rows) + "\n")
    assert (job.state, job.rows_loaded, job.rows_rejected) == ("succeeded", 37, 2), job.error
    rejects = list(Reject.objects.filter(upload=job).values_list("line", "reason"))
    assert rejects == [
        (5, "a line longer than 1 KiB, the limit for one record"),
        (11, "quote opened on line 11 is not closed within 5 lines"),
    ]
    assert [r[0] for r in warehouse_rows(job.dataset)] == [
        n for n in range(1, 40) if n not in (4, 10)
    ]


def test_a_file_name_starting_with_a_dash_is_read(warehouse):
    org = make_org()
    job = upload(org, "-sales.csv", "a\n1\n")
    assert job.state == "succeeded", job.error


def test_gzip_damaged_after_the_header_fails_with_a_message_and_loads_nothing(warehouse):
    org = make_org()
    body = gzip.compress(("n,m\n" + "".join(f"{i},{i * i}\n" for i in range(300_000))).encode())
    damaged = body[: len(body) // 2] + b"\x00" * 1000 + body[len(body) // 2 :]
    job = upload(org, "broken.csv.gz.bin", damaged)
    assert job.state == "failed"
    assert "gzip data of this file is damaged" in job.error
    assert not table_exists(table_name=job.dataset.table_name)


def test_retry_after_crash_between_commits_does_not_load_twice(warehouse):
    org = make_org()
    dataset = services.dataset_create(organization=org, name="crash")
    job = Upload.objects.create(dataset=dataset, original_name="c.csv")
    job.file.save("c.csv", __import__("io").BytesIO(b"a\n1\n2\n"))
    # The warehouse commits, then the process dies before the metadata is written.
    job.state = "running"
    job.save()
    claimed = Upload.objects.select_related("dataset").get(pk=job.pk)
    ingest._load(claimed, ingest._ProgressReport(claimed), publish=False)
    Upload.objects.filter(pk=job.pk).update(state="queued")

    ingest.upload_ingest(upload_id=job.pk)

    job.refresh_from_db()
    dataset.refresh_from_db()
    assert job.state == "succeeded"
    assert dataset.row_count == 2 == table_row_count(table_name=dataset.table_name)


def test_claimed_job_is_not_run_twice(warehouse):
    org = make_org()
    job = upload(org, "once.csv", "a\n1\n")
    ingest.upload_ingest(upload_id=job.pk)  # already succeeded: nothing to claim
    assert Dataset.objects.get(pk=job.dataset_id).row_count == 1


def test_concurrent_appends_are_serialized_and_none_is_lost(warehouse):
    org = make_org()
    base = upload(org, "base.csv", "n,who\n0,base\n")
    slug = base.dataset.slug
    dataset = base.dataset
    jobs = []
    for index in range(4):
        rows = "".join(f"{index * 1000 + i},w{index}\n" for i in range(500))
        content = ("n,who\n" + rows).encode()
        from django.core.files.base import ContentFile

        job = Upload(dataset=dataset, original_name=f"p{index}.csv", size=len(content))
        job.file.save(job.original_name, ContentFile(content), save=True)
        jobs.append(job)

    def run(upload_id) -> None:
        try:
            ingest.upload_ingest(upload_id=upload_id)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=run, args=(job.pk,)) for job in jobs]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert all(Upload.objects.get(pk=j.pk).state == "succeeded" for j in jobs)
    dataset = Dataset.objects.get(slug=slug, organization=org)
    assert dataset.row_count == 2001 == table_row_count(table_name=dataset.table_name)
    assert sorted(r[0] for r in warehouse_rows(dataset)) == sorted(
        [0] + [i * 1000 + k for i in range(4) for k in range(500)]
    )


def test_delete_removes_table_files_and_metadata(warehouse):
    org = make_org()
    job = upload(org, "gone.csv", "a\n1\n")
    dataset = job.dataset
    dataset_id, table = dataset.pk, dataset.table_name
    storage, name = job.file.storage, job.file.name
    assert storage.exists(name)

    services.dataset_delete(dataset=dataset)

    assert not storage.exists(name)
    assert not table_exists(table_name=table)
    assert not Dataset.objects.filter(pk=dataset_id).exists()
    assert not Upload.objects.filter(pk=job.pk).exists()


def test_summary_stats_are_kept_at_ingestion(warehouse):
    org = make_org()
    first = upload(org, "s.csv", "n,at\n5,2024-01-02\n,2024-01-01\n")
    upload(org, "s2.csv", "n,at\n-3,2024-02-01\n", dataset=first.dataset.slug)
    dataset = Dataset.objects.get(pk=first.dataset_id)
    assert dataset.stats["n"]["nulls"] == 1
    assert (dataset.stats["n"]["min_value"], dataset.stats["n"]["max_value"]) == ("-3", "5")
    assert dataset.stats["at"]["min_value"] == "2024-01-01"
    assert dataset.stats["at"]["max_value"] == "2024-02-01"
    assert (dataset.first_row_id, dataset.last_row_id) == (1, 3)


def test_resume_requeues_dead_jobs_and_gives_up_after_max_attempts(warehouse, settings):
    settings.CSVHUB_JOB_MAX_ATTEMPTS = 2
    org = make_org()
    dataset = services.dataset_create(organization=org, name="dead")
    from django.core.files.base import ContentFile

    alive = Upload(dataset=dataset, original_name="a.csv", state="running", attempts=1)
    alive.file.save("a.csv", ContentFile(b"a\n1\n"), save=True)
    exhausted = Upload(dataset=dataset, original_name="b.csv", state="running", attempts=2)
    exhausted.file.save("b.csv", ContentFile(b"a\n2\n"), save=True)

    services.uploads_resume(all_running_are_dead=True)

    alive.refresh_from_db()
    exhausted.refresh_from_db()
    assert alive.state == "succeeded"
    assert exhausted.state == "failed"
    assert "too many times" in exhausted.error
    assert Dataset.objects.get(pk=dataset.pk).row_count == 1


def test_text_with_tabs_backslashes_and_newlines_is_stored_exactly(warehouse):
    org = make_org()
    values = ["tab\there", "back\\slash", "new\nline", "\\N", 'quote "q"']
    content = "k,v\n" + "".join(
        f'{i},"{v.replace(chr(34), chr(34) * 2)}"\n' for i, v in enumerate(values)
    )
    job = upload(org, "esc.csv", content)
    assert job.state == "succeeded", job.error
    assert [r[1] for r in warehouse_rows(job.dataset)] == values


def test_row_id_is_the_primary_key_after_first_upload_and_append(warehouse):
    # On PostgreSQL the key is built after the first COPY; an append must keep it.
    from sqlalchemy import inspect, text

    if warehouse == "duckdb":
        pytest.skip(
            "DuckDB's keys are ART indexes, which would slow every load and forbid widening "
            "a column (ALTER TABLE): its row ids are numbered by the loads, one at a time"
        )

    org = make_org()
    first = upload(org, "k.csv", "n\n1\n2\n")
    upload(org, "k2.csv", "n\n2.5\n", dataset=first.dataset.slug)

    with get_engine().begin() as connection:
        key = inspect(connection).get_pk_constraint(first.dataset.table_name)
        # A row added without an id gets the next one: the row id's sequence kept up.
        table = connection.dialect.identifier_preparer.quote_identifier(first.dataset.table_name)
        connection.execute(text(f"INSERT INTO {table} (n) VALUES (7)"))
    assert key["constrained_columns"] == ["_row_id"]
    assert [r[0] for r in _row_ids(first.dataset)] == [1, 2, 3, 4]
    first.dataset.refresh_from_db()
    assert (first.dataset.first_row_id, first.dataset.last_row_id) == (1, 3)


def _row_ids(dataset) -> list[tuple]:
    from sqlalchemy import text

    with get_engine().connect() as connection:
        table = connection.dialect.identifier_preparer.quote_identifier(dataset.table_name)
        return list(connection.execute(text(f"SELECT _row_id FROM {table} ORDER BY 1")))


def test_rows_after_an_undecodable_row_keep_contiguous_ids_and_values(warehouse, monkeypatch):
    # A row quarantined part way (a NUL, like undecodable bytes) must not shift the ids or
    # values of the rows after it, whether a batch goes to PostgreSQL as text or in binary.
    # Small blocks, so that the rows after the NUL's block are read as clean (worker only).
    monkeypatch.setattr(ingest, "BATCH_ROWS", 2)
    monkeypatch.setattr(decoding, "SAMPLE_SIZE", 256)
    monkeypatch.setattr(decoding, "BLOCK_SIZE", 256)
    org = make_org()
    first = upload(org, "u.csv", "n,t\n1,a\n")
    later = "".join(f"{n},v{n}\n" for n in range(4, 200))
    job = upload(org, "u2.csv", "n,t\n2,b\n3,x\x00y\n" + later, dataset=first.dataset.slug)

    assert job.state == "succeeded", job.error
    assert (job.rows_loaded, job.rows_rejected) == (197, 1)
    expected = [(1, "a"), (2, "b"), *((n, f"v{n}") for n in range(4, 200))]
    assert warehouse_rows(first.dataset) == expected
    assert [r[0] for r in _row_ids(first.dataset)] == list(range(1, 199))


def _field_of(megabytes: int) -> str:
    """A file whose second row holds one field of this size: legal, but memory-hungry."""
    return 'id,text\n1,short\n2,"' + "x" * (megabytes << 20) + '"\n3,short\n'


def test_a_file_needing_more_memory_than_the_reader_limit_fails_and_loads_nothing(
    warehouse, settings, reader_process
):
    # Whatever CSVHUB_CHILD_READER_MIN_BYTES says elsewhere, the default reads every file in
    # the child; the limit leaves room for the interpreter (~26 MiB) and ordinary files.
    settings.CSVHUB_CHILD_READER_MIN_BYTES = 0
    settings.CSVHUB_READER_MEMORY_LIMIT_BYTES = 96 << 20
    # Above the field, so memory is what it runs into with either splitter (the csv module
    # path rejects a line over the record limit before parsing it).
    settings.CSVHUB_MAX_RECORD_SIZE = 64 << 20
    org = make_org()
    client = api_client_for(org)
    fine = upload(org, "fine.csv", "id,text\n" + "".join(f"{i},t{i}\n" for i in range(50_000)))
    job = upload(org, "wide.csv", _field_of(40), dataset=fine.dataset.slug)

    assert fine.state == "succeeded", fine.error
    assert job.state == "failed"
    assert job.error.startswith("The file needs more memory than the 96 MiB the reader is")
    assert (job.rows_loaded, Dataset.objects.get(pk=fine.dataset_id).row_count) == (0, 50_000)
    assert table_row_count(table_name=fine.dataset.table_name) == 50_000
    # The process that ran the job (here the test's own) is unharmed and keeps answering.
    answer = client.get(f"/api/v1/uploads/{job.pk}/")
    assert (answer.status_code, answer.json()["state"]) == (200, "failed")


def test_every_upload_is_read_in_a_child_by_default():
    from csvhub import settings as defaults

    assert defaults.CSVHUB_CHILD_READER_MIN_BYTES == 0
    assert defaults.CSVHUB_READER_MEMORY_LIMIT_BYTES == 2 << 30


def test_rows_held_until_a_column_gets_a_type_are_bounded_in_bytes(warehouse, monkeypatch):
    # Rows wait in the worker (the web process with the thread runner) while a column is still
    # empty; 40 MB of them must not all wait there, whatever the row count (without the byte
    # cap the peak was 78-98 MiB; with 4 MiB held at most, 11-29 MiB).
    import tracemalloc

    from django.core.files.base import ContentFile

    monkeypatch.setattr(ingest, "BATCH_ROWS", 2_000)
    monkeypatch.setattr(ingest, "TYPE_WAIT_BYTES", 4 << 20, raising=False)
    filler = "x" * 780
    rows = "".join(f"{filler}{i:09d},\n" for i in range(49_999))
    content = f"text,late\n{rows}{filler},7\n"  # the late column's only value, at the end
    dataset = services.dataset_create(organization=make_org(), name="held")
    job = Upload(dataset=dataset, original_name="held.csv", size=len(content))
    job.file.save("held.csv", ContentFile(content.encode()), save=True)

    tracemalloc.start()
    try:
        ingest.upload_ingest(upload_id=job.pk)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()

    job.refresh_from_db()
    assert (job.state, job.rows_loaded) == ("succeeded", 50_000), job.error
    assert column_types(dataset) == {"text": "text", "late": "integer"}
    assert [row[1] for row in warehouse_rows(dataset)[-2:]] == [None, 7]
    assert peak < 48 << 20, f"peak {peak / 2**20:.0f} MiB"
