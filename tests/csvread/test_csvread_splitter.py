"""The C splitter (csvread/_splitter.c) against the csv module: the same columns, batches, bad
rows (lines, reasons, quoted text) and progress for every file, tricky or random."""

import gc
import io
import os
import random
import weakref

import pytest

from csvhub.csvread import CsvFormatError, ReadLimits, TypeTracker, decoding, open_csv, reader

needs_splitter = pytest.mark.skipif(
    reader._SPLIT_READER is None and not os.environ.get("CI"),
    reason="the C splitter is not built (pip install -e . with a C compiler builds it)",
)
pytestmark = needs_splitter


def _read(data: bytes, size: int, monkeypatch, splitter: str, limits: ReadLimits) -> tuple:
    monkeypatch.setenv("CSVHUB_CSV_SPLITTER", splitter)
    try:
        opened = open_csv(io.BytesIO(data), limits=limits)
        batches = [
            (b.rows, b.bad_rows, b.bytes_read, b.rows_seen, b.chars) for b in opened.batches(size)
        ]
    except CsvFormatError as error:
        return ("error", str(error))
    return opened.encoding, opened.delimiter, opened.columns, batches


def _same_with_both(data: bytes, size: int, monkeypatch, limits: ReadLimits | None = None) -> tuple:
    limits = limits or ReadLimits()
    by_csv_module = _read(data, size, monkeypatch, "python", limits)
    by_splitter = _read(data, size, monkeypatch, "c", limits)
    assert by_splitter == by_csv_module, data
    return by_splitter


def _bad_rows(batches: list) -> list[tuple[int, str]]:
    return [(bad.line, bad.reason) for _, bad_rows, *_ in batches for bad in bad_rows]


def _first_cells(batches: list) -> list[str]:
    return [row[0] for rows, *_ in batches for row in rows]


def test_the_splitter_is_built_under_ci() -> None:
    assert reader._SPLIT_READER is not None
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


def test_a_quote_never_closed_rejects_its_line_and_the_rows_after_it_load(monkeypatch) -> None:
    # The issue's file: 50 rows, `25,"oops` on line 26 (the header is line 1).
    lines = ["id,name", *(f"{n},row {n}" for n in range(1, 51))]
    lines[25] = '25,"oops'
    data = "\n".join(lines).encode() + b"\n"
    for size in (1, 7, 20_000):
        *_, batches = _same_with_both(data, size, monkeypatch)
        assert _bad_rows(batches) == [(26, "quote opened on line 26 is never closed")]
        assert _first_cells(batches) == [str(n) for n in range(1, 51) if n != 25]


