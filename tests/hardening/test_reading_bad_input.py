"""Bad input for the CSV reader (issue 11, items 1 and 5): each file goes through the upload
pipeline, read in the worker and in the child process, on both warehouses, and comes out as
rejects with their lines and reasons while the good rows load, or as a failed upload saying
what to fix. Never as rows silently swallowed or memory without bound."""

from __future__ import annotations

import gzip
from dataclasses import dataclass, field

import pytest

from csvhub.datasets.models import Reject
from tests.datasets.pipeline import make_org, upload, warehouse_rows

pytestmark = pytest.mark.django_db(transaction=True)


def _rows(count: int, *, replace: dict[int, str] | None = None) -> str:
    """A header and rows `n,row n` for n = 1..count, some replaced (row n is on line n + 1)."""
    lines = [f"{n},row {n}" for n in range(1, count + 1)]
    for number, text in (replace or {}).items():
        lines[number - 1] = text
    return "id,name\n" + "\n".join(lines) + "\n"


def _gzip(*pieces: bytes, repeat_last: int = 1) -> bytes:
    """A gzip file of `pieces`, the last one written `repeat_last` times (never held whole)."""
    *start, last = pieces
    return gzip.compress(b"".join(start) + last * repeat_last)


@dataclass
class Case:
    content: str | bytes
    rejects: list[tuple[int, str]] = field(default_factory=list)  # (line, reason)
    loaded: list[int] | None = None  # the ids loaded, in order
    error: str = ""  # the upload fails with a message starting so
    settings: dict[str, int] = field(default_factory=dict)
    name: str = "bad.csv"


CASES = {
    "quote never closed mid-file (the issue's 50 rows)": Case(
        _rows(50, replace={25: '25,"oops'}),
        rejects=[(26, "quote opened on line 26 is never closed")],
        loaded=[n for n in range(1, 51) if n != 25],
    ),
    "quote never closed, a later field's opening quote taken to close it": Case(
        _rows(50, replace={25: '25,"oops', 40: '40,"row 40"'}),
        rejects=[
            (
                26,
                "quote opened on line 26 is never closed (the quote on line 41 that seems to "
                "close it is followed by text, not by a delimiter or a line break; a quote "
                "inside a quoted field must be doubled)",
            )
        ],
        loaded=[n for n in range(1, 51) if n != 25],
    ),
    "quote open at the end of the file, no final line break": Case(
        _rows(10) + '11,"the end',
        rejects=[(12, "quote opened on line 12 is never closed")],
        loaded=list(range(1, 11)),
    ),
    "quote not closed within CSVHUB_MAX_RECORD_LINES": Case(
        _rows(30, replace={5: '5,"open'}) + '31,"a closing" quote\n',
        rejects=[(6, "quote opened on line 6 is not closed within 10 lines")],
        loaded=[n for n in range(1, 32) if n != 5],
        settings={"CSVHUB_MAX_RECORD_LINES": 10},
    ),
    "a legitimate cell over CSVHUB_MAX_RECORD_LINES: inner lines of the right width load": Case(
        'id,name\n1,row 1\n2,"cell\n100,inner a\n101,inner b\n102,inner c\nend"\n3,row 3\n',
        rejects=[
            (3, "quote opened on line 3 is not closed within 3 lines"),
            (7, "expected 2 fields, found 1"),
        ],
        loaded=[1, 100, 101, 102, 3],
        settings={"CSVHUB_MAX_RECORD_LINES": 3, "CSVHUB_MAX_REJECT_RATIO": 1},
    ),
    "a cell over lines closed by a quote and a space; on one line it is accepted": Case(
        'id,name\n1,"x\ny" \n2,"x" \n3,row 3\n',
        rejects=[
            (
                2,
                "quote opened on line 2 is never closed (the quote on line 3 that seems to "
                "close it is followed by text, not by a delimiter or a line break; a quote "
                "inside a quoted field must be doubled)",
            ),
            (3, "expected 2 fields, found 1"),
        ],
        loaded=[2, 3],
        settings={"CSVHUB_MAX_REJECT_RATIO": 1},
    ),
    "quote not closed within CSVHUB_MAX_RECORD_SIZE": Case(
        _rows(150, replace={3: '3,"' + "q" * 300}),
        rejects=[(4, "quote opened on line 4 is not closed within 1 KiB")],
        loaded=[n for n in range(1, 151) if n != 3],
        settings={"CSVHUB_MAX_RECORD_SIZE": 1024},
    ),
    "a line over CSVHUB_MAX_RECORD_SIZE, gzip": Case(
        _rows(30, replace={7: "7," + "w" * 5000}).encode(),
        rejects=[(8, "a line longer than 1 KiB, the limit for one record")],
        loaded=[n for n in range(1, 31) if n != 7],
        settings={"CSVHUB_MAX_RECORD_SIZE": 1024},
        name="wide.csv.gz",
    ),
    "4 MB without a line break, gzip": Case(
        _gzip(b"id,name\n1,", b"y" * 1_000_000, repeat_last=4),
        error="1 of 1 rows could not be read",
        rejects=[(2, "a line longer than 1 MiB, the limit for one record")],
        settings={"CSVHUB_MAX_RECORD_SIZE": 1024 * 1024},
        name="endless.csv.gz.bin",
    ),
    "header with a quote never closed": Case(
        'id,"name\n1,a\n2,b\n',
        error="The header line cannot be read: quote opened on line 1 is never closed.",
    ),
}


@pytest.fixture(params=["read-in-worker", "read-in-child"])
def reader_process(request, settings) -> str:
    settings.CSVHUB_CHILD_READER_MIN_BYTES = 0 if request.param == "read-in-child" else 1 << 40
    return request.param


@pytest.mark.parametrize("case", CASES.values(), ids=CASES.keys())
def test_bad_input_is_rejected_with_its_line_and_reason(
    case: Case, warehouse, reader_process, settings
) -> None:
    for name, value in case.settings.items():
        setattr(settings, name, value)
    job = upload(make_org(), case.name, case.content)

    rejects = list(Reject.objects.filter(upload=job).values_list("line", "reason"))
    assert (job.rows_rejected, rejects) == (len(case.rejects), case.rejects)
    if case.error:
        assert (job.state, job.error[: len(case.error)]) == ("failed", case.error)
        return
    assert job.state == "succeeded", job.error
    assert job.rows_loaded == len(case.loaded)
    assert [row[0] for row in warehouse_rows(job.dataset)] == case.loaded
