"""DuckDB's Loader: each batch column to a file, read back by DuckDB's own CSV reader.

DuckDB's fast way in is its CSV reader; row by row (executemany) it takes minutes per million
rows, and splitting one big string parameter into a list costs it more than reading a file.
So each column of a batch is written as one file of its canonical cells, one per line (the
joined text csvread hands over, written as is: no per-cell Python), and one INSERT reads them
side by side (POSITIONAL JOIN) next to the row ids, casting each to its column's type.
An empty line is NULL (csvhub's '' is NULL). A column whose cells hold a line break, a carriage
return, the separator or a NUL is written quoted instead (the rare case, cell by cell).

Decimal columns are stored narrow, DECIMAL(18, s) (a 64-bit integer: a sum over 10M rows of
it took 14-38 ms against 105-370 ms over the 128-bit DECIMAL(19, s)) while their values fit,
and widened to DECIMAL(19, s), the most a csvhub decimal holds, before a value needs the 19th
digit: a batch holding one (found in its text, below), a retype whose stored values need it,
an edit (DuckDBDialect.widen_for_writes). Both read back as the same decimal of scale s.
"""

from __future__ import annotations

import functools
import re
import shutil
import tempfile
from collections.abc import Sequence
from decimal import Decimal
from pathlib import Path

from sqlalchemy import Numeric
from sqlalchemy.engine import Connection

from csvhub.schema import ColumnType
from csvhub.warehouse.dialects.base import (
    DECIMAL_PRECISION,
    Loader,
    WarehouseDialect,
    indexes_restore,
    table_indexes_set_aside,
)
from csvhub.warehouse.schema import ROW_ID

# The precision of a narrow decimal column: its unscaled values are 64-bit integers.
NARROW_PRECISION = 18
# The separator of the (single) field: never in an unquoted column file.
_SEPARATOR = "\x1f"
# Characters DuckDB's reader would take for the end of a line or a field, or refuse.
_NEEDS_QUOTES = ("\r", _SEPARATOR, "\x00")
# DuckDB's default longest line (bytes); a longer cell raises both limits for its file.
_DEFAULT_LINE_BYTES = 2 * 1024 * 1024


