"""Reading rules: cells rewritten before type inference (null tokens, a decimal comma,
thousands separators, day-first dates, and the steps of a cleaning recipe).

A batch is rewritten column by column. A rule first asks a cheap question of the column's joined
text (is a null token there at all? a slash?); only a column where it may change something is
split into cells, and each distinct cell is rewritten once. Columns left alone keep their joined
text and the C splitter's summary, so a file the rules do not touch is read at full speed.

The rewrites give text in the grammars of csvread.formats (`14816.43`, `2024-01-05`), so type
inference and conversion stay the one place that decides types.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from enum import StrEnum

from csvhub.csvread import formats
from csvhub.csvread.columns import CellSummary, Columns

type CellFunction = Callable[[str], str]

# The null tokens of datasets created since reading rules exist (docs/decisions.md).
DEFAULT_NULL_TOKENS = ("NA", "N/A", "n/a", "null", "NULL", "-", "#N/A")


def _always(joined: str, summary: CellSummary | None) -> bool:
    return True


@dataclass(frozen=True)
class CellRule:
    """One rewrite of a column's cells. `may_change(joined, summary)` is a cheap test on the
    column's cells joined with newlines and the C splitter's summary of them (None when not
    made): False promises that `rewrite` changes no cell."""

    rewrite: CellFunction
    may_change: Callable[[str, CellSummary | None], bool] = _always


def null_tokens_rule(tokens: Sequence[str]) -> CellRule | None:
    """Cells equal to one of `tokens` (as written) become empty: NULL in a typed column."""
    wanted = frozenset(token for token in tokens if token)
    if not wanted:
        return None

    numeric = {token for token in wanted if _NUMBER_CELL.fullmatch(token)}

    def may_change(joined: str, summary: CellSummary | None) -> bool:
        candidates = wanted if summary is None else _possible(wanted, numeric, summary)
        # str.find is memchr-fast; a token counts only as a whole line (cell) of the text.
        return any(_has_line(joined, token) for token in candidates)

    return CellRule(lambda cell: "" if cell in wanted else cell, may_change)


# The cells the C splitter's summary calls numbers (CellSummary.number_min is set only when
# every non-empty cell is one).
_NUMBER_CELL = re.compile(r"-?[0-9]+(?:\.[0-9]+)?")


def _possible(
    wanted: frozenset[str], numeric: set[str], summary: CellSummary
) -> set[str] | frozenset[str]:
    """The tokens a column's cells may equal, by the splitter's summary: none shorter or longer
    than every cell, and only number-like ones in a column of numbers."""
    if summary.min_length is None:  # only empty cells
        return set()
    low, high = summary.min_length, summary.max_length or 0
    pool = numeric if summary.number_min is not None else wanted
    return {token for token in pool if low <= len(token) <= high}


def _has_line(joined: str, token: str) -> bool:
    if joined == token or joined.startswith(token + "\n") or joined.endswith("\n" + token):
        return True
    return f"\n{token}\n" in joined


class BatchRewriter:
    """Applies per-column rules to batches; `rules[i]` are column i's, in order."""

    def __init__(self, rules: Sequence[Sequence[CellRule]]) -> None:
        self.rules = [tuple(column_rules) for column_rules in rules]

    @property
    def active(self) -> bool:
        return any(self.rules)

    def rewrite(self, columns: Columns) -> Columns:
        """The batch with its cells rewritten (`columns` itself when no cell changes)."""
        if not columns.row_count:
            return columns
        changed: dict[int, list[str]] = {}
        for index, column_rules in enumerate(self.rules):
            cells = self._column(columns, index, column_rules)
            if cells is not None:
                changed[index] = cells
        return columns.with_cells(changed)

    @staticmethod
    def _column(columns: Columns, index: int, rules: tuple[CellRule, ...]) -> list[str] | None:
        # Rules before the first that may change the column change nothing; from it on, each
        # sees the cells the previous ones made, so none is skipped on the original text.
        summary = columns.summary(index)
        for position, rule in enumerate(rules):
            if rule.may_change(columns.joined(index), summary):
                return _rewritten(columns.cells(index), rules[position:])
        return None


def _rewritten(cells: list[str], rules: Sequence[CellRule]) -> list[str] | None:
    """The cells through every rule, each distinct cell once; None when none changed."""
    mapping: dict[str, str] = {}
    for cell in set(cells):
        new = cell
        for rule in rules:
            new = rule.rewrite(new)
        if new != cell:
            mapping[cell] = new
    if not mapping:
        return None
    return [mapping.get(cell, cell) for cell in cells]


# -- the reading rules of a dataset ----------------------------------------------------------


class DateOrder(StrEnum):
    """How a column writes dates with slashes: `05/01/2024` is May 1st month first."""

    MONTH_FIRST = "month_first"
    DAY_FIRST = "day_first"
    AMBIGUOUS = "ambiguous"  # every day and month is 12 or less: nothing proves either
    MIXED = "mixed"  # both orders are proven: the column cannot be dates


@dataclass(frozen=True)
class ReadingRules:
    """How a dataset's files are read. None means: detect in each file (see `detect`)."""

    null_tokens: tuple[str, ...] = ()
    decimal_separator: str | None = None
    thousands_separator: str | None = None
    day_first: bool | None = None


@dataclass(frozen=True)
class Reading:
    """Reading rules decided for one file: nothing left to detect."""

    null_tokens: tuple[str, ...] = ()
    decimal_separator: str = "."
    thousands_separator: str = ""
    day_first: bool = False
    notes: tuple[str, ...] = field(default=(), compare=False)  # what was detected or assumed

    def cell_rules(self) -> list[CellRule]:
        """The rules every column of the file goes through (after a recipe's own steps)."""
        rules = [null_tokens_rule(self.null_tokens)]
        numbers = formats.number_rewrite(self.decimal_separator, self.thousands_separator)
        if numbers is not None:
            separators = {self.decimal_separator, self.thousands_separator} - {""}
            rules.append(CellRule(numbers, lambda joined, _: any(s in joined for s in separators)))
        if self.day_first:
            rules.append(CellRule(formats.day_first_date, lambda joined, _: "/" in joined))
        return [rule for rule in rules if rule is not None]


