"""Column type inference over every value of a file, a batch column at a time.

The fast path costs one regex match per column per batch: the column's cells are joined with
'\\n' and matched against the grammar of the column's current type (see formats.column_pattern).
Only when that fails (the batch holds a wider type, which happens at most a few times per
column) are the batch's distinct values classified one by one and the type widened.
"""

import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field, replace
from enum import Enum
from functools import cache
from typing import NamedTuple

from csvhub.csvread import fixed_width, formats
from csvhub.csvread.columns import Columns, line_counts
from csvhub.csvread.convert import canonical_column
from csvhub.csvread.formats import TEXT, DateStyle, Kind
from csvhub.csvread.observation import BatchColumn, Observation
from csvhub.csvread.stats import batch_stats, summary_stats
from csvhub.schema.stats import (
    DAY_TEXT_LENGTH,
    TEMPORAL,
    TOP_VALUE_LENGTH,
    TOP_VALUES_KEPT,
    ColumnStats,
    DayCounts,
    TopValues,
)
from csvhub.schema.types import ColumnType, decimal_fits, fraction_digits, widen


class Fit(Enum):
    """How closely a batch column matched its type's grammar."""

    CANONICAL = "canonical"  # as the warehouse stores it: no conversion needed
    STRICT = "strict"  # the type's grammar, no stray whitespace
    LENIENT = "lenient"  # the grammar with surrounding whitespace / whitespace-only cells


class _Grammars(NamedTuple):
    canonical: re.Pattern[str] | None  # None when CANONICAL is STRICT or does not exist
    strict: Callable[[str], bool]  # formats.column_fits
    lenient: re.Pattern[str]
    strict_is_canonical: bool


@cache
def _grammars(kind: Kind) -> _Grammars:
    value = formats.accepted(kind)
    strict = formats.column_fits(kind)
    lenient = formats.column_pattern(value, lenient=True)
    iso = kind.style in (None, DateStyle.ISO)
    if kind.type is ColumnType.TIMESTAMP and iso:
        canonical = formats.column_pattern(formats.TIMESTAMP_CANONICAL, lenient=False)
        return _Grammars(canonical, strict, lenient, strict_is_canonical=False)
    if kind.type is ColumnType.BOOLEAN:
        canonical = formats.column_pattern(formats.BOOLEAN_CANONICAL, lenient=False)
        return _Grammars(canonical, strict, lenient, strict_is_canonical=False)
    return _Grammars(None, strict, lenient, strict_is_canonical=iso)


def join_kinds(a: Kind | None, b: Kind | None) -> Kind | None:
    """`widen` for kinds: dates and timestamps only combine within one date style."""
    if a is None or b is None:
        return a if b is None else b
    joined = widen(a.type, b.type)
    assert joined is not None
    if joined in TEMPORAL:
        return Kind(joined, a.style) if a.style is b.style else TEXT
    return Kind(joined)


@dataclass
class _ColumnState:
    kind: Kind | None = None
    stats: ColumnStats = field(default_factory=ColumnStats)
    # Whether to try the canonical grammar first; off once a batch was not canonical, so a
    # column written e.g. with 'T' separators costs one regex per batch, not two.
    canonical_first: bool = True
    # Decimal columns: the most digits after the point seen (integers count as 0).
    scale: int = 0


