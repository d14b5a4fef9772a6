"""Reading rules end to end: the encoding holds for the whole file and is recorded with its
reason; header labels and compressed uploads have limits; over a limit nothing is loaded.
Each scenario runs on both warehouses, with the file parsed in the worker and in a child."""

from __future__ import annotations

import gzip

import pytest

from csvhub.datasets.models import Dataset, Reject
from tests.datasets.pipeline import api_client_for, make_org, upload, warehouse_rows

pytestmark = pytest.mark.django_db(transaction=True)

ROWS = 30_000  # about 1.7 MiB: past the 1 MiB sample
FILLER = "x" * 40


@pytest.fixture(autouse=True, params=["read-in-worker", "read-in-child"])
def reader_process(request, settings) -> str:
    settings.CSVHUB_CHILD_READER_MIN_BYTES = 0 if request.param == "read-in-child" else 1 << 40
    return request.param


def _rows(start: int, stop: int, name: str, encoding: str = "ascii") -> bytes:
    return "".join(f"{n},{name} {n},{FILLER}\n" for n in range(start, stop)).encode(encoding)


def _names(dataset: Dataset) -> set[str]:
    return {row[1].split(" ")[0] for row in warehouse_rows(dataset)}


def test_cp1252_file_whose_accents_start_after_the_first_mib_loads_every_row(warehouse):
    data = b"id,name,filler\n" + _rows(0, 25_000, "Cafe") + _rows(25_000, ROWS, "Café", "cp1252")
    assert data[: 1 << 20].isascii()
    job = upload(make_org(), "late.csv", data)

    assert job.state == "succeeded", job.error
    assert (job.rows_loaded, job.rows_rejected) == (ROWS, 0)
    assert job.encoding == "cp1252"
    assert "not UTF-8, charset detection chose cp1252" in job.encoding_reason
    assert _names(job.dataset) == {"Cafe", "Café"}
    assert warehouse_rows(job.dataset)[25_000][1] == "Café 25000"


def test_utf8_file_with_two_bad_bytes_is_utf8_with_those_rows_rejected(warehouse):
    data = b"id,name,filler\n" + _rows(0, ROWS, "Café", "utf-8")
    data = data.replace(b"5,Caf\xc3\xa9 5,", b"5,Caf\xe9 5,", 1)  # in the first MiB
    data = data.replace(b"29000,Caf\xc3\xa9", b"29000,\x93Caf\xc3\xa9", 1)  # after it
    job = upload(make_org(), "mostly-utf8.csv", data)

    assert job.state == "succeeded", job.error
    assert (job.rows_loaded, job.rows_rejected) == (ROWS - 2, 2)
    assert job.encoding == "utf-8"
    assert "2 invalid UTF-8 sequences: UTF-8 with bad bytes" in job.encoding_reason
    assert _names(job.dataset) == {"Café"}
    rejects = Reject.objects.filter(upload=job).order_by("line")
    assert [(r.line, r.reason) for r in rejects] == [
        (7, "bytes that are not valid utf-8"),
        (29002, "bytes that are not valid utf-8"),
    ]


def test_evidence_found_late_reads_the_file_again_and_loads_it_once(warehouse):
    # cp1252 accents in the first lines, then a whole file of UTF-8: the first reading (as
    # cp1252) is rolled back, the second reads UTF-8 and rejects the two cp1252 lines.
    data = b"id,name,filler\n" + _rows(0, 2, "Café", "cp1252") + _rows(2, 25_000, "Cafe")
    data += _rows(25_000, ROWS, "Café", "utf-8")
    job = upload(make_org(), "turns-utf8.csv", data)

    assert job.state == "succeeded", job.error
    assert (job.rows_loaded, job.rows_rejected) == (ROWS - 2, 2)
    assert job.dataset.row_count == ROWS - 2 == len(warehouse_rows(job.dataset))
    assert job.encoding == "utf-8"
    assert job.encoding_reason.endswith("decided on the whole file")
    assert list(Reject.objects.filter(upload=job).values_list("line", flat=True)) == [2, 3]
    assert _names(job.dataset) == {"Cafe", "Café"}


def test_upload_answer_shows_the_encoding_and_why(warehouse):
    org = make_org()
    client = api_client_for(org)
    job = upload(org, "a.csv", "a\né\n")
    body = client.get(f"/api/v1/uploads/{job.id}/").json()
    assert (body["encoding"], body["encoding_reason"]) == ("utf-8", "valid UTF-8 throughout")


def test_a_5_mb_header_cell_fails_the_upload_and_listings_stay_small(warehouse):
    org = make_org()
    client = api_client_for(org)
    job = upload(org, "huge-header.csv", b"id," + b"y" * 5_000_000 + b"\n1,2\n")

    assert job.state == "failed"
    assert "column 2 is 5,000,000 characters long" in job.error
    assert "at most 1,000" in job.error
    listing = client.get("/api/v1/datasets/")
    assert listing.status_code == 200
    assert len(listing.content) < 10_000


def test_gzip_over_the_decompressed_limit_fails_and_loads_nothing(warehouse, settings):
    settings.CSVHUB_MAX_DECOMPRESSED_BYTES = 1_000_000
    org = make_org()
    first = upload(org, "base.csv", "n,t\n1,a\n")
    text = "n,t\n" + "".join(f"{n},{'z' * 20}\n" for n in range(2, 200_000))
    job = upload(org, "bomb.csv.gz", text, dataset=first.dataset.slug)

    assert len(gzip.compress(text.encode())) < 1_000_000 < len(text)
    assert job.state == "failed"
    assert "more than 1,000,000 bytes once decompressed" in job.error
    assert "CSVHUB_MAX_DECOMPRESSED_BYTES" in job.error
    first.dataset.refresh_from_db()
    assert first.dataset.row_count == 1
    assert warehouse_rows(first.dataset) == [(1, "a")]


def test_gzip_under_the_decompressed_limit_loads(warehouse, settings):
    text = "n\n" + "".join(f"{n}\n" for n in range(1000))
    settings.CSVHUB_MAX_DECOMPRESSED_BYTES = len(text)
    job = upload(make_org(), "fits.csv.gz", text)
    assert job.state == "succeeded", job.error
    assert job.rows_loaded == 1000


def test_more_rows_than_the_limit_fails_the_upload_and_loads_nothing(warehouse, settings):
    settings.CSVHUB_MAX_ROWS_PER_UPLOAD = 1000
    org = make_org()
    exactly = upload(org, "fits.csv", "n\n" + "".join(f"{n}\n" for n in range(1000)))
    assert exactly.state == "succeeded", exactly.error

    job = upload(
        org,
        "over.csv.gz",
        "n\n" + "".join(f"{n}\n" for n in range(50_000)),
        dataset=exactly.dataset.slug,
    )
    assert job.state == "failed"
    assert "more than 1,000 rows" in job.error
    assert "CSVHUB_MAX_ROWS_PER_UPLOAD" in job.error
    dataset = Dataset.objects.get(pk=exactly.dataset_id)
    assert dataset.row_count == 1000 == len(warehouse_rows(dataset))
