"""open_csv and CsvReader.batches: RFC 4180, encodings, delimiters, gzip, bad rows."""

import codecs
import gzip
import io
import random
import tracemalloc
from collections.abc import Iterator
from itertools import islice

import pytest
from csvread_support import BreaksAfter, read, read_as

from csvhub.csvread import BadRow, CsvFormatError, ReadLimits, decoding, open_csv
from csvhub.csvread.errors import LimitExceeded, ReadAgain, StoredFileUnreadable


# --- RFC 4180 -------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("text", "rows"),
    [
        ('a,b\n"x,y",2\n', [["x,y", "2"]]),
        ('a,b\n"line1\nline2",2\n', [["line1\nline2", "2"]]),
        ('a,b\n"say ""hi""",2\n', [['say "hi"', "2"]]),
        ('a,b\n"",2\n', [["", "2"]]),
        ("a,b\n,\n", [["", ""]]),
        ("a,b\r\n1,2\r\n3,4\r\n", [["1", "2"], ["3", "4"]]),
        ("a,b\n1,2\n3,4", [["1", "2"], ["3", "4"]]),  # no final line break
        ("a,b\r1,2\r3,4\r", [["1", "2"], ["3", "4"]]),  # old Mac line endings
        ('a,b\r\n"x\r\ny",2\r\n', [["x\r\ny", "2"]]),
        ("a,b\n x , y \n", [[" x ", " y "]]),  # values are not stripped
        ("a,b\n1,\u2028\x0cz\n", [["1", "\u2028\x0cz"]]),  # only \r and \n end lines
    ],
)
def test_rfc4180_records(text: str, rows: list[list[str]]) -> None:
    assert read(text.encode()).rows == rows


def test_blank_lines_are_skipped_silently_and_not_counted() -> None:
    result = read(b"\n\na,b\n1,2\n\n   \n3,4\n\n")
    assert result.rows == [["1", "2"], ["3", "4"]]
    assert result.bad_rows == []
    assert result.batches[-1].rows_seen == 2


# --- bad rows -------------------------------------------------------------------------------
def test_wrong_field_count_is_quarantined_with_the_physical_start_line() -> None:
    text = (
        "a,b,c\n"  # 1
        '1,"two\nlines",3\n'  # 2-3
        "4,5\n"  # 4: bad
        '6,"x\ny\nz",8\n'  # 5-7
        "\n"  # 8: blank
        '9,10,11,12,"q\nr"\n'  # 9-10: bad, spans two lines
        "13,14,15\n"  # 11
    )
    result = read(text.encode())
    assert result.rows == [["1", "two\nlines", "3"], ["6", "x\ny\nz", "8"], ["13", "14", "15"]]
    assert result.bad_rows == [
        BadRow(4, "expected 3 fields, found 2", "4,5"),
        BadRow(9, "expected 3 fields, found 5", '9,10,11,12,"q\nr"'),
    ]


@pytest.mark.parametrize("size", [1, 2, 3, 100])
def test_line_numbers_hold_across_batches_and_blocks(size: int, monkeypatch) -> None:
    monkeypatch.setattr(decoding, "BLOCK_SIZE", 7)  # many tiny blocks
    monkeypatch.setattr(decoding, "SAMPLE_SIZE", 16)
    text = 'a,b\n"1\n1",2\nbad\n3,4\n"x\r\ny",z,extra\n5,6\n'
    result = read(text.encode(), size=size)
    assert result.rows == [["1\n1", "2"], ["3", "4"], ["5", "6"]]
    assert [(bad.line, bad.text) for bad in result.bad_rows] == [
        (4, "bad"),
        (6, '"x\r\ny",z,extra'),
    ]
    assert result.batches[-1].rows_seen == 5


@pytest.mark.parametrize("splitter", ["c", "python"])
def test_lone_cr_lines_read_in_tiny_blocks_as_in_one_block(splitter, monkeypatch) -> None:
    # A '\r' kept back at a block's end (a '\n' may follow) once held its line with the next
    # one, and the pair was measured and cut as one line: the second loaded cut short.
    monkeypatch.setenv("CSVHUB_CSV_SPLITTER", splitter)
    limits = ReadLimits(record_chars=12)
    rows = [b"%d,%s" % (n, b"v" * (n % 9)) for n in range(40)]
    data = b"a,b\r" + b"\r".join([*rows[:20], b"20," + b"w" * 30, *rows[21:]]) + b"\r"
    whole = read(data, limits=limits)
    monkeypatch.setattr(decoding, "BLOCK_SIZE", 7)
    monkeypatch.setattr(decoding, "SAMPLE_SIZE", 16)
    tiny = read(data, limits=limits)
    assert tiny.rows == whole.rows == [row.decode().split(",") for row in rows if row[:3] != b"20,"]
    rejected = [(22, "a line longer than 12 characters, the limit for one record")]
    assert [(bad.line, bad.reason) for bad in tiny.bad_rows] == rejected
    assert [(bad.line, bad.reason) for bad in whole.bad_rows] == rejected


