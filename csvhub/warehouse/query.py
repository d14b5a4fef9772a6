"""Row queries on a dataset table: filters, keyset pages, capped counts, streamed exports.

The only place that builds row-query SQL. Callers pass column names already matched against
the dataset's columns and values already typed; every name is checked again here
(schema.check_*) and every value is a bound parameter.

Rows come out as the canonical text the ingestion stored (csvread.Converter's forms: booleans
`true`/`false`, dates `YYYY-MM-DD`, timestamps `YYYY-MM-DD HH:MM:SS[.f]` in UTC, numbers as
written) or None for an empty cell, so both warehouses answer alike and a CSV export reads back
exactly. Rows are ordered by the requested keys and then by the hidden `_row_id`, with empty
cells last in either direction; pages after the first are found by keyset (the last row's keys),
so page 100,000 costs what page 1 costs.
"""

from __future__ import annotations

import csv
import functools
import io
import secrets
import sqlite3
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, replace
from datetime import date
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    BigInteger,
    Column,
    Engine,
    Float,
    Integer,
    MetaData,
    Select,
    Table,
    Text,
    and_,
    case,
    cast,
    collate,
    false,
    func,
    literal,
    literal_column,
    not_,
    or_,
    select,
    tuple_,
    type_coerce,
)
from sqlalchemy.engine import Connection
from sqlalchemy.sql.elements import BindParameter, ColumnElement
from sqlalchemy.sql.sqltypes import NullType
from sqlalchemy.sql.visitors import replacement_traverse

from csvhub.grammar.filters import Operator
from csvhub.schema import Column as DatasetColumn
from csvhub.schema import ColumnType, values
from csvhub.warehouse.engine import (
    Cancel,
    ReadDeadline,
    export_timeout,
    get_engine,
    read_connection,
    timed,
)
from csvhub.warehouse.schema import ROW_ID, check_column_name, check_table_name, dataset_table

OPERATORS = frozenset(Operator)  # the filter grammar's operators (csvhub.grammar.filters)
# Byte order on PostgreSQL is code point order, which is what SQLite's BINARY collation gives:
# text sorts and compares the same on both warehouses (and indexes are built to match).
TEXT_COLLATION = "C"
EXPORT_BATCH_ROWS = 5000
EXPORT_CHUNK_BYTES = 256 * 1024
# Cells a spreadsheet would run as a formula (OWASP "CSV injection").
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
# NULLS FIRST / NULLS LAST arrived in SQLite 3.30; older versions sort on `col IS NULL` first.
_SQLITE_NULLS_ORDER = sqlite3.sqlite_version_info >= (3, 30, 0)


@dataclass(frozen=True)
class Condition:
    """`column op value`; value is typed (int, Decimal, bool, date, aware datetime, str), a
    tuple of those for in/notin, text for like/startswith/endswith, None for null tests."""

    column: str
    op: str
    value: Any = None


@dataclass(frozen=True)
class Order[K: (str, int)]:
    """A sort key: in a RowSet a column by name (Order[str]); in an aggregate a result column
    by position, group keys first, then metrics (Order[int], see warehouse.analysis)."""

    key: K
    descending: bool = False


@dataclass(frozen=True)
class RowSet:
    """Which rows of a table, in which order: the part of a query that pages share."""

    table_name: str
    fields: tuple[DatasetColumn, ...]  # the dataset's columns (schema.Column)
    conditions: tuple[Condition, ...] = ()
    order: tuple[Order[str], ...] = ()
    # Rows where any text column contains this, ignoring case (the rows API's `q=`).
    search: str | None = None


@dataclass(frozen=True)
class Keyset:
    """A row's place in an ordering: canonical text of the order columns, and its row id."""

    values: tuple[str | None, ...]
    row_id: int


@dataclass(frozen=True)
class Page:
    rows: list[tuple[str | None, ...]]  # the requested columns, canonical text
    first: Keyset | None
    last: Keyset | None
    more: bool  # rows remain beyond this page in the direction it was read


