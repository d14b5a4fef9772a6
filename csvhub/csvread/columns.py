"""A batch of rows held column by column: the layout inference, conversion and loading share.

Inference matches a whole column joined with newlines against a grammar, so each column's
joined text is kept once made; it is also how a batch travels between processes cheaply (one
string per column instead of a list of small strings, see csvread.worker).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Sequence
from itertools import chain
from typing import NamedTuple


class CellSummary(NamedTuple):
    """What the C splitter noted of one batch column while splitting it (see stats.py)."""

    empties: int
    min_length: int | None  # of the non-empty cells
    max_length: int | None
    text_min: str | None  # code-point order, non-empty cells
    text_max: str | None
    number_min: str | None  # numeric order; None unless every non-empty cell is -?d+(.d+)?
    number_max: str | None


# A CellSummary as the C splitter gives it (see _splitter.pyi): a tuple of the same fields.
type SummaryFields = tuple[
    int, int | None, int | None, str | None, str | None, str | None, str | None
]


def _joined_summarizer() -> Callable[[str], SummaryFields] | None:
    """The C splitter's summary of joined cells (csvread/_splitter.c), or None when csvhub was
    built without a C compiler: stats are then counted from the cells (stats.batch_stats)."""
    try:
        from csvhub.csvread._splitter import summarize_joined
    except ImportError:
        return None
    return summarize_joined


_SUMMARIZE_JOINED = _joined_summarizer()


def _line_counter() -> Callable[[str, int, int, int], tuple[dict[str, int], int] | None]:
    """The C splitter's count of distinct lines, or the same count in Python without it."""
    try:
        from csvhub.csvread._splitter import count_lines
    except ImportError:
        return _count_lines_in_python
    return count_lines


def _count_lines_in_python(
    joined: str, prefix: int, max_length: int, kept: int
) -> tuple[dict[str, int], int]:
    """Every line's count, untrimmed whatever `kept` says (cut 0): TopValues trims them."""
    counted = Counter(
        line[:prefix] if prefix > 0 else line
        for line in joined.split("\n")
        if line and (max_length < 0 or len(line) <= max_length)
    )
    return dict(counted), 0


_COUNT_LINES = _line_counter()


def _line_break_counter() -> Callable[[str], int]:
    """The C splitter's count of '\n' in a str (several times faster than str.count, which
    reads a character at a time), or str.count without it."""
    try:
        from csvhub.csvread._splitter import line_breaks
    except ImportError:
        return lambda text: text.count("\n")
    return line_breaks


# Every batch's joined columns are checked to hold their number of cells, in the process that
# splits them and in the one that loads them: a read of all the text, twice.
line_breaks = _line_break_counter()


def line_counts(
    joined: str, *, prefix: int = 0, max_length: int = -1, kept: int = -1
) -> tuple[dict[str, int], int]:
    """How often each distinct non-empty line of `joined` (a column's one-line cells joined
    with '\\n') occurs, counted without a str per cell: lines longer than `max_length` are
    left out, and with `prefix` only a line's first `prefix` characters are counted.
    Returns (counts, cut). With `kept`, the counts may come already trimmed Misra-Gries style
    (the C side does, to make a str only for the lines kept): `cut` is then what was taken
    off each count, else 0; TopValues.of_counts trims the rest either way. See
    _splitter.count_lines."""
    counted = _COUNT_LINES(joined, prefix, max_length, kept)
    if counted is None:  # lines that collide in C's unkeyed hash (Python's dict is keyed), or
        # more lines than C's index holds
        return _count_lines_in_python(joined, prefix, max_length, kept)
    return counted


SUMMARY_MAX_CHARS = 4_000_000