@pytest.mark.parametrize("splitter", ["c", "python"])
def test_quotes_given_up_do_not_end_the_batch(splitter, monkeypatch) -> None:
    # Each broken quote once ended its batch: a file alternating good rows and broken quotes
    # came in one-row batches, and the worker did per-batch work for each.
    monkeypatch.setenv("CSVHUB_CSV_SPLITTER", splitter)
    unit = b'1,,2\n1,,"x\ny"z\n'  # a good row, then a quote closed by a quote before text
    data = b"a,b,c\n" + unit * 5000 + b"1,2\n" + b"3,4,5\n" * 4999  # 20,000 records
    result = read(data)
    assert len(result.batches) == 1
    assert result.rows == [["1", "", "2"]] * 5000 + [["3", "4", "5"]] * 4999
    bad = result.bad_rows
    assert len(bad) == 2 * 5000 + 1
    assert [(b.line, b.reason[:33]) for b in bad[:2]] == [
        (3, "quote opened on line 3 is never c"),
        (4, "expected 3 fields, found 1"),
    ]
    assert (bad[-1].line, bad[-1].text) == (15002, "1,2")


@pytest.mark.parametrize("splitter", ["c", "python"])
def test_lines_hold_after_quotes_given_up_inside_a_batch_with_bad_bytes(
    splitter, monkeypatch
) -> None:
    # Undecodable bytes make every record be looked at in file order, lines counted by hand.
    monkeypatch.setenv("CSVHUB_CSV_SPLITTER", splitter)
    data = b'a,b,c\n1,\xff,2\n1,,"x\ny"z\n3,"p\nq",4\n5,"two\nx"\n1,,"x\ny"z\n6,7,8\n'
    result = read_as(data, ReadAgain("utf-8", "given"))
    assert len(result.batches) == 1
    assert result.rows == [["3", "p\nq", "4"], ["6", "7", "8"]]
    assert [(bad.line, bad.reason[:28]) for bad in result.bad_rows] == [
        (2, "bytes that are not valid utf"),
        (3, "quote opened on line 3 is ne"),
        (4, "expected 3 fields, found 1"),
        (7, "expected 3 fields, found 2"),
        (9, "quote opened on line 9 is ne"),
        (10, "expected 3 fields, found 1"),
    ]


def test_list_extend_appends_each_item_as_it_comes_and_keeps_them_on_an_error() -> None:
    # _LineFeed relies on this CPython behaviour: csv records read with records.extend(...)
    # show in the list before the next line is asked for, and stay when the feed raises.
    records: list[int] = []
    seen = []

    def items() -> Iterator[int]:
        for n in range(3):
            seen.append(len(records))
            yield n
        seen.append(len(records))
        raise ValueError("given up")

    with pytest.raises(ValueError, match="given up"):
        records.extend(islice(items(), 10))
    assert seen == [0, 1, 2, 3]
    assert records == [0, 1, 2]


def test_bad_row_text_is_truncated_to_1000_characters() -> None:
    result = read(b"a,b\n" + b"x" * 5000 + b"\n1,2\n")
    assert result.bad_rows[0].text == "x" * 1000
    assert result.rows == [["1", "2"]]


def test_record_over_the_size_limit_is_quarantined_and_reading_goes_on() -> None:
    result = read(b"a,b\n1,2\n3," + b"y" * 80 + b"\n5,6\n", limits=ReadLimits(record_chars=50))
    assert result.rows == [["1", "2"], ["5", "6"]]
    [bad] = result.bad_rows
    assert bad.line == 3
    assert bad.reason == "a line longer than 50 characters, the limit for one record"
    assert bad.text == "3," + "y" * 80


def test_nul_characters_quarantine_their_row() -> None:
    padding = b"".join(b"%d,row\n" % i for i in range(100))  # a stray NUL, not a binary file
    result = read(b"a,b\n1,2\n3,x\x00y\n5,6\n" + padding)
    assert result.rows[:2] == [["1", "2"], ["5", "6"]]
    assert len(result.rows) == 102
    reason = "NUL characters: this looks like binary data"
    assert result.bad_rows == [BadRow(3, reason, "3,x\ufffdy")]


# --- quotes never closed ---------------------------------------------------------------------
def test_a_quote_never_closed_rejects_its_line_and_the_rows_after_it_load() -> None:
    # The issue's file: csv.reader (strict=False) swallowed rows 26-50 into row 25's value;
    # strict=True, pandas and DuckDB give up on the whole file or drop the rest of it.
    lines = ["id,name", *(f"{n},row {n}" for n in range(1, 51))]
    lines[25] = '25,"oops'
    result = read("\n".join(lines).encode() + b"\n")
    assert [row[0] for row in result.rows] == [str(n) for n in range(1, 51) if n != 25]
    assert result.bad_rows == [BadRow(26, "quote opened on line 26 is never closed", '25,"oops')]
    assert result.batches[-1].rows_seen == 50