def rows_page(
    rows: RowSet,
    *,
    columns: Sequence[str],
    limit: int,
    offset: int = 0,
    after: Keyset | None = None,
    before: Keyset | None = None,
    engine: Engine | None = None,
) -> Page:
    """One page of rows: after or before a keyset, or at an offset; usually one query.

    Reads limit + 1 rows to learn whether more follow. A page read `before` a keyset is read
    in reverse order and handed back in forward order.
    """
    engine = engine or get_engine()
    query = QueryBuilder(rows, engine.dialect.name)
    wanted = list(dict.fromkeys([*columns, *(order.key for order in rows.order)]))
    keys = query.keys(reverse=before is not None)
    position = after or before
    values = query.position_values(keys, position) if position is not None else None
    select_list = [query.row_id, *(query.text(name) for name in wanted)]
    fetched: list[tuple] = []
    with read_connection(engine) as connection:
        for run_keys, where in query.runs(keys, values, offset):
            statement = select(*select_list).where(*query.conditions(), *where)
            statement = statement.order_by(*query.order_by(run_keys))
            statement = statement.limit(limit + 1 - len(fetched))
            if offset:
                statement = statement.offset(offset)
            fetched += [query.fix(tuple(row)) for row in connection.execute(statement)]
            if len(fetched) > limit:
                break
    more = len(fetched) > limit
    fetched = fetched[:limit]
    if before is not None:
        fetched.reverse()
    return _page(fetched, wanted, columns, [order.key for order in rows.order], more)


def _page(
    fetched: list[tuple], wanted: list[str], columns: Sequence[str], order: list[str], more: bool
) -> Page:
    index = {name: position + 1 for position, name in enumerate(wanted)}

    def keyset(row: tuple) -> Keyset:
        return Keyset(tuple(row[index[name]] for name in order), row[0])

    return Page(
        rows=[tuple(row[index[name]] for name in columns) for row in fetched],
        first=keyset(fetched[0]) if fetched else None,
        last=keyset(fetched[-1]) if fetched else None,
        more=more,
    )


def rows_count(rows: RowSet, *, cap: int | None = None, engine: Engine | None = None) -> int:
    """How many rows match; with a cap, counting stops at cap + 1 (so `> cap` means "more")."""
    engine = engine or get_engine()
    query = QueryBuilder(rows, engine.dialect.name)
    if cap is None:
        statement = select(func.count()).select_from(query.table).where(*query.conditions())
    else:
        matching = select(literal(1)).select_from(query.table).where(*query.conditions())
        statement = select(func.count()).select_from(matching.limit(cap + 1).subquery())
    with read_connection(engine) as connection:
        return connection.execute(statement).scalar_one()


class RowStream:
    """Every matching row, in order, in batches, over a server-side cursor (constant memory).

    The query runs when the stream is made, so that errors surface before a response starts;
    `close()` gives the connection back (StreamingHttpResponse calls it, finished or not).
    """

    def __init__(
        self,
        rows: RowSet,
        *,
        columns: Sequence[str],
        engine: Engine | None = None,
        batch_rows: int | None = None,
        cancel: Cancel | None = None,
    ) -> None:
        engine = engine or get_engine()
        query = QueryBuilder(rows, engine.dialect.name)
        statement = select(*(query.text(name) for name in columns)).where(*query.conditions())
        statement = statement.order_by(*query.order_by(query.keys(reverse=False)))
        self._fix = query.fixer(list(columns))
        self._batch_rows = batch_rows or EXPORT_BATCH_ROWS
        self._connection, self.deadline = _export_connection(engine, cancel)
        try:
            with timed(self.deadline):
                self.deadline.check()  # a cancel that came while the connection was set up
                self._cursor = _streaming_cursor(self._connection, statement, self._batch_rows)
        except BaseException:
            _release(self._connection, self.deadline)
            raise

    def batches(self) -> Iterator[list[tuple[str | None, ...]]]:
        fix = self._fix
        while True:
            self.deadline.check()
            with timed(self.deadline):
                rows = self._cursor.fetchmany(self._batch_rows)
            if not rows:
                return
            yield [fix(row) for row in rows] if fix else rows

    def close(self) -> None:
        try:
            self._cursor.close()
        finally:
            _release(self._connection, self.deadline)