class TypeTracker:
    """The narrowest type of each column over all values observed, with running stats."""

    def __init__(self, n_columns: int, *, text_columns: Iterable[int] = ()) -> None:
        self._columns = [_ColumnState() for _ in range(n_columns)]
        # Columns stored as text already (a table loaded before): their values are text
        # whatever they look like, and counted as text (top values, lengths); inferred as
        # numbers, a batch's stats would keep no top values, and the column's would be lost.
        for index in text_columns:
            self._columns[index].kind = TEXT
        self.last_observation: Observation | None = None

    @property
    def types(self) -> list[ColumnType | None]:
        """Per column: the narrowest type fitting every non-empty value (None: only empties)."""
        return [None if c.kind is None else c.kind.type for c in self._columns]

    @property
    def date_styles(self) -> list[DateStyle | None]:
        """Per date/timestamp column: how its dates are written."""
        return [None if c.kind is None else c.kind.style for c in self._columns]

    @property
    def scales(self) -> list[int | None]:
        """Per decimal column: its scale, the most digits after the point of its values."""
        return [
            c.scale if c.kind is not None and c.kind.type is ColumnType.DECIMAL else None
            for c in self._columns
        ]

    @property
    def stats(self) -> list[ColumnStats]:
        return [c.stats for c in self._columns]

    def observe(self, rows: list[list[str]]) -> list[ColumnType | None]:
        """Widen the types with one batch of rows (each exactly n_columns long)."""
        if rows:
            columns = Columns.from_rows(rows, len(self._columns))
            self._observe(columns, rows_id=id(rows))
        return self.types

    def observe_columns(self, columns: Columns) -> list[ColumnType | None]:
        """`observe` for a batch already held column by column."""
        if not columns.row_count:
            return self.types
        if columns.width != len(self._columns):
            raise ValueError(f"expected {len(self._columns)} columns, got {columns.width}")
        self._observe(columns, rows_id=id(columns))
        return self.types

    def _observe(self, columns: Columns, *, rows_id: int) -> None:
        observed = tuple(
            _observe_column(state, columns, index) for index, state in enumerate(self._columns)
        )
        self.last_observation = Observation(observed, rows_id=rows_id, row_count=len(columns))


def _observe_column(state: _ColumnState, columns: Columns, index: int) -> BatchColumn:
    observed = _observe_kind(state, columns, index)
    if state.kind is not None and state.kind.type is ColumnType.DECIMAL:
        _widen_scale(state, columns, index)
    return observed


def _widen_scale(state: _ColumnState, columns: Columns, index: int) -> None:
    """The column's scale grown to the batch's; a column no decimal type holds becomes text."""
    state.scale = fraction_digits(columns.joined(index), state.scale)
    if not decimal_fits(state.stats.min_value, state.stats.max_value, state.scale):
        state.kind = TEXT
        state.stats = state.stats.retyped(ColumnType.TEXT)


def _observe_kind(state: _ColumnState, columns: Columns, index: int) -> BatchColumn:
    # Cells are split out of the joined column only when the splitter's summary is not enough.
    kind = state.kind or _first_kind(columns.values[index])
    if kind == TEXT:  # text takes anything: only stats left to do
        state.kind = kind
        stats = _batch_stats(columns, index, ColumnType.TEXT, clean=False)
        top = _top_values(columns, index)
        state.stats = state.stats.merged(replace(stats, top_values=top))
        return BatchColumn(ColumnType.TEXT, canonical=True)
    if kind is None:  # nothing but empty cells so far
        state.stats = state.stats.merged(ColumnStats(nulls=len(columns)))
        summary = columns.summary(index)
        empties = columns.values[index].count("") if summary is None else summary.empties
        return BatchColumn(None, canonical=empties == len(columns))
    joined = columns.joined(index)
    # A cell holding a newline breaks the one-line-per-cell layout the grammars rely on.
    fit = _fit(state, kind, joined, len(columns)) if columns.one_line_cells(index) else None
    observed = _observe_fit(state, kind, fit, columns, index) if fit else None
    return observed or _observe_slowly(state, columns.values[index])


def _batch_stats(
    columns: Columns,
    index: int,
    value_type: ColumnType | None,
    *,
    clean: bool,
    ordered: Sequence[str] | None = None,
    exponents: bool = True,
    width: int | None = None,
) -> ColumnStats:
    """batch_stats of column `index`, from the splitter's summary when that tells enough
    (it knows nothing of `ordered`, canonical text made from other spellings)."""
    summary = columns.summary(index)
    if summary is not None and ordered is None:
        stats = summary_stats(summary, value_type, len(columns), clean=clean)
        if stats is not None:
            return stats
    values = columns.values[index]
    return batch_stats(
        values, value_type, clean=clean, ordered=ordered, exponents=exponents, width=width
    )


def _first_kind(values: Sequence[str]) -> Kind | None:
    for value in values:
        if value and not value.isspace():
            return formats.classify(value)
    return None


class _Match(NamedTuple):
    fit: Fit
    layout: str | None = None  # every cell has this fixed ISO layout (see fixed_width)