def test_a_quote_never_closed_is_not_closed_by_the_next_opening_quote() -> None:
    # csv.reader (strict=False) pairs the stray quote with the next field's opening quote and
    # glues the text after it on: rows 26-39 became part of one value, silently.
    lines = ["id,name", *(f"{n},row {n}" for n in range(1, 51))]
    lines[25] = '25,"oops'
    lines[40] = '40,"row 40"'
    result = read("\n".join(lines).encode() + b"\n")
    assert [row[0] for row in result.rows] == [str(n) for n in range(1, 51) if n != 25]
    assert result.rows[38] == ["40", "row 40"]
    [bad] = result.bad_rows
    assert bad.line == 26
    assert bad.reason.startswith("quote opened on line 26 is never closed (the quote on line 41")


def test_a_quote_open_at_the_end_of_the_file_is_rejected_not_loaded() -> None:
    # The lines after the quote are read again as records: here one with too few fields.
    result = read(b'a,b\n1,2\n3,"no end\nin sight')
    assert result.rows == [["1", "2"]]
    assert result.bad_rows == [
        BadRow(3, "quote opened on line 3 is never closed", '3,"no end'),
        BadRow(4, "expected 2 fields, found 1", "in sight"),
    ]


def test_a_quote_not_closed_within_the_line_limit_is_taken_for_never_closed() -> None:
    body = 'a,b\n1,"open\n' + "".join(f"{n},x\n" for n in range(2, 8)) + '8,"closing" quote"\n'
    result = read(body.encode(), limits=ReadLimits(record_lines=4))
    assert result.bad_rows == [
        BadRow(2, "quote opened on line 2 is not closed within 4 lines", '1,"open')
    ]
    assert [row[0] for row in result.rows] == ["2", "3", "4", "5", "6", "7", "8"]


def test_a_multi_line_field_within_the_limits_is_kept_whole() -> None:
    cell = "\n".join(f"line {n}" for n in range(10))
    result = read(f'a,b\n1,"{cell}"\n2,x\n'.encode(), limits=ReadLimits(record_lines=10))
    assert result.rows == [["1", cell], ["2", "x"]]
    assert result.bad_rows == []


# --- bounded memory -------------------------------------------------------------------------
def _gzip(start: bytes, pieces: int, piece) -> bytes:
    out = io.BytesIO()
    with gzip.GzipFile(fileobj=out, mode="wb") as compressed:
        compressed.write(start)
        for number in range(pieces):
            compressed.write(piece(number))
    return out.getvalue()


def _peak_while_reading(data: bytes) -> tuple[list[tuple[int, list[BadRow]]], int]:
    """Each batch's good row count and bad rows, and the peak of memory allocated through
    Python's allocators meanwhile (the C splitter's buffers included)."""
    tracemalloc.start()
    try:
        opened = open_csv(io.BytesIO(data))
        batches = [(batch.row_count, batch.bad_rows) for batch in opened.batches()]
        del opened
        return batches, tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


# About 10 bytes a character of one batch and one record at the default limits (the splitter
# keeps 4 bytes a character); before the limits, the files below peaked at 359 and 664 MiB.
READING_PEAK_LIMIT = 160 * 1024 * 1024


@pytest.mark.parametrize("splitter", ["c", "python"])
def test_wide_rows_are_read_in_batches_of_bounded_size(splitter: str, monkeypatch) -> None:
    # 24 rows of 2 MB (48 MB of text in 140 KiB of gzip): batches end at 8 MiB, not 20,000 rows.
    monkeypatch.setenv("CSVHUB_CSV_SPLITTER", splitter)
    data = _gzip(b"id,text\n", 24, lambda n: b"%d,%s\n" % (n, b"x" * 2_000_000))
    batches, peak = _peak_while_reading(data)
    assert [rows for rows, _ in batches] == [5, 5, 5, 5, 4]
    assert peak < READING_PEAK_LIMIT


@pytest.mark.parametrize("splitter", ["c", "python"])
def test_a_line_without_line_breaks_is_rejected_without_being_held(splitter, monkeypatch) -> None:
    monkeypatch.setenv("CSVHUB_CSV_SPLITTER", splitter)
    data = _gzip(b"id,text\n1,", 40, lambda n: b"y" * 1_000_000)  # one 40 MB line
    batches, peak = _peak_while_reading(data)
    [(rows, [bad])] = batches
    assert (rows, bad.line, bad.reason) == (
        0,
        2,
        "a line longer than 16 MiB, the limit for one record",
    )
    assert bad.text == "1," + "y" * 998
    assert peak < READING_PEAK_LIMIT


def test_batches_end_after_the_record_that_reaches_the_character_limit() -> None:
    data = b"a,b\n" + b"".join(b"%03d,%s\n" % (n, b"x" * 95) for n in range(1000))  # 100-char rows
    result = read(data, limits=ReadLimits(batch_chars=1000))
    assert [batch.row_count for batch in result.batches] == [10] * 100
    assert {batch.chars for batch in result.batches} == {1000}
    assert len(result.rows) == 1000