class DuckDBLoader(Loader):
    # write_joined always succeeds: the joined text is exactly what the column files hold.
    sends_binary = True

    def __init__(self, dialect: WarehouseDialect, connection: Connection, table_name: str) -> None:
        super().__init__(dialect, connection, table_name)
        self._names: list[str] = []
        self._types: list[str] = []
        # The scale of each narrow DECIMAL(18, s) column of the write order, by position.
        self._narrow: dict[int, int] = {}
        self._directory: Path | None = None

    # -- shape -------------------------------------------------------------------------------

    def create(self, columns: Sequence[tuple[str, ColumnType, int | None]]) -> None:
        from csvhub.warehouse.schema import dataset_table

        table = dataset_table(self.table_name, columns, self.dialect)
        for name, column_type, scale in columns:
            if column_type is ColumnType.DECIMAL:
                table.c[name].type = Numeric(NARROW_PRECISION, scale or 0)
        table.create(self.connection)

    def retype(
        self,
        column: str,
        old: tuple[ColumnType, int | None],
        new: tuple[ColumnType, int | None],
    ) -> None:
        target = self._type_text(*new)
        if new[0] is ColumnType.DECIMAL and self._fits_narrow(column, old[0], new[1] or 0):
            target = f"DECIMAL({NARROW_PRECISION},{new[1] or 0})"
        self._alter(column, target, _conversion(self.quote(column), old[0], new[0], target))

    def _alter(self, column: str, target: str, conversion: str) -> None:
        q = self.quote
        saved = indexes_set_aside(self.connection, self.table_name)
        self.connection.exec_driver_sql(
            f"ALTER TABLE {q(self.table_name)} ALTER COLUMN {q(column)} TYPE {target} "
            f"USING {conversion}"
        )
        indexes_restore(self.connection, saved)

    def _fits_narrow(self, column: str, old: ColumnType, scale: int) -> bool:
        """Whether the column's stored values fit DECIMAL(18, scale)."""
        if old is ColumnType.TEXT:  # provisional text of decimals: read as the widest
            q = self.quote(column)
            wide = f"CAST({q} AS DECIMAL({DECIMAL_PRECISION},{scale}))"
            low, high = self.connection.exec_driver_sql(
                f"SELECT MIN({wide}), MAX({wide}) FROM {self.quote(self.table_name)}"
            ).one()
        else:
            low, high = self.stored_range(column)
        limit = Decimal(10) ** (NARROW_PRECISION - scale)
        return all(value is None or abs(Decimal(value)) < limit for value in (low, high))

    def set_write_order(
        self, names: Sequence[str], kinds: Sequence[tuple[ColumnType, int | None]]
    ) -> None:
        self._names = list(names)
        self._types = [self._type_text(column_type, scale) for column_type, scale in kinds]
        declared = decimal_columns(self.connection, self.table_name)
        self._narrow = {}
        for position, (name, (column_type, scale)) in enumerate(zip(names, kinds, strict=True)):
            precision, _ = declared.get(name, (None, None))
            if column_type is ColumnType.DECIMAL and precision is not None:
                self._types[position] = f"DECIMAL({precision},{scale or 0})"
                if precision == NARROW_PRECISION:
                    self._narrow[position] = scale or 0

    def _type_text(self, column_type: ColumnType, scale: int | None) -> str:
        sql = self.dialect.sql_type(column_type, scale)
        return str(sql.compile(dialect=self.connection.dialect))

    def widen(self, columns: Sequence[str]) -> None:
        """Widen those of `columns` that are narrow decimals to DECIMAL(19, s)."""
        declared = decimal_columns(self.connection, self.table_name)
        for name in columns:
            precision, scale = declared.get(name, (None, 0))
            if precision == NARROW_PRECISION:
                target = f"DECIMAL({DECIMAL_PRECISION},{scale})"
                self._alter(name, target, f"CAST({self.quote(name)} AS {target})")

    def _widen_for(self, parts: Sequence[str | list[str]]) -> None:
        """Widen each narrow decimal column before a batch brings it a 19-digit value."""
        for position, scale in list(self._narrow.items()):
            if _needs_wide(parts[position], scale):
                name = self._names[position]
                target = f"DECIMAL({DECIMAL_PRECISION},{scale})"
                self._alter(name, target, f"CAST({self.quote(name)} AS {target})")
                self._types[position] = target
                del self._narrow[position]

    # -- rows --------------------------------------------------------------------------------

    def write_columns(self, columns: list[list[str]], first_row_id: int) -> None:
        self.write_joined(columns, len(columns[0]), first_row_id)

    def write_joined(self, parts: Sequence[str | list[str]], count: int, first_row_id: int) -> bool:
        self._widen_for(parts)
        directory = self._files_directory()
        files = [
            _column_file(directory / f"c{index}.csv", part, count)
            for index, part in enumerate(parts)
        ]
        try:
            self._insert(files, count, first_row_id)
        finally:
            for file in files:
                file.path.unlink(missing_ok=True)
        return True

    def _insert(self, files: Sequence[_ColumnFile], count: int, first_row_id: int) -> None:
        q = self.quote
        reads = " ".join(
            f"POSITIONAL JOIN {file.read_sql(f'r{index}')}" for index, file in enumerate(files)
        )
        values = ", ".join(
            f"CAST(r{index}.v AS {sql_type})" for index, sql_type in enumerate(self._types)
        )
        names = ", ".join(q(name) for name in (ROW_ID, *self._names))
        self.connection.exec_driver_sql(
            f"INSERT INTO {q(self.table_name)} ({names}) SELECT ids.range, {values} "
            f"FROM range({int(first_row_id)}, {int(first_row_id) + int(count)}) AS ids {reads}"
        )

    def _files_directory(self) -> Path:
        if self._directory is None:
            self._directory = Path(tempfile.mkdtemp(prefix="csvhub-duckdb-"))
        return self._directory

    def flush(self, error: BaseException | None = None) -> None:
        if self._directory is not None:
            shutil.rmtree(self._directory, ignore_errors=True)
            self._directory = None

    def row_id_range(self, before: int, count: int) -> tuple[int, int]:
        return before + 1, before + count  # numbered here, one after the other


class _ColumnFile:
    """One batch column on disk, and how DuckDB reads it back (one VARCHAR field `v`)."""

    def __init__(self, path: Path, size: int, quoted: bool) -> None:
        self.path = path
        self.size = size
        self.quoted = quoted

    def read_sql(self, alias: str) -> str:
        quoting = "quote = '\"', escape = '\"'" if self.quoted else "quote = '', escape = ''"
        limit = max(_DEFAULT_LINE_BYTES, self.size + 1)
        sizes = f", max_line_size = {limit}, buffer_size = {limit + 1}" if self.size else ""
        path = str(self.path).replace("'", "''")
        return (
            f"read_csv('{path}', header = false, auto_detect = false, "
            f"columns = {{'v': 'VARCHAR'}}, delim = '{_SEPARATOR}', new_line = '\\n', "
            f"{quoting}{sizes}) AS {alias}"
        )


