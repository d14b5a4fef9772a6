"""The C splitter (csvread/_splitter.c) against the csv module: the same columns, batches, bad
rows (lines, reasons, quoted text) and progress for every file, tricky or random."""

import csv
import gc
import io
import os
import random
import weakref

import pytest

from csvhub.csvread import CsvFormatError, TypeTracker, open_csv, reader

needs_splitter = pytest.mark.skipif(
    reader._splitter is None and not os.environ.get("CI"),
    reason="the C splitter is not built (pip install -e . with a C compiler builds it)",
)
pytestmark = needs_splitter


def _read(data: bytes, size: int, monkeypatch, splitter: str) -> tuple:
    monkeypatch.setenv("CSVHUB_CSV_SPLITTER", splitter)
    try:
        opened = open_csv(io.BytesIO(data))
        batches = [(b.rows, b.bad_rows, b.bytes_read, b.rows_seen) for b in opened.batches(size)]
    except CsvFormatError as error:
        return ("error", str(error))
    return opened.encoding, opened.delimiter, opened.columns, batches


def _same_with_both(data: bytes, size: int, monkeypatch) -> tuple:
    by_csv_module = _read(data, size, monkeypatch, "python")
    by_splitter = _read(data, size, monkeypatch, "c")
    assert by_splitter == by_csv_module, data
    return by_splitter


def test_the_splitter_is_built_under_ci() -> None:
    assert reader._splitter is not None
    assert reader.splitter_enabled()


@pytest.mark.parametrize(
    "data",
    [
        b'id,name,note\n1,"Smith, John","two\nlines"\n2,Ann\n\n3,"a ""b"" c",\r\n',
        b'a;b\r\n1;"x\r\ny"\r\n\r\n2;3\r\n',
        b"a,b\n1,2\n   \n3,4,5\n6\n",  # whitespace-only line, too many and too few fields
        b'a,b\n1,"never closed\n2,3\n',  # a quote left open runs to the end of the file
        b'a,b\n1,x"y"z\n"p"q,2\n',  # quotes inside unquoted fields, text after a quote
        b"a,b\n1,\xff\xfe\n2,ok\n",  # undecodable bytes: that row is quarantined
        b"a,b\n1,2\x003\n4,5\n",  # a NUL
        b"a,b\r1,2\r3,4",  # old Mac line ends, no final line break
        b"a\n\n1\n \n2\n",  # one column: a blank line is skipped, a space is a value
        "h1,h2\n\u00e9,\u2028x\n\U0001f600,\x0by\n".encode(),  # wide characters
    ],
)
def test_tricky_files_read_the_same(data: bytes, monkeypatch) -> None:
    for size in (1, 2, 20_000):
        _same_with_both(data, size, monkeypatch)


def test_field_over_the_limit_is_quarantined_the_same(monkeypatch) -> None:
    monkeypatch.setattr(reader, "FIELD_SIZE_LIMIT", 20)
    before = csv.field_size_limit()
    try:
        data = b'a,b\n1,2\n3,"' + b"y" * 30 + b'\nmore"\n5,6\n7,' + b"z" * 25 + b"\n8,9\n"
        # line 4 (more") is read afresh after the error: one field, quarantined too
        *_, batches = _same_with_both(data, 20_000, monkeypatch)
        assert [bad.line for _, bad_rows, *_ in batches for bad in bad_rows] == [3, 4, 6]
    finally:
        csv.field_size_limit(before)


def test_random_files_read_the_same(monkeypatch) -> None:
    pieces = ["a", "7", ",", ",", ";", '"', '""', "\n", "\r\n", "\r", " ", "\u00e9", "\t"]
    generator = random.Random(20261123)
    for _ in range(400):
        body = "".join(generator.choice(pieces) for _ in range(generator.randint(0, 120)))
        data = ("x,y,z\n" + body).encode()
        if generator.random() < 0.1:
            data += b"\xff"  # an undecodable byte near the end
        _same_with_both(data, generator.choice((1, 3, 20_000)), monkeypatch)


def test_blocks_of_a_large_file_read_the_same(monkeypatch) -> None:
    # Several decoding blocks, so records and line counts cross block boundaries.
    generator = random.Random(7)
    lines = ["id,text,amount"]
    for number in range(60_000):
        text = generator.choice(["plain", '"with, comma"', '"two\nlines"', '"q ""x"""', ""])
        lines.append(f"{number},{text},{generator.randint(-999, 999)}.5")
        if number % 997 == 0:
            lines.append("broken,row")
    data = "\r\n".join(lines).encode()
    _, _, _, batches = _same_with_both(data, 20_000, monkeypatch)
    assert sum(len(rows) for rows, *_ in batches) == 60_000


def _tracked(data: bytes, monkeypatch, splitter: str) -> tuple:
    monkeypatch.setenv("CSVHUB_CSV_SPLITTER", splitter)
    opened = open_csv(io.BytesIO(data))
    tracker = TypeTracker(len(opened.columns))
    for batch in opened.batches(50):
        if batch.row_count:
            tracker.observe_columns(batch.columns)
    return tracker.types, [stats.to_dict() for stats in tracker.stats]


def test_types_and_stats_from_the_splitters_summaries_match_the_cells(monkeypatch) -> None:
    # The splitter notes lengths, empties and extremes as it splits; inference uses them
    # instead of looking at the cells again. Ties (1.50 against 1.5, -0 against 0), leading
    # zeros, signs, exponents (not compared by the splitter) and wide characters included.
    generator = random.Random(11)
    numbers = ["0", "-0", "007", "1.50", "1.5", "-2.25", "10", "9.999", "-10.0", "3", ""]
    decimals = [*numbers, "1e3", "+4", ".5"]
    stamps = ["2024-01-05 10:00:00", "2023-12-31 23:59:59.5", "2024-01-05T09:00:00Z", ""]
    words = ["b", "a", "\u00e9t\u00e9", "\U0001f600", "A", "", " ", "ab"]
    for _ in range(30):
        lines = ["i,d,t,w,n"]
        for _ in range(generator.randint(1, 200)):
            row = [
                generator.choice(numbers),
                generator.choice(decimals),
                generator.choice(stamps[:2] if generator.random() < 0.9 else stamps),
                generator.choice(words),
                generator.choice(["", "", "5"]),
            ]
            lines.append(",".join(row))
        data = "\n".join(lines).encode()
        by_splitter = _tracked(data, monkeypatch, "c")
        assert by_splitter == _tracked(data, monkeypatch, "python"), data


def test_a_reader_left_half_read_is_collected(monkeypatch) -> None:
    # The splitter's block iterator refers back to the reader: without the collector seeing
    # that cycle, every upload would leave its reader and buffers behind.
    monkeypatch.setenv("CSVHUB_CSV_SPLITTER", "c")
    opened = open_csv(io.BytesIO(b"a,b\n" + b"1,2\n" * 50_000))
    next(opened.batches(10))
    collected = weakref.ref(opened)
    del opened
    gc.collect()
    assert collected() is None