class CsvStream:
    """Every matching row as CSV lines (no header), in order, in constant memory.

    CSV as csvhub writes it: canonical text, an empty cell for NULL, quotes only where
    needed, `\n` line ends. With `spreadsheet_safe`, text cells starting with a formula
    character get a leading `'`. On PostgreSQL the server writes the CSV (COPY ... TO STDOUT:
    a Python loop over rows runs at a third of its speed); on SQLite a lazy cursor feeds
    Python's csv writer.
    """

    def __init__(
        self,
        rows: RowSet,
        *,
        columns: Sequence[str],
        spreadsheet_safe: bool = False,
        engine: Engine | None = None,
        batch_rows: int | None = None,
        cancel: Cancel | None = None,
    ) -> None:
        engine = engine or get_engine()
        query = QueryBuilder(rows, engine.dialect.name)
        texts = [query.text(name, spreadsheet_safe=spreadsheet_safe) for name in columns]
        statement = select(*texts).where(*query.conditions())
        statement = statement.order_by(*query.order_by(query.keys(reverse=False)))
        self._batch_rows = batch_rows or EXPORT_BATCH_ROWS
        self._fix = query.fixer(list(columns))
        self._copy: Any = None
        self._copy_read = False
        self._cursor: Any = None
        self._connection, self.deadline = _export_connection(engine, cancel)
        try:
            with timed(self.deadline):
                if query.dialect == "postgresql":
                    self._cursor = self._start_copy(statement)
                else:
                    self.deadline.check()  # a cancel that came while the connection was set up
                    self._cursor = _streaming_cursor(self._connection, statement, self._batch_rows)
        except BaseException:
            self.close()
            raise

    def _start_copy(self, statement: Select) -> Any:
        statement, settings = _values_as_settings(statement)
        for name, value in settings.items():
            self._connection.execute(select(func.set_config(name, value, True)))
        compiled = statement.compile(dialect=self._connection.dialect)
        assert not compiled.params, "COPY cannot take parameters: every value is a setting"
        driver = self._connection.connection.dbapi_connection
        assert driver is not None
        cursor = driver.cursor()
        self._encoding = driver.info.encoding
        # A cancel sent while the backend was idle (before COPY) stopped nothing: look now.
        self.deadline.check()
        self._copy_block = cursor.copy(f"COPY ({compiled.string}) TO STDOUT (FORMAT csv)")
        self._copy = self._copy_block.__enter__()
        return cursor

    def chunks(self) -> Iterator[bytes]:
        with timed(self.deadline):
            yield from self._chunks()

    def _chunks(self) -> Iterator[bytes]:
        if self._copy is not None:
            yield from self._copied()
            return
        buffer = io.StringIO()
        writer = csv.writer(buffer, lineterminator="\n")
        fix = self._fix
        while rows := self._cursor.fetchmany(self._batch_rows):
            self.deadline.check()
            writer.writerows([fix(row) for row in rows] if fix else rows)
            yield buffer.getvalue().encode()
            buffer.seek(0)
            buffer.truncate()

    def _copied(self) -> Iterator[bytes]:
        # COPY sends a message per row: gather them into chunks worth a write.
        buffer = bytearray()
        for data in self._copy:
            buffer += data
            if len(buffer) >= EXPORT_CHUNK_BYTES:
                self.deadline.check()
                yield self._utf8(buffer)
                buffer.clear()
        if buffer:
            yield self._utf8(buffer)
        self._copy_read = True

    def _utf8(self, data: bytearray) -> bytes:
        if self._encoding == "utf-8":
            return bytes(data)
        return bytes(data).decode(self._encoding).encode()

    def close(self) -> None:
        try:
            if self._copy is not None:
                # Left before its end, a COPY must be cancelled on the server and what it
                # already sent drained; psycopg does that when told the block failed.
                self._copy, copy_block = None, self._copy_block
                if self._copy_read:
                    copy_block.__exit__(None, None, None)
                else:
                    stop = RuntimeError("CSV export closed before its end")
                    copy_block.__exit__(type(stop), stop, None)
            if self._cursor is not None:
                self._cursor.close()
        finally:
            _release(self._connection, self.deadline)


def _export_connection(engine: Engine, cancel: Cancel | None) -> tuple[Connection, ReadDeadline]:
    """A connection for an export, with its deadline, which `cancel` now reaches."""
    connection = engine.connect()
    try:
        deadline = ReadDeadline(connection, export_timeout())
    except BaseException:
        connection.close()
        raise
    if cancel is not None:
        cancel.attach(deadline)
    return connection, deadline


def _release(connection: Connection, deadline: ReadDeadline) -> None:
    """An export's connection back to the pool (which rolls back its read transaction), on
    every path: its deadline ended first, so neither the SQLite progress handler nor a late
    cancel from the client watch reaches whoever uses the connection next."""
    try:
        deadline.clear()
    finally:
        connection.close()