def test_a_record_over_the_size_limit_never_grows_the_splitter_past_it() -> None:
    # A quoted field over the limit is cut off at the limit, not read to its end.
    data = b'a,b\n1,"' + (b"z" * 100_000 + b"\n") * 30 + b'"\n2,x\n'
    limits = ReadLimits(record_chars=1024 * 1024)
    tracemalloc.start()
    try:
        result = read(data, limits=limits)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    first = result.bad_rows[0]
    assert (first.line, first.reason) == (2, "quote opened on line 2 is not closed within 1 MiB")
    assert peak < len(data) + 16 * limits.record_chars


# --- encodings ------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("data", "encoding"),
    [
        ("name,city\ncafé,Zürich\n".encode(), "utf-8"),
        (codecs.BOM_UTF8 + "name,city\ncafé,Zürich\n".encode(), "utf-8-sig"),
        (codecs.BOM_UTF16_LE + "name,city\ncafé,Zürich\n".encode("utf-16-le"), "utf-16"),
        (codecs.BOM_UTF16_BE + "name,city\ncafé,Zürich\n".encode("utf-16-be"), "utf-16"),
        ("name,city\ncafé,Zürich\n".encode("cp1252"), "cp1252"),
        ("name,price\ncafé,5€\nthé,3€\n".encode("cp1252"), "cp1252"),
        ("naïve,“quoted”\n" + "façade,déjà vu \u2013 Zürich\n" * 50, "cp1252"),
        (("имя,город\nИван,Москва\nПётр,Санкт-Петербург\n" * 10).encode("cp1251"), "cp1251"),  # noqa: RUF001
    ],
)
def test_encoding_is_detected_and_decoded(data: bytes | str, encoding: str) -> None:
    if isinstance(data, str):
        data = data.encode("cp1252")
    result = read(data)
    assert result.reader.encoding == encoding
    expected = data.decode(encoding).lstrip("\ufeff").splitlines()
    assert [",".join(r) for r in [[c.label for c in result.reader.columns], *result.rows]] == (
        expected
    )


def test_bom_is_not_part_of_the_first_label() -> None:
    result = read(codecs.BOM_UTF8 + b"id,name\n1,a\n")
    assert [c.label for c in result.reader.columns] == ["id", "name"]
    assert result.names == ["id", "name"]


def test_utf8_character_cut_at_the_end_of_the_sample_is_still_utf8(monkeypatch) -> None:
    monkeypatch.setattr(decoding, "SAMPLE_SIZE", 10)  # cuts 'é' (2 bytes) in half
    data = "a,b\n1,café\n2,thé\n".encode()
    assert data[:10].endswith(b"\xc3")
    result = read(data)
    assert result.reader.encoding == "utf-8"
    assert result.rows == [["1", "café"], ["2", "thé"]]


def test_invalid_utf8_after_the_sample_quarantines_only_its_rows(monkeypatch) -> None:
    monkeypatch.setattr(decoding, "SAMPLE_SIZE", 64)
    monkeypatch.setattr(decoding, "BLOCK_SIZE", 64)
    lines = [f"{i},Café {i}".encode() for i in range(2, 200)]
    lines[100] = b"102,caf\xe9"  # a cp1252 byte in a UTF-8 file, on line 102
    result = read(b"id,name\n" + b"\n".join(lines) + b"\n")
    assert result.reader.encoding == "utf-8"
    assert result.bad_rows == [BadRow(102, "bytes that are not valid utf-8", "102,caf\ufffd")]
    assert len(result.rows) == 197
    assert result.rows[99:101] == [["101", "Café 101"], ["103", "Café 103"]]
    assert all(row[1].startswith("Café ") for row in result.rows)


@pytest.mark.parametrize("block", [1, 2, 3, 5, 7])
def test_bad_bytes_cut_by_blocks_reject_only_their_rows(block: int, monkeypatch) -> None:
    # Blocks of valid UTF-8 are decoded strictly, a block with a bad byte again with marks:
    # characters and bad sequences cut at every place by the blocks must read the same.
    monkeypatch.setattr(decoding, "SAMPLE_SIZE", 64)
    monkeypatch.setattr(decoding, "BLOCK_SIZE", block)
    lines = [f"{i},Café € 😀 {i}".encode() for i in range(2, 60)]
    lines[20] = b"22,x\xe2\x82y"  # a three-byte sequence cut short, on line 22
    lines[40] = b"42,\xc3\xa9\xed\xa0\x80\xc3\xa9"  # an encoded surrogate between two "é"
    result = read(b"id,name\n" + b"\n".join(lines) + b"\n")
    assert result.reader.encoding == "utf-8"
    assert [bad.line for bad in result.bad_rows] == [22, 42]
    assert result.rows == [[str(i), f"Café € 😀 {i}"] for i in range(2, 60) if i not in (22, 42)]


# Whole-file encoding decisions, on files bigger than the 1 MiB sample.
CAFE_LINES = 30_000  # about 1.7 MiB
FILLER = "x" * 40


