"""Proving a column of integers or decimals on its joined text: the C splitter's numbers_fit
must answer exactly what the grammar's regex answers (formats.column_pattern), on any text."""

from __future__ import annotations

import random

import pytest

from csvhub.csvread import formats
from csvhub.csvread.formats import Kind
from csvhub.csvread.inference import TypeTracker
from csvhub.schema.types import ColumnType

GRAMMARS = {False: formats.INTEGER, True: formats.DECIMAL}  # by `decimal`
# Characters numbers are made of, and a few they are not: spaces, a carriage return, an
# Arabic-Indic digit (a digit to str.isdigit, not to the grammar), Latin-1 and wider text.
ALPHABET = "0123456789" * 3 + "+-.eE\n\n x\r٣é€😀"
EDGES = [
    "",
    "0",
    "-0",
    "+0",
    "00",
    "007",
    "0.",
    ".5",
    ".",
    "+",
    "-",
    "1.",
    "1.e5",
    ".e5",
    "1e",
    "1e+",
    "1e123",
    "1e1234",
    "1E-5",
    "9" * 19,
    "9" * 20,
    "-" + "9" * 19,
    "0" + "9" * 18,
    "1..2",
    "1.2.3",
    "--1",
    "1-",
    " 1",
    "1 ",
    "1\r",
    "\n",
    "1\n\n2",
    "1\n",
    "\n1",
]


def _numbers_fit():
    return pytest.importorskip("csvhub.csvread._splitter").numbers_fit


@pytest.mark.parametrize("decimal", [False, True])
def test_numbers_fit_answers_what_the_regex_answers(decimal: bool) -> None:
    numbers_fit = _numbers_fit()
    pattern = formats.column_pattern(GRAMMARS[decimal], lenient=False)
    rng = random.Random(11)
    texts = [*EDGES, "\n".join(EDGES)]
    texts += ["".join(rng.choices(ALPHABET, k=rng.randrange(0, 24))) for _ in range(100_000)]
    for text in texts:
        assert numbers_fit(text, decimal) is (pattern.fullmatch(text) is not None), (text, decimal)


@pytest.mark.parametrize("type_", [ColumnType.INTEGER, ColumnType.DECIMAL])
def test_column_fits_a_whole_batch_column_as_the_grammar_does(type_: ColumnType) -> None:
    fits = formats.column_fits(Kind(type_))
    pattern = formats.column_pattern(formats.accepted(Kind(type_)), lenient=False)
    rng = random.Random(3)
    cells = [str(rng.randrange(-(10**12), 10**12)) for _ in range(20_000)]
    if type_ is ColumnType.DECIMAL:
        cells = [f"{cell[:-2]}.{cell[-2:]}" for cell in cells]
    for bad in (None, "", "1 ", "007", "1e5"):  # the last one is a decimal, not an integer
        column = "\n".join([*cells, bad] if bad is not None else cells)
        assert fits(column) is (pattern.fullmatch(column) is not None), bad


def test_a_leading_zero_keeps_a_batch_column_text_after_integers() -> None:
    # The C proof is what ingestion uses: "007" after integers must still make the column text.
    tracker = TypeTracker(1)
    tracker.observe([["12"], ["-3"]])
    assert tracker.types == [ColumnType.INTEGER]
    tracker.observe([["4"], ["007"]])
    assert tracker.types == [ColumnType.TEXT]