def _values_as_settings(statement: Select) -> tuple[Select, dict[str, str]]:
    """The statement with every bound value read from a transaction-local setting.

    COPY takes no parameters; rather than writing values into its SQL text, each is sent with
    `set_config(name, value, true)` as a bound parameter and the query reads it back, cast to
    its type, with `(SELECT current_setting(name))`: an uncorrelated subquery the server runs
    once per statement (a bare current_setting() ran for every row, and cost an export of 10M
    rows a third of its time); indexes still apply.
    """
    settings: dict[str, str] = {}

    def replace(element: Any) -> Any:
        if not isinstance(element, BindParameter):
            return None
        name = f"csvhub.v{len(settings)}"  # our own name, safe as SQL text
        settings[name] = _setting_text(element.effective_value)
        kind = Text() if isinstance(element.type, NullType) else element.type
        setting = cast(func.current_setting(literal_column(f"'{name}'")), kind)
        return select(setting).scalar_subquery()

    return replacement_traverse(statement, {}, replace), settings


def _setting_text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, date):  # dates, and aware datetimes with their offset
        return value.isoformat()
    return str(value)


def _streaming_cursor(connection: Connection, statement: Select, batch_rows: int) -> Any:
    """A driver cursor running the statement, its values bound, that reads as it is fetched.

    The rows are read from the driver directly: on a full export SQLAlchemy's Row objects cost
    more than the database does. On PostgreSQL it is a named (server-side) cursor, so the
    server keeps the result and sends `batch_rows` at a time; SQLite's cursor steps lazily.
    Bound values are already in the driver's own types (see _stored), so nothing is lost by
    not going through SQLAlchemy's bind processing.
    """
    compiled = statement.compile(
        dialect=connection.dialect, compile_kwargs={"render_postcompile": True}
    )
    params = compiled.construct_params()
    driver = connection.connection.dbapi_connection
    assert driver is not None
    if connection.dialect.name == "postgresql":
        cursor = driver.cursor(name=f"csvhub_rows_{secrets.token_hex(8)}")
        cursor.itersize = batch_rows
        cursor.execute(compiled.string, params)
        return cursor
    cursor = driver.cursor()
    cursor.execute(compiled.string, [params[name] for name in compiled.positiontup or ()])
    return cursor


# -- building the statements ----------------------------------------------------------------


@dataclass(frozen=True)
class _Key:
    """One ORDER BY key: the column compared, its direction and where its NULLs go."""

    column: ColumnElement
    descending: bool
    nulls_first: bool
    nullable: bool
    type: ColumnType | None  # None for the row id

    def flipped(self) -> _Key:
        return replace(self, descending=not self.descending, nulls_first=not self.nulls_first)