@pytest.mark.parametrize(
    ("data", "limits", "bad_rows", "first_cells"),
    [
        # open at the very end of the file, with and without a final line break
        (b'a,b\n1,2\n3,"tail', None, [(3, "quote opened on line 3 is never closed")], ["1"]),
        (b'a,b\n1,"x\n', None, [(2, "quote opened on line 2 is never closed")], []),
        # a good multi-line record, then a quote opened on the record's second line
        (
            b'a,b,c\n"p\nq","r\n1,2,3\n4,5,6\n',
            None,
            [(2, "quote opened on line 3 is never closed")],
            ["1", "4"],
        ),
        # doubled quotes inside the runaway field do not close it
        (
            b'a,b\n1,"open\n2,""\n3,x""y\n',
            None,
            [(2, "quote opened on line 2 is never closed")],
            ["2", "3"],
        ),
        # a later quote closes it at the end of a field: a legal multi-line record
        (b'a,b\n1,"x\n2,y"\n3,z\n', None, [], ["1", "3"]),
        # a later quote that opens a field (text follows it) does not close it
        (
            b'a,b\n1,"oops\n2,x\n3,"quoted"\n4,y\n',
            None,
            [
                (
                    2,
                    "quote opened on line 2 is never closed (the quote on line 4 that seems to "
                    "close it is followed by text, not by a delimiter or a line break; a quote "
                    "inside a quoted field must be doubled)",
                )
            ],
            ["2", "3", "4"],
        ),
        # on one line, text after a closing quote is kept, as csv.reader keeps it
        (b'a,b\n1,"p"q\n', None, [], ["1"]),
        # not closed within the line limit: rows after it load, later rows too
        (
            b'a,b\n1,"open\n2,x\n3,x\n4,x\n5,"y"\n',
            ReadLimits(record_lines=3),
            [(2, "quote opened on line 2 is not closed within 3 lines")],
            ["2", "3", "4", "5"],
        ),
        # a legal quoted field of exactly the line limit still loads
        (b'a,b\n1,"x\ny\nz"\n2,w\n', ReadLimits(record_lines=3), [], ["1", "2"]),
        # not closed within the size limit
        (
            b'a,b\n1,"' + b"x" * 10 + b"\n2," + b"y" * 20 + b"\n3,z\n",
            ReadLimits(record_chars=24),
            [(2, "quote opened on line 2 is not closed within 24 characters")],
            ["2", "3"],
        ),
        # a line over the size limit is rejected alone, whatever it holds
        (
            b'a,b\n1,2\n3,"' + b"y" * 30 + b'\nmore"\n5,6\n7,' + b"z" * 25 + b"\n8,9\n",
            ReadLimits(record_chars=20),
            [
                (3, "a line longer than 20 characters, the limit for one record"),
                (4, "expected 2 fields, found 1"),
                (6, "a line longer than 20 characters, the limit for one record"),
            ],
            ["1", "5", "8"],
        ),
        # the line that would have closed a runaway, read again, opens one of its own
        (
            b'a,b\n1,"x\n2,a\n3,"b\n',
            ReadLimits(record_lines=2),
            [
                (2, "quote opened on line 2 is not closed within 2 lines"),
                (4, "quote opened on line 4 is never closed"),
            ],
            ["2"],
        ),
        # CRLF, and a quote opened in the second field of a line of its own
        (
            b'a,b\r\n1,2\r\n3,"x\r\n4,5\r\n',
            None,
            [(3, "quote opened on line 3 is never closed")],
            ["1", "4"],
        ),
    ],
)
def test_records_given_up_read_the_same(data, limits, bad_rows, first_cells, monkeypatch) -> None:
    for size in (1, 2, 20_000):
        *_, batches = _same_with_both(data, size, monkeypatch, limits)
        assert _bad_rows(batches) == bad_rows
        assert _first_cells(batches) == first_cells


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b'a,"b\n1,2\n', "quote opened on line 1 is never closed"),
        (b"a," + b"b" * 40 + b"\n1,2\n", "a line longer than 30 characters"),
    ],
)
def test_a_header_given_up_fails_the_same(data: bytes, message: str, monkeypatch) -> None:
    result = _same_with_both(data, 10, monkeypatch, ReadLimits(record_chars=30))
    assert result[0] == "error"
    assert result[1].startswith(f"The header line cannot be read: {message}")


def test_batches_end_at_the_character_limit(monkeypatch) -> None:
    data = b"a,b\n" + b"".join(b"%d,%s\n" % (n, b"x" * n) for n in range(1, 200))
    limits = ReadLimits(batch_chars=1000)
    *_, batches = _same_with_both(data, 20_000, monkeypatch, limits)
    chars = [b_chars for *_, b_chars in batches]
    assert sum(chars) == len(data) - len(b"a,b\n")
    # each batch stops at the first record that reaches the limit: at most one record over
    assert max(chars) < 1000 + len(b"199,") + 199 + 1
    assert all(c >= 1000 for c in chars[:-1])


def test_random_files_read_the_same(monkeypatch) -> None:
    pieces = ["a", "7", ",", ",", ";", '"', '""', "\n", "\r\n", "\r", " ", "\u00e9", "\t"]
    generator = random.Random(20261123)
    for _ in range(400):
        body = "".join(generator.choice(pieces) for _ in range(generator.randint(0, 120)))
        data = ("x,y,z\n" + body).encode()
        if generator.random() < 0.1:
            data += b"\xff"  # an undecodable byte near the end
        _same_with_both(data, generator.choice((1, 3, 20_000)), monkeypatch)