def _fit(state: _ColumnState, kind: Kind, joined: str, count: int) -> _Match | None:
    if kind.type in TEMPORAL and kind.style is DateStyle.ISO:
        timestamps = kind.type is ColumnType.TIMESTAMP
        if layout := fixed_width.layout_fit(joined, count, timestamps=timestamps):
            canonical = fixed_width.is_canonical(layout, timestamps=timestamps)
            return _Match(Fit.CANONICAL if canonical else Fit.STRICT, layout)
    grammars = _grammars(kind)
    if grammars.canonical and state.canonical_first:
        if grammars.canonical.fullmatch(joined):
            return _Match(Fit.CANONICAL)
        state.canonical_first = False
    if grammars.strict(joined):
        return _Match(Fit.CANONICAL if grammars.strict_is_canonical else Fit.STRICT)
    if grammars.lenient.fullmatch(joined):
        return _Match(Fit.LENIENT)
    return None


def _observe_fit(
    state: _ColumnState, kind: Kind, match: _Match, columns: Columns, index: int
) -> BatchColumn | None:
    """Stats for a batch column that matched `kind`; None if an integer overflows int64."""
    fit = match.fit
    joined = columns.joined(index)
    text = None
    if match.layout and fit is not Fit.CANONICAL:  # 'T' separators, 'Z', or dates
        text = fixed_width.canonical_timestamps(joined, match.layout)
    elif kind.type in TEMPORAL and fit is not Fit.CANONICAL:
        text = canonical_column(kind.type, columns.values[index])
    exponents = kind.type is ColumnType.DECIMAL and ("e" in joined or "E" in joined)
    stats = _batch_stats(
        columns,
        index,
        kind.type,
        clean=fit is not Fit.LENIENT,
        ordered=text,
        exponents=exponents,
        width=len(match.layout) if match.layout else None,
    )
    too_long = stats.max_length is not None and stats.max_length > 18
    if kind.type is ColumnType.INTEGER and too_long and not _all_int64(columns.values[index]):
        return None
    if kind.type in TEMPORAL:
        stats = replace(stats, day_counts=_day_counts(columns, index, text))
    state.kind = kind
    state.stats = state.stats.merged(stats)
    return BatchColumn(kind.type, canonical=fit is Fit.CANONICAL, canonical_text=text)


def _top_values(columns: Columns, index: int) -> TopValues:
    """A text column's top values in the batch: counted on its joined text when no cell holds
    a line break (no str per cell, only per value kept)."""
    if not columns.one_line_cells(index):
        return TopValues.of(columns.cells(index))
    counts, cut = line_counts(
        columns.joined(index), max_length=TOP_VALUE_LENGTH, kept=TOP_VALUES_KEPT
    )
    return TopValues.of_counts(counts, cut)


def _day_counts(columns: Columns, index: int, text: Sequence[str] | None) -> DayCounts | None:
    """Rows per day of a fitting date or timestamp column (one line per cell): from its
    canonical text when the cells were rewritten, else from its joined text."""
    if text is not None:
        return DayCounts.of(text)
    counts, _ = line_counts(columns.joined(index), prefix=DAY_TEXT_LENGTH)
    return DayCounts.of_counts(counts)


def _all_int64(values: Sequence[str]) -> bool:
    return all(formats.fits_int64(v) for v in values if len(v) > 18 and not v.isspace())


def _observe_slowly(state: _ColumnState, values: list[str]) -> BatchColumn:
    """Classify the batch's distinct values one by one, and widen the column's kind."""
    batch_kind: Kind | None = None
    for value in set(values):
        batch_kind = join_kinds(batch_kind, formats.classify(value))
        if batch_kind == TEXT:
            break  # nothing is wider
    state.kind = join_kinds(state.kind, batch_kind)
    batch_type = None if batch_kind is None else batch_kind.type
    if state.kind == TEXT:  # e.g. US dates met ISO dates: extremes are meaningless now
        stats = batch_stats(values, ColumnType.TEXT, clean=False)
        state.stats = state.stats.merged(replace(stats, top_values=TopValues.of(values)))
        state.stats = state.stats.retyped(ColumnType.TEXT)
        return BatchColumn(batch_type, canonical=False)
    text = canonical_column(batch_type, values) if batch_type in TEMPORAL else None
    stats = batch_stats(values, batch_type, clean=False, ordered=text)
    if text is not None:
        stats = replace(stats, day_counts=DayCounts.of(text))
    state.stats = state.stats.merged(stats)
    return BatchColumn(batch_type, canonical=False, canonical_text=text)