def _rows(start: int, stop: int, name: str, encoding: str = "ascii") -> bytes:
    return "".join(f"{n},{name} {n},{FILLER}\n" for n in range(start, stop)).encode(encoding)


def _cafe_file(encoding: str, *, plain_first: int = 0) -> bytes:
    """`plain_first` ASCII rows, then rows with accents, in `encoding`."""
    return (
        b"id,name,filler\n"
        + _rows(0, plain_first, "Cafe")
        + _rows(plain_first, CAFE_LINES, "Café", encoding)
    )


def _names(result) -> set[str]:
    return {row[1].split(" ")[0] for row in result.rows}


@pytest.mark.parametrize("counter", ["c", "python"])
def test_non_ascii_bytes_are_counted_exactly(counter: str) -> None:
    # The count behind "N valid UTF-8 multi-byte characters" in an encoding's reason.
    if counter == "c":
        count = pytest.importorskip("csvhub.csvread._splitter").non_ascii_bytes
    else:
        count = decoding._non_ascii_bytes_in_python
    rng = random.Random(8)
    for size in (0, 1, 7, 8, 9, 255, 4096):
        data = bytes(rng.randrange(256) for _ in range(size))
        assert count(data) == sum(byte >= 0x80 for byte in data)


def test_utf8_file_with_a_bad_byte_in_the_sample_stays_utf8_and_rejects_that_row() -> None:
    data = _cafe_file("utf-8").replace(b"5,Caf\xc3\xa9 5,", b"5,Caf\xe9 5,", 1)
    data = data.replace("20000,Café".encode(), b"20000,\x93Caf\xc3\xa9", 1)  # 2 bad bytes
    result = read(data)
    assert result.reader.encoding == "utf-8"
    assert [(bad.line, bad.reason) for bad in result.bad_rows] == [
        (7, "bytes that are not valid utf-8"),
        (20002, "bytes that are not valid utf-8"),
    ]
    assert len(result.rows) == CAFE_LINES - 2
    assert _names(result) == {"Café"}
    assert result.reader.encoding_reason.startswith("29,999 valid UTF-8 multi-byte characters")
    assert "2 invalid UTF-8 sequences: UTF-8 with bad bytes" in result.reader.encoding_reason


@pytest.mark.parametrize("splitter", ["c", "python"])
def test_cp1252_accents_after_the_sample_switch_the_reading_without_a_reject(
    splitter: str, monkeypatch
) -> None:
    monkeypatch.setenv("CSVHUB_CSV_SPLITTER", splitter)
    data = _cafe_file("cp1252", plain_first=25_000)
    assert data[: decoding.SAMPLE_SIZE].isascii() and not data.isascii()
    result = read(data, size=7_000)
    assert result.reader.encoding == "cp1252"
    assert result.bad_rows == []
    assert len(result.rows) == CAFE_LINES
    assert result.rows[25_000] == ["25000", "Café 25000", FILLER]
    assert _names(result) == {"Cafe", "Café"}
    assert "not UTF-8, charset detection chose cp1252" in result.reader.encoding_reason
    assert result.batches[-1].rows_seen == CAFE_LINES


def test_ascii_file_with_one_high_byte_after_the_sample_is_cp1252(monkeypatch) -> None:
    monkeypatch.setattr(decoding, "SAMPLE_SIZE", 64)
    monkeypatch.setattr(decoding, "BLOCK_SIZE", 64)
    lines = [f"{i},row {i}".encode() for i in range(2, 200)]
    lines[100] = b"102,caf\xe9"
    result = read(b"id,name\n" + b"\n".join(lines) + b"\n")
    assert result.reader.encoding == "cp1252"
    assert result.bad_rows == []
    assert result.rows[100] == ["102", "café"]


# Non-ASCII text in the first MiB, and the evidence against its encoding after it.
UTF8_THEN_CP1252 = (
    b"id,name,filler\n" + _rows(0, 2, "Café", "utf-8") + _rows(2, 25_000, "Cafe")
) + _rows(25_000, CAFE_LINES, "Café", "cp1252")
CP1252_THEN_UTF8 = (
    b"id,name,filler\n" + _rows(0, 2, "Café", "cp1252") + _rows(2, 25_000, "Cafe")
) + _rows(25_000, CAFE_LINES, "Café", "utf-8")


def test_utf8_lines_before_many_cp1252_ones_keep_the_file_utf8() -> None:
    # Two UTF-8 lines against 5,000 cp1252 ones: still UTF-8, or "Café" would load as
    # "CafÃ©"; the cp1252 rows are rejected (and the upload fails on their share).
    result = read(UTF8_THEN_CP1252)
    assert result.reader.encoding == "utf-8"
    assert [bad.line for bad in result.bad_rows] == list(range(25_002, CAFE_LINES + 2))
    assert _names(result) == {"Cafe", "Café"}