def test_random_files_read_the_same_under_tight_limits(monkeypatch) -> None:
    # Small limits, so that records are given up (and lines read again) all the time, and
    # tiny decoding blocks, so that lines read again and long lines cut cross blocks.
    monkeypatch.setattr(decoding, "BLOCK_SIZE", 7)
    monkeypatch.setattr(decoding, "SAMPLE_SIZE", 16)
    pieces = ["ab", "7", ",", ",", '"', '"', '""', "\n", "\n", "\r\n", "\r", "\u00e9", "xyzw"]
    generator = random.Random(20261130)
    for _ in range(600):
        body = "".join(generator.choice(pieces) for _ in range(generator.randint(0, 150)))
        data = ("x,y,z\n" + body).encode()
        limits = ReadLimits(
            record_chars=generator.randint(6, 40),
            record_lines=generator.randint(1, 5),
            batch_chars=generator.randint(1, 60),
        )
        _same_with_both(data, generator.choice((1, 3, 20_000)), monkeypatch, limits)


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
    return tracker.types, [stats.to_json() for stats in tracker.stats]


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


def _tracked_cells(rows: list[list[str]], *, summarized: bool) -> tuple:
    from csvhub.csvread import Columns

    tracker = TypeTracker(len(rows[0]))
    for start in range(0, len(rows), 50):
        columns = Columns.from_rows(rows[start : start + 50], len(rows[0]))
        if summarized:  # a .so built before summarize_joined would leave them None
            assert columns.summarize().summaries is not None
        tracker.observe_columns(columns)
    return tracker.types, [stats.to_json() for stats in tracker.stats]


def test_summaries_of_cells_made_elsewhere_give_the_stats_the_cells_give() -> None:
    # A JSON append's batch is made of cells, not split: Columns.summarize has the splitter
    # note what it would have noted, so that inference skips its own passes over the cells.
    generator = random.Random(12)
    numbers = ["0", "-0", "007", "1.50", "1.5", "-2.25", "10", "9.999", "-10.0", "3", ""]
    decimals = [*numbers, "1e3", "+4", ".5", " 7 "]
    stamps = ["2024-01-05 10:00:00", "2023-12-31 23:59:59.5", "2024-01-05T09:00:00Z", ""]
    words = ["b", "a", "\u00e9t\u00e9", "\U0001f600", "A", "", " ", "ab", "two\nlines"]
    for _ in range(30):
        rows = [
            [
                generator.choice(numbers),
                generator.choice(decimals),
                generator.choice(stamps[:2] if generator.random() < 0.9 else stamps),
                generator.choice(words),
                generator.choice(["", "", "5"]),
            ]
            for _ in range(generator.randint(1, 200))
        ]
        summarized = _tracked_cells(rows, summarized=True)
        assert summarized == _tracked_cells(rows, summarized=False), rows


def test_a_summary_of_joined_cells_is_the_one_the_splitter_makes() -> None:
    from csvhub.csvread._splitter import summarize_joined

    # Ties keep the first: 1.50 is as large as 1.5, and longer in code-point order.
    assert summarize_joined("1.50\n\n-2\n1.5") == (1, 2, 4, "-2", "1.50", "-2", "1.50")
    assert summarize_joined("") == (1, None, None, None, None, None, None)
    assert summarize_joined("b\n\u00e9\nab") == (0, 1, 2, "ab", "\u00e9", None, None)
    assert summarize_joined("1e3\n2")[5:] == (None, None)  # exponents: not compared here
    with pytest.raises(TypeError):
        summarize_joined(b"1")  # type: ignore[arg-type]


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


def test_text_read_again_is_handed_over_without_copying_the_block() -> None:
    # Each quote given up hands the lines after its quote line back to the splitter: a copy
    # of the rest of the block (up to 1 MiB) each time was 40% of reading such a file.
    log = reader._BlockLog()
    first, second = "a,b\n1,2\n" * 1000, "3,4\n5,6\n"
    log.add(reader._Block(1, first, marked=False))
    log.add(reader._Block(2001, second, marked=False))
    pieces = log.text_from(1999)
    assert pieces == [(first, len(first) - 8), (second, 0)]
    assert pieces[0][0] is first and pieces[1][0] is second