# -- detection on a file's first batch -------------------------------------------------------

# A number with a decimal comma that cannot be read as thousands grouped by commas: not three
# digits after the comma, or dots grouping thousands before it (`14.816,43`).
_DECIMAL_COMMA = re.compile(
    r"[+-]?(?:[0-9]+,(?:[0-9]{1,2}|[0-9]{4,})|[0-9]{1,3}(?:\.[0-9]{3})+,[0-9]+)"
)
# A number that only reads with a decimal point: a fraction after a point (not three digits,
# which could be a group), or commas grouping thousands before a point.
_DECIMAL_POINT = re.compile(
    r"[+-]?(?:[0-9]+\.(?:[0-9]{1,2}|[0-9]{4,})|[0-9]{1,3}(?:,[0-9]{3})+\.[0-9]+)"
)


def detect(rules: ReadingRules, columns: Columns, delimiter: str, names: Sequence[str]) -> Reading:
    """The rules decided for a file from its first batch: what the dataset's rules set, and for
    what they leave open, what the cells prove. Every guess is said in `notes`."""
    notes: list[str] = []
    decimal, thousands = _separators(rules, columns, delimiter, notes)
    day_first = rules.day_first
    if day_first is None:
        day_first = _day_first(columns, names, notes)
    return Reading(rules.null_tokens, decimal, thousands, day_first, tuple(notes))


def _separators(
    rules: ReadingRules, columns: Columns, delimiter: str, notes: list[str]
) -> tuple[str, str]:
    decimal = rules.decimal_separator
    if decimal is None:
        decimal = "." if delimiter != ";" else _semicolon_file_decimal(columns, notes)
    thousands = rules.thousands_separator
    if thousands is None:
        thousands = "." if decimal == "," else ""
    if thousands == decimal:  # the rule's thousands separator, and a detected decimal one
        notes.append(
            f"Numbers were read with a decimal {_NAMES[decimal]}, which the thousands "
            "separator rule also names; they were read without thousands separators. Set the "
            "decimal separator rule."
        )
        thousands = ""
    return decimal, thousands


_NAMES = {".": "point", ",": "comma"}


def _semicolon_file_decimal(columns: Columns, notes: list[str]) -> str:
    comma = point = None
    for index in range(columns.width):
        for cell in set(columns.cells(index)):
            if comma is None and _DECIMAL_COMMA.fullmatch(cell):
                comma = cell
            elif point is None and _DECIMAL_POINT.fullmatch(cell):
                point = cell
    if comma is not None and point is None:
        notes.append(
            f"Numbers were read with a decimal comma ({comma!r}), as this ';'-separated file "
            "writes them; set the decimal separator rule if that is wrong."
        )
        return ","
    if comma is not None:
        notes.append(
            f"This ';'-separated file writes numbers both with a decimal comma ({comma!r}) and "
            f"a decimal point ({point!r}); they were read with a point. Set the decimal "
            "separator rule to read commas."
        )
    return "."


def date_order(cells: Sequence[str]) -> tuple[DateOrder | None, str | None]:
    """How a column's slash dates are ordered, and a cell that proves it (None, None when the
    column has no slash dates)."""
    day_proof = month_proof = None
    seen = None
    for cell in set(cells):
        match = formats.SLASH_DATE.fullmatch(cell.strip())
        if match is None:
            continue
        seen = seen or cell
        first, second = int(match.group(1)), int(match.group(2))
        if first > 12 and second <= 12:
            day_proof = day_proof or cell
        elif second > 12 and first <= 12:
            month_proof = month_proof or cell
    if seen is None:
        return None, None
    if day_proof and month_proof:
        return DateOrder.MIXED, day_proof
    if day_proof:
        return DateOrder.DAY_FIRST, day_proof
    if month_proof:
        return DateOrder.MONTH_FIRST, month_proof
    return DateOrder.AMBIGUOUS, seen


def _day_first(columns: Columns, names: Sequence[str], notes: list[str]) -> bool:
    orders: dict[DateOrder, list[tuple[str, str]]] = {}
    for index in range(columns.width):
        if "/" not in columns.joined(index):
            continue
        order, example = date_order(columns.cells(index))
        if order is not None and example is not None:
            orders.setdefault(order, []).append((names[index], example))
    day = DateOrder.DAY_FIRST in orders and DateOrder.MONTH_FIRST not in orders
    for order, found in orders.items():
        for name, example in found:
            notes.append(_date_note(order, name, example, day_first=day))
    return day


def _date_note(order: DateOrder, name: str, example: str, *, day_first: bool) -> str:
    if order is DateOrder.AMBIGUOUS:
        which = "day first" if day_first else "month first"
        return (
            f"{name}: dates like {example!r} could be day or month first; they were read "
            f"{which}, as nothing in the file's start proves the order. Set the day-first rule "
            "if that is wrong."
        )
    if order is DateOrder.MIXED:
        return (
            f"{name}: dates are written both day first and month first ({example!r}), so the "
            "column is text."
        )
    if order is DateOrder.DAY_FIRST and not day_first:
        return (
            f"{name}: dates are written day first ({example!r}), but another column writes "
            "them month first; all were read month first, so this column is text. Set the "
            "day-first rule to read them day first."
        )
    which = "day first" if day_first else "month first"
    return f"{name}: dates were read {which}, as {example!r} proves."