class QueryBuilder:
    def __init__(self, rows: RowSet, dialect: str) -> None:
        self.rows = rows
        self.dialect = dialect
        self.fields = {check_column_name(field.name): field for field in rows.fields}
        self.table = query_table(rows.table_name, rows.fields, dialect)
        self.row_id = self.table.c[ROW_ID]

    def field(self, name: str) -> DatasetColumn:
        try:
            return self.fields[name]
        except KeyError:
            raise ValueError(f"{name!r} is not a column of {self.rows.table_name}") from None

    def compared(self, name: str) -> ColumnElement:
        """The column as filters and sorts see it (text in code point order)."""
        column = self.table.c[name]
        if self.dialect == "postgresql" and self.field(name).type is ColumnType.TEXT:
            return collate(column, TEXT_COLLATION)
        return column

    def text(self, name: str, *, spreadsheet_safe: bool = False) -> ColumnElement:
        """The column as canonical text (SQLite decimals are finished by `fix`)."""
        field = self.field(name)
        text = _canonical_text(self.table.c[name], field.type, self.dialect)
        if spreadsheet_safe and field.type is ColumnType.TEXT:
            text = _spreadsheet_safe(text)
        return text.label(name)

    def store(self, field: DatasetColumn, value: Any) -> Any:
        return _stored(field.type, value, self.dialect)

    # -- filters --

    def conditions(self) -> list[ColumnElement]:
        found = [self.condition(condition) for condition in self.rows.conditions]
        if self.rows.search is not None:
            found.append(self.search(self.rows.search))
        return found

    def search(self, words: str) -> ColumnElement:
        """Any text column contains `words`, ignoring case, as the `like` filter matches."""
        texts = [name for name, field in self.fields.items() if field.type is ColumnType.TEXT]
        if not texts:
            return false()  # nothing to search in: no row matches
        return or_(*(_text_match("like", self.table.c[name], words) for name in texts))

    def condition(self, condition: Condition) -> ColumnElement:
        if condition.op not in OPERATORS:
            raise ValueError(f"unknown operator {condition.op!r}")
        field = self.field(condition.column)
        column = self.compared(field.name)
        op, value = condition.op, condition.value
        if op in ("like", "startswith", "endswith"):
            text = _canonical_text(self.table.c[field.name], field.type, self.dialect)
            return _text_match(op, text, str(value))
        if op == "isnull":
            return column.is_(None)
        if op == "notnull":
            return column.is_not(None)
        if field.type is ColumnType.TIMESTAMP and self.dialect != "postgresql":
            return _sqlite_timestamp_condition(op, column, value)
        if op in ("in", "notin"):
            # One bound parameter per item (not an "expanding" one), so that CsvStream can
            # move each into a setting like any other value.
            stored = [_bound(column, self.store(field, item)) for item in value]
            if op == "in":
                return column.in_(stored)
            return or_(column.not_in(stored), column.is_(None))
        return _comparison(op, column, self.store(field, value))

    # -- order and keysets --

    def keys(self, *, reverse: bool) -> list[_Key]:
        keys = [
            _Key(
                self.compared(order.key),
                order.descending,
                False,
                self.field(order.key).nullable,
                self.field(order.key).type,
            )
            for order in self.rows.order
        ]
        # The row id breaks ties; it follows the sort's direction when that is one direction,
        # so that (a, _row_id) row-value comparisons and (a, _row_id) indexes line up.
        all_descending = bool(keys) and all(key.descending for key in keys)
        keys.append(_Key(self.row_id, all_descending, False, False, None))
        return [key.flipped() for key in keys] if reverse else keys

    def order_by(self, keys: list[_Key]) -> list[ColumnElement]:
        return [clause for key in keys for clause in self._order_clauses(key)]

    def _order_clauses(self, key: _Key) -> list[ColumnElement]:
        ordered = key.column.desc() if key.descending else key.column.asc()
        if not key.nullable:
            return [ordered]  # no NULLs: the plain order, which any btree scan can give
        if self.dialect == "postgresql" or _SQLITE_NULLS_ORDER:
            return [ordered.nulls_first() if key.nulls_first else ordered.nulls_last()]
        is_null = key.column.is_(None)
        return [is_null.desc() if key.nulls_first else is_null.asc(), ordered]

    def position_values(self, keys: list[_Key], position: Keyset) -> list[Any]:
        """The keyset's values as bound values of each key (None for an empty cell)."""
        texts = [*position.values, str(position.row_id)]
        return [
            None if text is None else self._stored_key(key, text)
            for key, text in zip(keys, texts, strict=True)
        ]

    def runs(
        self, keys: list[_Key], values: list[Any] | None, offset: int
    ) -> list[tuple[list[_Key], list[ColumnElement]]]:
        """The page's rows as runs read one after the other: (order keys, conditions) each.

        Usually one run. When the first sort column has empty cells, its order (NULLs last
        whichever the direction) is not one an index gives; read as the run of values, in a
        plain index order, then the run of empty cells, each page is an index range again.
        """
        first = keys[0]
        if not first.nullable or offset:
            return [(keys, [] if values is None else [_beyond(keys, values)])]
        runs = [
            ([replace(first, nullable=False), *keys[1:]], [first.column.is_not(None)], False),
            (keys[1:], [first.column.is_(None)], True),
        ]
        if first.nulls_first:
            runs.reverse()
        if values is None:
            return [(run_keys, where) for run_keys, where, _ in runs]
        # Skip the runs before the position; the run holding it starts after it.
        start = next(i for i, (_, _, empty) in enumerate(runs) if empty == (values[0] is None))
        run_keys, where, empty = runs[start]
        here = _beyond(run_keys, values[1:] if empty else values)
        return [(run_keys, [*where, here]), *((k, w) for k, w, _ in runs[start + 1 :])]

    def _stored_key(self, key: _Key, text: str) -> Any:
        if key.type is None:
            return int(text)
        try:
            value = values.parse(key.type, text)
        except (ValueError, ArithmeticError):
            raise ValueError(f"{text!r} is not a stored {key.type.value} value") from None
        if key.type is ColumnType.TIMESTAMP and self.dialect != "postgresql":
            # The exact stored text: ORDER BY compares text, so the keyset must too.
            return text
        return _stored(key.type, value, self.dialect)

    # -- output --

    def fix(self, row: tuple) -> tuple:
        """Canonical text for values SQL could not format (SQLite REAL decimals)."""
        if self.dialect == "postgresql":
            return row
        return tuple(_real_text(v) if isinstance(v, float) else v for v in row)

    def fixer(self, columns: list[str]) -> Callable[[tuple], tuple] | None:
        needs = any(self.field(name).type is ColumnType.DECIMAL for name in columns)
        return self.fix if needs and self.dialect != "postgresql" else None