def test_utf8_lines_after_cp1252_ones_ask_to_read_again_as_utf8() -> None:
    with pytest.raises(ReadAgain) as again:
        read(CP1252_THEN_UTF8)
    assert again.value.encoding == "utf-8"
    assert again.value.reason.endswith("decided on the whole file")
    again_read = read_as(CP1252_THEN_UTF8, again.value)
    assert again_read.reader.encoding == "utf-8"
    assert again_read.reader.encoding_reason == again.value.reason
    assert [bad.line for bad in again_read.bad_rows] == [2, 3]
    assert len(again_read.rows) == CAFE_LINES - 2
    assert _names(again_read) == {"Cafe", "Café"}


def test_reading_stops_once_a_utf8_line_settles_the_encoding() -> None:
    # The rows after the first UTF-8 line would be thrown away: none is handed out, the rest
    # of the file is only counted for the reason.
    data = CP1252_THEN_UTF8 + _rows(CAFE_LINES, 100_000, "Café", "utf-8")
    reader = open_csv(io.BytesIO(data))
    rows = 0
    with pytest.raises(ReadAgain) as again:
        for batch in reader.batches(1_000):
            rows += batch.row_count
    assert rows < 25_000
    assert again.value.reason.startswith("75,000 valid UTF-8 multi-byte characters, 2 invalid")


@pytest.mark.parametrize(
    ("data", "bad_lines", "names"),
    [
        (  # English UTF-8 with one pasted cp1252 row of smart quotes
            _rows(0, 3, "It\u2019s", "utf-8")
            + _rows(3, 100, "plain")
            + _rows(100, 101, "“a” “b”", "cp1252"),
            [102],
            {"It\u2019s", "plain"},
        ),
        (  # one UTF-8 "Café", two cp1252 ones
            _rows(0, 2, "Café", "cp1252") + _rows(2, 3, "Café", "utf-8") + _rows(3, 100, "Cafe"),
            [2, 3],
            {"Café", "Cafe"},
        ),
        (  # half and half
            _rows(0, 50, "Café", "utf-8") + _rows(50, 100, "Café", "cp1252"),
            list(range(52, 102)),
            {"Café"},
        ),
    ],
    ids=["pasted-smart-quotes", "one-utf8-two-cp1252", "half-and-half"],
)
def test_a_line_of_valid_utf8_outweighs_any_number_of_invalid_sequences(
    data: bytes, bad_lines: list[int], names: set[str]
) -> None:
    result = read(b"id,name,filler\n" + data)
    assert result.reader.encoding == "utf-8"
    assert [(bad.line, bad.reason) for bad in result.bad_rows] == [
        (line, "bytes that are not valid utf-8") for line in bad_lines
    ]
    assert _names(result) == names


def test_a_line_mixing_valid_and_invalid_utf8_is_rejected_not_read_as_cp1252() -> None:
    # One byte is no evidence of cp1252, and cp1252 would turn the valid "é" into "Ã©".
    result = read(b"id,name,filler\n" + _rows(0, 100, "Cafe") + b"100,Caf\xc3\xa9 \xe9,x\n")
    assert result.reader.encoding == "utf-8"
    assert [(bad.line, bad.reason) for bad in result.bad_rows] == [
        (102, "bytes that are not valid utf-8")
    ]


def test_utf8_header_before_a_cp1252_body_keeps_its_label() -> None:
    result = read("id,né,filler\n".encode() + _rows(0, 100, "Café", "cp1252"))
    assert (result.reader.encoding, result.reader.columns[1].label) == ("utf-8", "né")
    assert len(result.bad_rows) == 100


def test_undecodable_bytes_in_the_header_refuse_the_file() -> None:
    with pytest.raises(CsvFormatError, match=r"The header cell of column 2 \('n\ufffdme'\) holds "):
        read(b"id,n\xe9me,filler\n" + _rows(0, 100, "Café", "utf-8"))


@pytest.mark.parametrize("stray", [b"\x81", b"\x8d", b"\x90", b"\x81\x8d\x8f", b"\xf4\x90\x80\x80"])
def test_a_few_stray_bytes_are_read_as_cp1252_not_a_multibyte_encoding(stray: bytes) -> None:
    # Shift-JIS or Big5 would take the "y" after a stray byte as the second half of a character.
    plain = b"".join(b"%d,hello world\n" % i for i in range(100))
    result = read(b"id,t\n" + plain + b"100,x" + stray + b"y\n" + plain)
    assert result.reader.encoding == "cp1252"
    assert [(bad.line, bad.reason) for bad in result.bad_rows] == [
        (102, "bytes that are not valid cp1252")
    ]
    assert len(result.rows) == 200