class Columns:
    """The cells of a batch, `values[i]` being column i's cells in row order.

    Made from joined text (from_joined), the cells are only split out when first asked for:
    the child reader sends a batch on as it came from the splitter, never splitting it.
    """

    def __init__(self, values: list[list[str]], joined: Sequence[str | None] | None = None):
        if len({len(column) for column in values}) > 1:
            raise ValueError("every column must hold the same number of cells")
        self._values: list[list[str]] | None = values
        self._parts: Sequence[str | list[str]] = ()
        self.width = len(values)
        self.row_count = len(values[0]) if values else 0
        self._joined: list[str | None] = list(joined) if joined else [None] * len(values)
        # Per column: the splitter's summary, or None for a column whose cells were rewritten.
        self.summaries: list[CellSummary | None] | None = None

    @classmethod
    def from_rows(cls, rows: list[list[str]], width: int) -> Columns:
        """The columns of `rows` (each exactly `width` cells long).

        Flattening reads each row once, front to back, and the strided slices then copy from
        one contiguous list: about twice as fast as zip(*rows), which walks every row once per
        column.
        """
        cells = list(chain.from_iterable(rows))
        if len(cells) != width * len(rows):
            raise ValueError(f"rows must have exactly {width} cells")
        return cls([cells[index::width] for index in range(width)])

    @classmethod
    def from_joined(
        cls,
        parts: Sequence[str | list[str]],
        row_count: int,
        summaries: Sequence[SummaryFields] | None = None,
    ) -> Columns:
        """Columns given as joined text (or as a list where a cell held a line break), with
        the splitter's summaries when it made them."""
        columns = cls([])
        columns._values = None
        columns._parts = parts
        columns.width = len(parts)
        columns.row_count = row_count
        columns._joined = [part if isinstance(part, str) else None for part in parts]
        if summaries is not None:
            columns.summaries = [CellSummary(*summary) for summary in summaries]
        for part in parts:
            count = line_breaks(part) + 1 if isinstance(part, str) else len(part)
            if count != row_count:
                raise ValueError(f"expected {row_count} rows, got {count}")
        return columns

    @property
    def values(self) -> list[list[str]]:
        if self._values is None:
            self._values = [
                part.split("\n") if isinstance(part, str) else part for part in self._parts
            ]
        return self._values

    def __len__(self) -> int:
        return self.row_count

    def joined(self, index: int) -> str:
        """Column `index`'s cells joined with '\\n' (made once, then kept)."""
        text = self._joined[index]
        if text is None:
            text = self._joined[index] = "\n".join(self.values[index])
        return text

    def one_line_cells(self, index: int) -> bool:
        """Whether no cell of the column holds a line break, so joined() splits back exactly."""
        if self._values is None and isinstance(self._parts[index], str):
            return True  # checked when made: one line per cell
        return line_breaks(self.joined(index)) == self.row_count - 1

    def summary(self, index: int) -> CellSummary | None:
        return None if self.summaries is None else self.summaries[index]

    def summarize(self) -> Columns:
        """These columns with the summaries the splitter would have noted, for a batch made of
        cells (a JSON append's, before it is observed): inference then takes its stats from
        them in C instead of a pass over the cells per statistic. A column whose cells hold a
        line break gets none; nothing changes without the C splitter."""
        summarize = _SUMMARIZE_JOINED
        if summarize is not None and self.summaries is None and self.row_count:
            self.summaries = [
                CellSummary(*summarize(self.joined(index))) if self._summarizable(index) else None
                for index in range(self.width)
            ]
        return self

    def _summarizable(self, index: int) -> bool:
        # The C pass reads a copy of the column at 4 bytes a character: a large column (a
        # whole 64 MiB append's) is left to the Python passes rather than copied whole.
        return self.one_line_cells(index) and len(self.joined(index)) <= SUMMARY_MAX_CHARS

    def wire_parts(self) -> list[str | list[str]]:
        """Per column: its joined text, or its list of cells when a cell holds a line break."""
        return [
            self.joined(index) if self.one_line_cells(index) else self.values[index]
            for index in range(self.width)
        ]

    def rows(self) -> list[list[str]]:
        return [list(row) for row in zip(*self.values, strict=True)]

    def cells(self, index: int) -> list[str]:
        """Column `index`'s cells, split out of its joined text alone (`values` splits every
        column)."""
        if self._values is not None:
            return self._values[index]
        part = self._parts[index]
        return part.split("\n") if isinstance(part, str) else part

    def with_cells(self, changed: dict[int, list[str]]) -> Columns:
        """These columns with the cells of some replaced (reading rules, recipes): the others
        keep their joined text and the splitter's summary, so inference stays on its fast path
        for them."""
        if not changed:
            return self
        parts: list[str | list[str]] = [
            changed[index] if index in changed else self._part(index) for index in range(self.width)
        ]
        columns = Columns.from_joined(parts, self.row_count)
        if self.summaries is not None:
            columns.summaries = [
                None if index in changed else summary
                for index, summary in enumerate(self.summaries)
            ]
        return columns

    def without_rows(self, indexes: set[int]) -> Columns:
        """These columns less the rows at `indexes` (rows screened out to the rejects)."""
        keep = [i for i in range(self.row_count) if i not in indexes]
        return Columns([[cells[i] for i in keep] for cells in self.values])

    def _part(self, index: int) -> str | list[str]:
        if self.one_line_cells(index):
            return self.joined(index)
        return self.values[index]