def _beyond(keys: list[_Key], values: list[Any]) -> ColumnElement:
    """Rows strictly after the position `values` in the order `keys` describe."""
    if _row_values_apply(keys, values):
        # One range over an index on (a, b, _row_id): what makes deep pages cheap.
        columns = tuple_(*(key.column for key in keys))
        bound = tuple_(
            *(_bound(key.column, value) for key, value in zip(keys, values, strict=True))
        )
        return columns < bound if keys[0].descending else columns > bound
    return _expanded_beyond(keys, values)


def _row_values_apply(keys: list[_Key], values: list[Any]) -> bool:
    same_direction = len({key.descending for key in keys}) == 1
    return same_direction and all(
        not key.nullable and value is not None for key, value in zip(keys, values, strict=True)
    )


def _expanded_beyond(keys: list[_Key], values: list[Any]) -> ColumnElement:
    """(k1 beyond v1) OR (k1 = v1 AND k2 beyond v2) OR ..., with NULLs in their place."""
    branches = []
    for i, (key, value) in enumerate(zip(keys, values, strict=True)):
        beyond = _key_beyond(key, value)
        if beyond is None:
            continue
        same = [_key_same(k, v) for k, v in zip(keys[:i], values[:i], strict=True)]
        branches.append(and_(*same, beyond))
    predicate = or_(*branches) if branches else false()
    lead = _leading_range(keys[0], values[0])
    # The redundant range on the first key lets an index on it start the scan at the position.
    return predicate if lead is None else and_(lead, predicate)


def _key_beyond(key: _Key, value: Any) -> ColumnElement | None:
    if value is None:
        # NULLs last: nothing follows a NULL on this key. NULLs first: every value does.
        return key.column.is_not(None) if key.nulls_first else None
    bound = _bound(key.column, value)
    beyond = key.column < bound if key.descending else key.column > bound
    if key.nullable and not key.nulls_first:
        return or_(beyond, key.column.is_(None))
    return beyond


def _key_same(key: _Key, value: Any) -> ColumnElement:
    return key.column.is_(None) if value is None else key.column == _bound(key.column, value)


def _leading_range(key: _Key, value: Any) -> ColumnElement | None:
    if value is None:
        return None if key.nulls_first else key.column.is_(None)
    if key.nullable and not key.nulls_first:
        return None
    bound = _bound(key.column, value)
    return key.column <= bound if key.descending else key.column >= bound


def _bound(column: ColumnElement, value: Any) -> ColumnElement:
    """A bound parameter typed like the column (True/False included, which SQLAlchemy would
    otherwise render as constants that only `=` accepts)."""
    return literal(value, column.type)


def _comparison(op: str, column: ColumnElement, value: Any) -> ColumnElement:
    value = _bound(column, value)
    if op == "eq":
        return column == value
    if op == "neq":
        # "Everything but v" includes empty cells, which SQL's != alone would drop.
        return or_(column != value, column.is_(None))
    if op == "lt":
        return column < value
    if op == "gt":
        return column > value
    if op == "lte":
        return column <= value
    return column >= value


def _text_match(op: str, text: ColumnElement, value: str) -> ColumnElement:
    # autoescape: % and _ in the value match themselves; matching ignores case. SQLite's
    # REAL decimals are matched as their text, which is what LIKE does with a number.
    text = type_coerce(text, Text)
    if op == "like":
        return text.icontains(value, autoescape=True)
    if op == "startswith":
        return text.istartswith(value, autoescape=True)
    return text.iendswith(value, autoescape=True)


# -- types ----------------------------------------------------------------------------------