@pytest.mark.parametrize("splitter", ["c", "python"])
def test_a_file_read_again_rejects_its_quote_never_closed_and_reads_on(
    splitter: str, monkeypatch
) -> None:
    # The quote swallows the rest of the file in the first reading; the encoding is still
    # decided on every byte, and the second reading gives the quote up as the first did.
    monkeypatch.setenv("CSVHUB_CSV_SPLITTER", splitter)
    row = _rows(26_000, 26_001, "Café", "utf-8")
    data = CP1252_THEN_UTF8.replace(row, b'oops,"Caf\xc3\xa9\n' + row, 1)  # line 26,002
    with pytest.raises(ReadAgain) as again:
        read(data)
    assert again.value.encoding == "utf-8"
    again_read = read_as(data, again.value)
    assert [bad.line for bad in again_read.bad_rows] == [2, 3, 26_002]  # two cp1252 rows
    assert again_read.bad_rows[-1].reason == "quote opened on line 26002 is never closed"
    assert len(again_read.rows) == CAFE_LINES - 2
    assert again_read.rows[26_000 - 2][:2] == ["26000", "Café 26000"]


# --- delimiters -----------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("text", "delimiter"),
    [
        ("a,b,c\n1,2,3\n", ","),
        ("a;b;c\n1,5;2,5;3\n", ";"),  # decimal commas
        ("a\tb\tc\nx, y\t2\t3\n", "\t"),
        ("a|b|c\n1|2|3\n", "|"),
        ('name,note\nx,"a;b;c"\ny,"d;e;f"\n', ","),  # quoted delimiters do not count
        ("name\nalice\nbob\n", ","),  # one column
    ],
)
def test_delimiter_is_detected(text: str, delimiter: str) -> None:
    result = read(text.encode())
    assert result.reader.delimiter == delimiter
    assert len(result.rows[0]) == len(result.reader.columns)


# --- gzip -----------------------------------------------------------------------------------
def test_gzip_is_decompressed_and_progress_counts_compressed_bytes() -> None:
    plain = b"a,b\n" + b"".join(b"%d,%d\n" % (i, i * i) for i in range(5000))
    packed = gzip.compress(plain)
    result = read(packed, size=1000, filename="squares.csv.gz")
    assert result.reader.compressed is True
    assert len(result.rows) == 5000
    assert result.rows[-1] == ["4999", str(4999 * 4999)]
    assert result.batches[-1].bytes_read == len(packed)
    assert [b.rows_seen for b in result.batches] == [1000, 2000, 3000, 4000, 5000]


def test_plain_file_is_not_compressed_and_bytes_read_reach_the_size() -> None:
    data = b"a,b\n1,2\n"
    result = read(data)
    assert result.reader.compressed is False
    assert result.batches[-1].bytes_read == len(data)


def test_damaged_gzip_is_a_format_error() -> None:
    packed = gzip.compress(b"a,b\n" + b"1,2\n" * 100_000)
    with pytest.raises(CsvFormatError, match="gzip"):
        read(packed[: len(packed) // 2])


# --- files that are not CSV -----------------------------------------------------------------
@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"", "empty"),
        (b"\n\n  \n", "empty"),
        (b",,,\n1,2,3\n", "no column names"),
        (b"PK\x03\x04" + bytes(100), "Excel"),
        (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "binary"),
        ("a,b\n1,2\n".encode("utf-16-le"), "UTF-16"),
    ],
)
def test_unusable_files_raise_format_errors(data: bytes, message: str) -> None:
    with pytest.raises(CsvFormatError, match=message):
        open_csv(io.BytesIO(data))


def test_header_only_file_has_columns_and_no_batches() -> None:
    result = read(b"a,b\n")
    assert result.names == ["a", "b"]
    assert result.batches == []


def test_batch_size_must_be_positive() -> None:
    reader_ = open_csv(io.BytesIO(b"a\n1\n"))
    with pytest.raises(ValueError, match="positive"):
        next(reader_.batches(0))


class _Trickle(io.RawIOBase):
    """A non-seekable stream that returns at most 3 bytes per read, like a slow socket."""

    def __init__(self, data: bytes) -> None:
        self._data = io.BytesIO(data)

    def readable(self) -> bool:
        return True

    def read(self, size: int = -1) -> bytes:
        return self._data.read(min(3, size) if size >= 0 else 3)


@pytest.mark.parametrize("compress", [False, True])
def test_short_reads_from_a_non_seekable_stream(compress: bool) -> None:
    data = 'id;name\n1;café\n2;"a\nb"\n'.encode()
    stream = _Trickle(gzip.compress(data) if compress else data)
    csv_reader = open_csv(stream)  # type: ignore[arg-type]
    rows = [row for batch in csv_reader.batches() for row in batch.rows]
    assert (csv_reader.delimiter, csv_reader.compressed) == (";", compress)
    assert rows == [["1", "café"], ["2", "a\nb"]]


def test_bad_rows_of_a_utf16_file_are_quoted_as_written() -> None:
    data = codecs.BOM_UTF16_LE + "a,b\n1,2\nzürich\n3,4\n".encode("utf-16-le")
    result = read(data)
    assert result.rows == [["1", "2"], ["3", "4"]]
    assert result.bad_rows == [BadRow(3, "expected 2 fields, found 1", "zürich")]