def _column_file(path: Path, part: str | list[str], count: int) -> _ColumnFile:
    """Write one column's cells (joined with '\\n', or a list) for DuckDB's reader."""
    joined = part if isinstance(part, str) else "\n".join(part)
    one_line = isinstance(part, str) or joined.count("\n") == count - 1
    # A byte-order mark opening the file would be taken for the encoding's, not the cell's.
    quoted = (
        not one_line
        or any(special in joined for special in _NEEDS_QUOTES)
        or joined.startswith("\ufeff")
    )
    if quoted:
        cells = part if isinstance(part, list) else joined.split("\n")
        joined = "\n".join(_quoted(cell) for cell in cells)
    data = (joined + "\n").encode("utf-8")
    path.write_bytes(data)
    return _ColumnFile(path, len(data), quoted)


def _quoted(cell: str) -> str:
    # An empty cell stays unquoted: NULL, as everywhere in csvhub ('""' would be '').
    return '"' + cell.replace('"', '""') + '"' if cell else ""


def _needs_wide(part: str | list[str], scale: int) -> bool:
    """Whether a batch column of canonical decimals at `scale` holds a value of 19 digits or
    more at it: an integer part, past any zeros, of 19 - scale digits or more (digits after
    the point never count). Canonical decimals may carry an exponent (`1e18`): those cells are
    read as numbers and compared with the narrow bound."""
    text = part if isinstance(part, str) else "\n".join(part)
    digits = NARROW_PRECISION + 1 - scale
    if ("e" in text or "E" in text) and _exponent_wide(text, digits):
        return True
    # Any run of that many digits first: a byte translation and a substring search run at
    # memory speed, where the expression below took milliseconds a batch; it checks a find.
    if b"9" * digits not in text.encode().translate(_DIGITS_AS_NINES):
        return False
    return _wide_digits(digits).search(text) is not None


_DIGITS_AS_NINES = bytes.maketrans(b"012345678", b"999999999")


def _exponent_wide(text: str, digits: int) -> bool:
    """Whether a cell written with an exponent has an integer part of `digits` digits or more
    (its absolute value at least 10 ** (digits - 1))."""
    bound = Decimal(10) ** (digits - 1)
    return any(
        abs(Decimal(cell)) >= bound for cell in text.split("\n") if "e" in cell or "E" in cell
    )


@functools.lru_cache(maxsize=32)
def _wide_digits(digits: int) -> re.Pattern[str]:
    # Digits not preceded by a digit or a point: the start of an integer part.
    return re.compile(rf"(?<![0-9.])0*[1-9][0-9]{{{digits - 1},}}")


def decimal_columns(connection: Connection, table_name: str) -> dict[str, tuple[int, int]]:
    """The declared (precision, scale) of each decimal column of the table (precision 18:
    narrow, 19: wide)."""
    found = connection.exec_driver_sql(
        "SELECT column_name, numeric_precision, numeric_scale FROM duckdb_columns() "
        "WHERE table_name = ? AND schema_name = 'main' AND data_type LIKE 'DECIMAL%'",
        (table_name,),
    )
    return {name: (int(precision), int(scale)) for name, precision, scale in found}


def _conversion(column: str, old: ColumnType, new: ColumnType, target: str) -> str:
    """SQL turning a stored value of type `old` into type `new` (widening, or provisional
    text holding canonical values of `new`)."""
    if new is ColumnType.TEXT and old is ColumnType.TIMESTAMP:
        return f"CAST(CAST({column} AS TIMESTAMP) AS VARCHAR)"  # UTC, without '+00'
    return f"CAST({column} AS {target})"


# DuckDB cannot alter a column while an index depends on the table (a retype converts the
# column in place): indexes_set_aside lists them with this.
_INDEXES = (
    "SELECT index_name, sql FROM duckdb_indexes() "
    "WHERE table_name = :table_name AND sql IS NOT NULL"
)


def indexes_set_aside(connection: Connection, table_name: str) -> list[str]:
    return table_indexes_set_aside(connection, table_name, listing=_INDEXES)