def query_table(table_name: str, fields: Sequence[DatasetColumn], dialect: str) -> Table:
    """The table with column types that bind and read our stored forms without conversion.

    On PostgreSQL that is the real table. On SQLite dates and timestamps are canonical text,
    booleans 0/1 and decimals REAL, so the columns are declared as those storage types and
    values are bound already in stored form (see _stored).

    One Table object per shape is kept: SQLAlchemy caches compiled statements by the identity
    of their Table, so a new object per request compiled every query anew (a few ms each).
    """
    return _query_table(table_name, tuple(fields), dialect)


@functools.lru_cache(maxsize=512)
def _query_table(table_name: str, fields: tuple[DatasetColumn, ...], dialect: str) -> Table:
    if dialect == "postgresql":
        return dataset_table(table_name, [(f.name, f.type) for f in fields], dialect)
    storage = {
        ColumnType.INTEGER: BigInteger,
        ColumnType.DECIMAL: Float,
        ColumnType.BOOLEAN: Integer,
    }
    return Table(
        check_table_name(table_name),
        MetaData(),
        Column(ROW_ID, Integer, primary_key=True),
        *(Column(check_column_name(f.name), storage.get(f.type, Text)()) for f in fields),
    )


def _canonical_text(column: ColumnElement, column_type: ColumnType, dialect: str) -> ColumnElement:
    if dialect == "postgresql":
        return _postgres_text(column, column_type)
    if column_type is ColumnType.BOOLEAN:
        return case((column == 1, "true"), (column == 0, "false"))
    if column_type is ColumnType.INTEGER:
        return cast(column, Text)
    return column  # dates, timestamps and text are stored as canonical text; REAL → _real_text


def _postgres_text(column: ColumnElement, column_type: ColumnType) -> ColumnElement:
    if column_type is ColumnType.BOOLEAN:
        return case((column.is_(True), "true"), (column.is_(False), "false"))
    if column_type is ColumnType.DATE:
        return func.to_char(column, "YYYY-MM-DD")
    if column_type is ColumnType.TIMESTAMP:
        utc = func.timezone("UTC", column)
        # Whole seconds without a fraction, others without trailing zeros, as csvread writes.
        return case(
            (
                func.date_trunc("second", column) == column,
                func.to_char(utc, "YYYY-MM-DD HH24:MI:SS"),
            ),
            else_=func.rtrim(func.to_char(utc, "YYYY-MM-DD HH24:MI:SS.US"), "0"),
        )
    if column_type is ColumnType.TEXT:
        return column
    return cast(column, Text)  # NUMERIC keeps the digits as written


def _spreadsheet_safe(text: ColumnElement) -> ColumnElement:
    """A leading quote on text a spreadsheet would run as a formula, so it shows as text."""
    starts_formula = func.substr(text, 1, 1).in_([literal(c, Text) for c in FORMULA_STARTS])
    return case((starts_formula, literal("'", Text) + text), else_=text)


def _real_text(value: float) -> str:
    """A REAL as plain decimal text that reads back to the same float (no exponent)."""
    text = repr(value)
    if "e" in text or "E" in text:
        text = format(Decimal(text), "f")
        if "." not in text:
            text += ".0"
    return text


def _stored(column_type: ColumnType, value: Any, dialect: str) -> Any:
    """A typed value in the form the warehouse stores it, ready to bind."""
    if dialect == "postgresql":
        return value
    if column_type is ColumnType.DECIMAL:
        return float(value)
    if column_type is ColumnType.BOOLEAN:
        return int(bool(value))
    if column_type is ColumnType.DATE:
        return value.isoformat()
    if column_type is ColumnType.TIMESTAMP:
        return values.timestamp_text(value)
    return value


def _sqlite_timestamp_condition(op: str, column: ColumnElement, value: Any) -> ColumnElement:
    """Timestamp comparisons on SQLite's stored text, whose fractions keep the digits as
    written (`.5` or `.500`). All spellings of one instant sort, as text, between its shortest
    and its longest spelling, and nothing else does; so each comparison is a text range."""
    if op in ("in", "notin"):
        equal = or_(*(_sqlite_timestamp_condition("eq", column, item) for item in value))
        return equal if op == "in" else or_(not_(equal), column.is_(None))
    shortest, longest = values.timestamp_spellings(value)
    if op == "eq":
        return and_(column >= shortest, column <= longest)
    if op == "neq":
        return or_(column < shortest, column > longest, column.is_(None))
    if op == "lt":
        return column < shortest
    if op == "lte":
        return column <= longest
    if op == "gt":
        return column > longest
    return column >= shortest