def test_random_bytes_are_not_csv() -> None:
    rng = random.Random(7)
    garbage = bytes(rng.randrange(1, 256) for _ in range(50_000))  # no NULs to give it away
    with pytest.raises(CsvFormatError, match="encoding"):
        open_csv(io.BytesIO(garbage))


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        (b"a,b\n1,2\n", "plain ASCII"),
        ("a,b\n1,é\n".encode(), "valid UTF-8 throughout"),
        (codecs.BOM_UTF16_LE + "a,b\n1,é\n".encode("utf-16-le"), "utf-16 byte order mark"),
        (codecs.BOM_UTF8 + b"a,b\n1,2\n", "utf-8-sig byte order mark"),
    ],
)
def test_the_reason_for_the_encoding_is_given(data: bytes, reason: str) -> None:
    assert read(data).reader.encoding_reason == reason


def test_gzip_past_the_decompressed_limit_is_refused_while_reading() -> None:
    data = gzip.compress(b"n\n" + b"1\n" * 2_000_000)  # 4 MB of text in a few KiB
    with pytest.raises(LimitExceeded, match="more than 3,000,000 bytes once decompressed") as error:
        reader = open_csv(io.BytesIO(data), max_decompressed_bytes=3_000_000)
        for batch in reader.batches(10_000):
            assert batch.rows_seen <= 1_500_000  # refused at the limit, not after the file
    assert error.value.limit == "max_decompressed_bytes"
    stream = decoding.BoundedStream(gzip.GzipFile(fileobj=io.BytesIO(data)), 10)
    with pytest.raises(LimitExceeded):
        stream.read()


def test_the_decompressed_limit_hit_in_the_header_keeps_its_message() -> None:
    data = gzip.compress(b"id," + b"h" * (3 << 20) + b"\n1,2\n")
    with pytest.raises(LimitExceeded, match=r"^This file holds more than 2,097,152 bytes") as error:
        open_csv(io.BytesIO(data), max_decompressed_bytes=2 << 20)
    assert error.value.limit == "max_decompressed_bytes"


def _two_million_short_rows() -> bytes:
    """The shape of the issue's example: 2M rows of 23 bytes in 800 KiB of gzip (57:1)."""
    rng = random.Random(11)
    cities = [rng.choice([b"Paris", b"Oslo", b"Rome"]) for _ in range(2_000_000)]
    return gzip.compress(
        b"id,city,note\n" + b"".join(b"1,%s,shipped on time\n" % c for c in cities)
    )


def test_gzip_that_grows_past_the_ratio_is_refused_while_reading() -> None:
    data = _two_million_short_rows()
    assert len(data) < 1 << 20
    rows = 0
    with pytest.raises(LimitExceeded, match="grows more than 50 times when decompressed") as e:
        for batch in open_csv(io.BytesIO(data), max_decompression_ratio=50).batches():
            rows += batch.row_count
    assert e.value.limit == "max_decompression_ratio"
    assert rows < 1_500_000  # refused as the ratio showed, past the first 16 MiB


def test_gzip_csv_that_compresses_as_csv_does_passes_the_ratio() -> None:
    rng = random.Random(5)
    text = b"id,amount,city\n" + b"".join(
        b"%d,%d.%02d,%s\n" % (n, rng.randrange(10_000), rng.randrange(100), rng.choice(CITIES))
        for n in range(1_000_000)
    )
    data = gzip.compress(text)
    assert len(text) > decoding.RATIO_FREE_BYTES and 2 < len(text) / len(data) < 20
    reader_ = open_csv(io.BytesIO(data), max_decompression_ratio=50)
    assert sum(batch.row_count for batch in reader_.batches()) == 1_000_000


CITIES = [b"Paris", b"Oslo", b"Rome", b"Lima", b"Quito", b"Accra", b"Hanoi", b"Perth"]


def test_gzip_at_the_decompressed_limit_and_plain_files_over_it_are_read() -> None:
    text = b"n\n" + b"1\n" * 1000
    assert (
        sum(
            b.row_count
            for b in open_csv(
                io.BytesIO(gzip.compress(text)), max_decompressed_bytes=len(text)
            ).batches()
        )
        == 1000
    )
    assert (
        sum(b.row_count for b in open_csv(io.BytesIO(text), max_decompressed_bytes=10).batches())
        == 1000
    )


@pytest.mark.parametrize("compress", [False, True], ids=["plain", "gzip"])
@pytest.mark.parametrize("fails_in", ["the sample", "a later batch"])
def test_a_stored_file_that_fails_to_read_is_not_a_bad_file(compress, fails_in) -> None:
    """A read error of the file itself is not the sender's to fix: it must not pass for damaged
    gzip data (a 4xx telling them to compress again), in this process as in the child."""
    body = ("n,label\n" + "".join(f"{n},row {n}\n" for n in range(400_000))).encode()
    data = gzip.compress(body) if compress else body
    after = 1000 if fails_in == "the sample" else len(data) // 2
    with pytest.raises(StoredFileUnreadable, match="connection reset by peer"):
        reader = open_csv(BreaksAfter(data, after), filename="n.csv.gz" if compress else "n.csv")
        for _ in reader.batches(10_000):
            pass
