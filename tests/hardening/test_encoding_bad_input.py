"""Bad-input corpus for issue 11, items 2, 3, 4 and 6 (encoding, header labels, limits after
decompression): each file goes through POST /api/v1/uploads/ and is judged by what the upload
and its rejects say, on both warehouses, read in the worker and in a child process."""

from __future__ import annotations

import gzip
from dataclasses import dataclass, field

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from csvhub.datasets.models import Dataset
from tests.datasets.pipeline import api_client_for, make_org

pytestmark = pytest.mark.django_db(transaction=True)

FILLER = "x" * 40


def _rows(start: int, stop: int, name: str, encoding: str = "ascii") -> bytes:
    return "".join(f"{n},{name} {n},{FILLER}\n" for n in range(start, stop)).encode(encoding)


HEADER = b"id,name,filler\n"
UTF8_CAFES = HEADER + _rows(0, 30_000, "Café", "utf-8")


@dataclass
class Case:
    name: str
    data: bytes
    state: str
    rows_loaded: int = 0
    reject_lines: list[int] = field(default_factory=list)
    encoding: str = ""
    message: str = ""  # in the error (failed) or in encoding_reason (succeeded)
    settings: dict[str, int] = field(default_factory=dict)


CASES = [
    Case(  # item 2: one bad byte in the first MiB, one after it
        "mostly-utf8.csv",
        UTF8_CAFES.replace(b"5,Caf\xc3\xa9 5,", b"5,Caf\xe9 5,", 1).replace(
            b"29000,Caf", b"29000,\x93Caf", 1
        ),
        "succeeded",
        rows_loaded=29_998,
        reject_lines=[7, 29_002],
        encoding="utf-8",
        message="2 invalid UTF-8 sequences: UTF-8 with bad bytes",
    ),
    Case(  # item 3: cp1252 accents only after the first MiB
        "late-accents.csv",
        HEADER + _rows(0, 25_000, "Cafe") + _rows(25_000, 30_000, "Café", "cp1252"),
        "succeeded",
        rows_loaded=30_000,
        encoding="cp1252",
        message="charset detection chose cp1252",
    ),
    Case(  # item 3, the other way round: read twice, decided on the whole file
        "turns-utf8.csv",
        HEADER
        + _rows(0, 2, "Café", "cp1252")
        + _rows(2, 25_000, "Cafe")
        + _rows(25_000, 30_000, "Café", "utf-8"),
        "succeeded",
        rows_loaded=29_998,
        reject_lines=[2, 3],
        encoding="utf-8",
        message="decided on the whole file",
    ),
    Case(  # item 4
        "huge-header.csv",
        b"id," + b"y" * 5_000_000 + b"\n1,2\n",
        "failed",
        message="The header cell of column 2 is 5,000,000 characters long",
    ),
    Case(  # item 6: decompressed bytes
        "bomb.csv.gz",
        gzip.compress(b"n\n" + b"1\n" * 2_000_000),
        "failed",
        message="more than 1,000,000 bytes once decompressed",
        settings={"CSVHUB_MAX_DECOMPRESSED_BYTES": 1_000_000},
    ),
    Case(  # item 6: rows
        "many-rows.csv.gz",
        gzip.compress(b"n\n" + b"1\n" * 2_000_000),
        "failed",
        message="more than 100,000 rows",
        settings={"CSVHUB_MAX_ROWS_PER_UPLOAD": 100_000},
    ),
]


@pytest.fixture(params=["read-in-worker", "read-in-child"])
def reader_process(request, settings) -> str:
    settings.CSVHUB_CHILD_READER_MIN_BYTES = 0 if request.param == "read-in-child" else 1 << 40
    return request.param


@pytest.mark.parametrize("case", CASES, ids=[case.name for case in CASES])
def test_bad_input(case: Case, warehouse, reader_process, settings) -> None:
    for name, value in case.settings.items():
        setattr(settings, name, value)
    client = api_client_for(make_org())
    posted = client.post(
        "/api/v1/uploads/",
        {"file": SimpleUploadedFile(case.name, case.data, content_type="text/csv")},
        format="multipart",
    )
    assert posted.status_code == 202, posted.content
    upload = client.get(posted.json()[0]["status_url"]).json()

    assert upload["state"] == case.state, upload["error"]
    if case.state == "failed":
        assert case.message in upload["error"]
        for name in case.settings:
            assert upload["error"].endswith(f"The limit is set by {name}.")
        # (the dataset a failed first upload made may be gone, or kept empty)
        assert not Dataset.objects.filter(slug=upload["dataset"], row_count__gt=0).exists()
        return
    assert (upload["rows_loaded"], upload["rows_rejected"]) == (
        case.rows_loaded,
        len(case.reject_lines),
    )
    assert (upload["encoding"], case.message in upload["encoding_reason"]) == (case.encoding, True)
    rejects = client.get(upload["rejects_url"]).json()["rows"]
    assert [(r["line"], r["reason"]) for r in rejects] == [
        (line, "bytes that are not valid utf-8") for line in case.reject_lines
    ]
