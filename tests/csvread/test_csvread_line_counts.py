"""Counting a column's distinct lines on its joined text (the C splitter's count_lines, and
the same count in Python when csvhub is built without a C compiler): the top values and the
rows per day that ingestion keeps for every batch."""

from __future__ import annotations

import random
import sys
from collections import Counter

import pytest

from csvhub.csvread import columns
from csvhub.csvread.columns import Columns, _count_lines_in_python, line_counts
from csvhub.csvread.inference import TypeTracker
from csvhub.schema.stats import TOP_VALUE_LENGTH, TOP_VALUES_KEPT, DayCounts, TopValues

# One, two and four bytes a character in CPython's str: the C side reads all three.
ALPHABETS = ("ab", "aé", "a\u0100", "a😀", "abcdefghij")


def _lines(rng: random.Random, count: int, distinct: int, alphabet: str) -> list[str]:
    words = [
        "".join(rng.choice(alphabet) for _ in range(rng.randrange(0, 14))) for _ in range(distinct)
    ]
    words += ["", " ", "x" * (TOP_VALUE_LENGTH + 1), "2024-02-29 10:00:00", "2024-02-29"]
    return [rng.choice(words) for _ in range(count)]


def _reference(lines: list[str], prefix: int, max_length: int, kept: int) -> tuple[dict, int]:
    counted = Counter(
        line[:prefix] if prefix else line
        for line in lines
        if line and (max_length < 0 or len(line) <= max_length)
    )
    ranked = sorted(counted.values(), reverse=True)
    cut = ranked[kept] if 0 <= kept < len(ranked) else 0
    return {line: n - cut for line, n in counted.items() if n > cut}, cut


def _c_count_lines():
    return pytest.importorskip("csvhub.csvread._splitter").count_lines


@pytest.fixture(params=["c", "python"])
def counter(request):
    return _c_count_lines() if request.param == "c" else _count_lines_in_python


def test_counts_match_counting_the_split_cells(counter) -> None:
    rng = random.Random(5)
    for round_ in range(300):
        alphabet = ALPHABETS[round_ % len(ALPHABETS)]
        lines = _lines(rng, rng.choice((1, 2, 40, 3_000)), rng.choice((1, 3, 33, 500)), alphabet)
        prefix = rng.choice((0, 0, 1, 10))
        max_length = rng.choice((-1, TOP_VALUE_LENGTH, 3))
        kept = rng.choice((-1, 0, 1, TOP_VALUES_KEPT))
        counts, cut = counter("\n".join(lines), prefix, max_length, kept)
        case = (alphabet, prefix, max_length, kept)
        untrimmed = _reference(lines, prefix, max_length, -1)
        if counter is _count_lines_in_python:
            assert (counts, cut) == untrimmed, case  # Python leaves the trimming to TopValues
        else:
            assert (counts, cut) == _reference(lines, prefix, max_length, kept), case
        if kept == TOP_VALUES_KEPT:  # trimmed here or not, the summary is the same
            assert TopValues.of_counts(counts, cut) == TopValues.of_counts(*untrimmed), case


def test_the_edges_of_the_joined_text() -> None:
    count_lines = _c_count_lines()
    assert count_lines("", 0, -1, -1) == ({}, 0)  # one empty cell
    assert count_lines("\n\n", 0, -1, -1) == ({}, 0)
    assert count_lines("a\n\na", 0, -1, -1) == ({"a": 2}, 0)
    assert count_lines("😀a\n😀b", 1, -1, -1) == ({"😀": 2}, 0)
    every_value_once = "\n".join(f"id-{i}" for i in range(100_000))  # a table that grows
    assert count_lines(every_value_once, 0, -1, TOP_VALUES_KEPT) == ({}, 1)


def test_a_batch_keeps_the_same_top_values_and_days_as_from_its_cells(counter, monkeypatch) -> None:
    monkeypatch.setattr(columns, "_COUNT_LINES", counter)
    rng = random.Random(9)
    # Skewed, so that the counts around the cut differ and an off-by-one there shows.
    names = rng.choices([f"name {i}" for i in range(60)], [i * i for i in range(60)], k=5_000)
    days = [f"2024-{rng.randrange(1, 13):02}-{rng.randrange(1, 29):02} 10:00:00" for _ in names]
    tracker = TypeTracker(2)
    tracker.observe_columns(
        Columns.from_rows([list(row) for row in zip(names, days, strict=True)], 2)
    )
    name_stats, day_stats = tracker.stats
    assert name_stats.top_values == TopValues.of(names)
    assert day_stats.day_counts == DayCounts.of(days)
    assert day_stats.day_counts is not None and day_stats.day_counts.total() == len(days)


def _slot(line: str, mask: int) -> int:
    """The C table's first slot for a line (_splitter.c, line_hash): eight bytes at a time
    (little-endian words, as on the machines csvhub runs on), then mixed."""
    data = line.encode("latin-1")  # one byte a character, as the C side reads ASCII
    hash_ = 0x9E3779B97F4A7C15 ^ len(data)
    whole = len(data) - len(data) % 8
    for start in range(0, whole, 8):
        hash_ = ((hash_ ^ int.from_bytes(data[start : start + 8], "little")) * _M1) % 2**64
        hash_ ^= hash_ >> 29
    hash_ = ((hash_ ^ int.from_bytes(data[whole:], "little")) * _M2) % 2**64
    hash_ ^= hash_ >> 33
    hash_ = (hash_ * _M1) % 2**64
    return (hash_ ^ (hash_ >> 33)) & mask


_M1, _M2 = 0xFF51AFD7ED558CCD, 0xC4CEB9FE1A85EC53


def test_lines_chosen_to_collide_are_counted_in_python_instead() -> None:
    # The C hash is not keyed: someone who knows it can send cells that all land in one slot,
    # which would make counting quadratic. The C side gives up; Python's keyed dict counts.
    count_lines = _c_count_lines()
    if sys.byteorder != "little":
        pytest.skip("the hash's mirror here reads words little-endian, as x86 and ARM do")
    mask = 511  # 200 lines: a table of 512 slots
    # Longer than a word, so that the mirror checks the C hash's word loop as well as its tail.
    lines = (f"key-{i:07d}" for i in range(400_000))
    colliding = [line for line in lines if _slot(line, mask) == 0]
    joined = "\n".join(colliding[:200])
    assert count_lines(joined, 0, -1, -1) is None
    assert line_counts(joined, kept=TOP_VALUES_KEPT) == _reference(colliding[:200], 0, -1, -1)
    ordinary = "\n".join(f"k{i}" for i in range(200))
    assert count_lines(ordinary, 0, -1, -1) == ({f"k{i}": 1 for i in range(200)}, 0)


@pytest.mark.parametrize("alphabet", ALPHABETS)
def test_line_breaks_counts_what_str_count_counts_at_every_block_edge(alphabet):
    # The C side counts in blocks of 255 characters in an 8-bit sum: lengths around a block's
    # edge, and a block of nothing but line breaks (255 of them), are where a sum would wrap.
    rng = random.Random(7)
    for length in (0, 1, 254, 255, 256, 509, 510, 511, 4096):
        text = "".join(rng.choice(alphabet + "\n") for _ in range(length))
        assert columns.line_breaks(text) == text.count("\n"), length
        newlines = "\n" * length + alphabet
        assert columns.line_breaks(newlines) == length
