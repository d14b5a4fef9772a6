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
import logging
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

from sqlalchemy import (
    BigInteger,
    Column,
    Engine,
    MetaData,
    Select,
    Table,
    Text,
    and_,
    bindparam,
    case,
    false,
    func,
    literal,
    or_,
    select,
    tuple_,
    type_coerce,
)
from sqlalchemy.engine import Connection, Dialect
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.elements import BindParameter, ColumnElement

from csvhub.grammar.filters import Operator
from csvhub.schema import Column as DatasetColumn
from csvhub.schema import ColumnType, values
from csvhub.warehouse.dialects import ServerCsv, WarehouseDialect, dialect_of
from csvhub.warehouse.engine import (
    Cancel,
    ReadDeadline,
    export_timeout,
    get_engine,
    read_connection,
    timed,
)
from csvhub.warehouse.schema import ROW_ID, check_column_name, check_table_name

OPERATORS = frozenset(Operator)  # the filter grammar's operators (csvhub.grammar.filters)
EXPORT_BATCH_ROWS = 5000
# Statements kept per page shape, one per (run, limit): page_plan keeps 256 shapes.
STATEMENTS_PER_SHAPE = 16
# Cells a spreadsheet would run as a formula (OWASP "CSV injection").
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


@dataclass(frozen=True)
class Condition:
    """`column op value`; value is typed (int, Decimal, bool, date, aware datetime, str), a
    tuple of those for in/notin, text for like/startswith/endswith, None for null tests."""

    column: str
    op: Operator  # one of the filter grammar's (csvhub.grammar.filters)
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


# A cursor's value on one sort key: its bound parameter, or None for an empty cell.
KeyValue = BindParameter[Any] | None
# The bound parameter of a row-id window's width (QueryBuilder.window_runs).
WINDOW = "window"


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
    position = after or before
    shape = PageShape(
        rows,
        tuple(columns),
        offset,
        reverse=before is not None,
        empty=None if position is None else tuple(value is None for value in position.values),
    )
    dialect = dialect_of(engine)
    plan = page_plan(shape, dialect)
    params = plan.parameters(position, window=dialect.row_id_window * (limit + 1))
    fetched: list[Any] = []
    with read_connection(engine) as connection:
        direct = plan.direct(limit + 1, engine.dialect) if _plain_engine(engine) else None
        runs = range(plan.run_count)
        if direct is not None:
            fetched = direct.fetch(connection, params, dialect)
            runs = runs[1:]
        for run in runs:
            if len(fetched) > limit:
                break
            statement = plan.statement(run, limit + 1 - len(fetched))
            fetched += connection.execute(statement, params).fetchall()
    more = len(fetched) > limit
    fix = plan.fix
    page = [fix(row) for row in fetched[:limit]] if fix else fetched[:limit]
    if before is not None:
        page.reverse()
    return plan.page(page, more)


@dataclass(frozen=True)
class PageShape:
    """What a page's SQL depends on, without the cursor's values: pages of one shape share
    one statement, which binds the cursor's values when it runs."""

    rows: RowSet
    columns: tuple[str, ...]
    offset: int
    reverse: bool  # read before the cursor
    empty: tuple[bool, ...] | None  # which of the cursor's sort values are empty; None: none


class PagePlan:
    """A page shape's statements, built and compiled once (page_plan keeps them).

    Building a statement and SQLAlchemy's cache key for it cost a page request about 1.7 ms
    (measured in-process, twice the SQL's own time on page 1 of SQLite); a statement object
    already run computes neither again: SQLAlchemy keeps its cache key on it, and its compiled
    form in the engine's cache. The cursor's values are named bound parameters (`k0`, `k1`,
    ...) given at execution.
    """

    def __init__(self, shape: PageShape, dialect: WarehouseDialect) -> None:
        self.query = QueryBuilder(shape.rows, dialect)
        self.shape = shape
        order = [order.key for order in shape.rows.order]
        self.wanted = list(dict.fromkeys([*shape.columns, *order]))
        self.keys = self.query.keys(reverse=shape.reverse)
        placeholders = None if shape.empty is None else self._placeholders(shape.empty)
        self.windowed = self.query.windowed(self.keys, shape.offset)
        self.runs = (
            self.query.window_runs(self.keys[0], placeholders)
            if self.windowed
            else self.query.runs(self.keys, placeholders, shape.offset)
        )
        self.run_count = len(self.runs)
        self.select_list = [self.query.row_id, *(self.query.text(name) for name in self.wanted)]
        self.fix = self.query.fixer([ROW_ID, *self.wanted])
        index = {name: position + 1 for position, name in enumerate(self.wanted)}
        self._columns = [index[name] for name in shape.columns]
        self._order = [index[name] for name in order]
        self._statements: dict[tuple[int, int], Select[*tuple[Any, ...]]] = {}
        self._direct: dict[tuple[int, Dialect], DirectRead | None] = {}

    def _placeholders(self, empty: tuple[bool, ...]) -> list[KeyValue]:
        """The cursor's values as named bound parameters, typed like their keys (None where the
        cursor's value is empty: its SQL is another shape); the row id never is."""
        return [
            None if is_empty else bindparam(f"k{i}", type_=key.column.type)
            for i, (key, is_empty) in enumerate(zip(self.keys, [*empty, False], strict=True))
        ]

    def parameters(self, position: Keyset | None, *, window: int) -> dict[str, Any]:
        """The values bound at execution: the cursor's, and the width of a row-id window."""
        found = {WINDOW: window} if self.windowed else {}
        if position is not None:
            values = self.query.position_values(self.keys, position)
            found |= {f"k{i}": value for i, value in enumerate(values) if value is not None}
        return found

    def statement(self, run: int, limit: int) -> Select[*tuple[Any, ...]]:
        found = self._statements.get((run, limit))
        if found is None:
            run_keys, where = self.runs[run]
            # The keyset's range before the filters: SQLite starts an index range at the first
            # bound it sees on the column, and a filter's `>= 500` ahead of the keyset's made
            # a deep page scan from 500 up to it (60 ms against 0.35 ms at row 900,000).
            found = self.query.dialect.page_select(
                self.query.table,
                self.select_list,
                [*where, *self.query.conditions()],
                self.query.order_by(run_keys),
                limit=limit,
                offset=self.shape.offset,
                bounded=self.windowed and run == 0,
            )
            if len(self._statements) >= STATEMENTS_PER_SHAPE:
                self._statements.clear()  # limits vary by request: keep the recent ones
            # Racing threads may both build it: the same statement, one of them kept.
            self._statements[(run, limit)] = found
        return found

    def direct(self, limit: int, dialect: Dialect) -> DirectRead | None:
        """The first statement of this shape as the driver runs it: the only one, or a row-id
        window, after which the rest is read (through SQLAlchemy) only when deletions left
        fewer than a page in it. The two read disjoint ranges of row ids, so no row is missed
        or read twice, but not in one snapshot: an edit committed between them shows in the
        second part of that page only (pages whose window deletions thinned). None: the shape
        takes runs that must share SQLAlchemy's transaction, or cannot run so."""
        if self.run_count != 1 and not self.windowed:
            return None
        key = (limit, dialect)
        if key in self._direct:
            return self._direct[key]
        found = DirectRead.of(self.statement(0, limit), dialect)
        if len(self._direct) >= STATEMENTS_PER_SHAPE:
            self._direct.clear()
        self._direct[key] = found  # returned from the local: another thread may clear meanwhile
        return found

    def page(self, fetched: list[Any], more: bool) -> Page:
        columns, order = self._columns, self._order

        def keyset(row: Any) -> Keyset:
            return Keyset(tuple(row[i] for i in order), row[0])

        return Page(
            rows=[tuple([row[i] for i in columns]) for row in fetched],
            first=keyset(fetched[0]) if fetched else None,
            last=keyset(fetched[-1]) if fetched else None,
            more=more,
        )


def _plain_engine(engine: Engine) -> bool:
    """No statement events or echo on the engine: whatever watches SQLAlchemy's execution (a
    bench catching the SQL, tracing) sees every statement, since pages then take its path."""
    events = engine.dispatch
    watched = events.before_cursor_execute or events.after_cursor_execute or engine.echo
    # SQL logging switched on by LOGGING (the sqlalchemy.engine logger), not by echo.
    return not (watched or engine.logger.isEnabledFor(logging.INFO))


@dataclass(frozen=True)
class DirectRead:
    """A page statement compiled once and run on the connection's driver cursor.

    SQLAlchemy's execution of a statement it has already compiled (execution context,
    transaction bookkeeping, result object and Row per row) cost a SQLite page about as much
    as SQLite's own work. Only statements SQLAlchemy runs as plain SQL are run so: no
    expanding or literal-execute parameters, no escaped names, no result processing.
    """

    sql: str
    names: tuple[str, ...] | None  # parameter order for a positional paramstyle, else None
    values: dict[str, Any]  # the statement's own values (filters, limit), ready for the driver
    processors: Mapping[str, Callable[[Any], Any]]  # for the values given at execution

    @classmethod
    def of(cls, statement: Select[*tuple[Any, ...]], dialect: Dialect) -> DirectRead | None:
        compiled = statement.compile(dialect=dialect)
        assert isinstance(compiled, SQLCompiler)
        if (
            compiled.post_compile_params
            or compiled.literal_execute_params
            or compiled.escaped_bind_names
            or any(_result_processed(column, dialect) for column in statement.selected_columns)
        ):
            return None
        processors = {
            name: processor
            for name, bind in compiled.binds.items()
            if (processor := bind.type.dialect_impl(dialect).bind_processor(dialect))
        }
        given = [name for name, bind in compiled.binds.items() if bind.required]
        values = compiled.construct_params(dict.fromkeys(given))
        ready = {
            name: processors[name](value) if name in processors else value
            for name, value in values.items()
            if name not in given
        }
        names = tuple(compiled.positiontup or ()) if compiled.positional else None
        return cls(compiled.string, names, ready, processors)

    def fetch(
        self, connection: Connection, given: dict[str, Any] | None, dialect: WarehouseDialect
    ) -> list[Any]:
        values = self.values
        if given:
            processors = self.processors
            values = values | {
                name: processors[name](value) if name in processors else value
                for name, value in given.items()
            }
        driver = connection.connection.dbapi_connection
        assert driver is not None
        cursor = driver.cursor()
        try:
            with dialect.statement_alone(driver):
                if self.names is None:
                    cursor.execute(self.sql, values)
                else:
                    cursor.execute(self.sql, [values[name] for name in self.names])
                return list(cursor.fetchall())
        except Exception as error:
            # As SQLAlchemy's execution would: a connection the server dropped leaves the pool.
            if connection.dialect.is_disconnect(error, driver, cursor):  # type: ignore[arg-type]
                connection.invalidate(error)
            raise
        finally:
            cursor.close()


def _result_processed(column: ColumnElement[Any], dialect: Dialect) -> bool:
    return column.type.dialect_impl(dialect).result_processor(dialect, None) is not None


@functools.lru_cache(maxsize=256)
def page_plan(shape: PageShape, dialect: WarehouseDialect) -> PagePlan:
    """The plan of a page shape, kept for the next page of that shape (a filter's values are
    part of the shape: a query repeated with the same filters, as clients page through them,
    builds nothing)."""
    return PagePlan(shape, dialect)


def rows_count(rows: RowSet, *, cap: int | None = None, engine: Engine | None = None) -> int:
    """How many rows match; with a cap, counting stops at cap + 1 (so `> cap` means "more")."""
    engine = engine or get_engine()
    query = QueryBuilder(rows, dialect_of(engine))
    if cap is None:
        statement = select(func.count()).select_from(query.table).where(*query.conditions())
    else:
        matching = select(literal(1)).select_from(query.table).where(*query.conditions())
        statement = select(func.count()).select_from(matching.limit(cap + 1).subquery())
    with (
        read_connection(engine) as connection,
        query.dialect.statement_alone(connection.connection.dbapi_connection),
    ):
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
        query = QueryBuilder(rows, dialect_of(engine))
        statement = select(*(query.text(name) for name in columns)).where(*query.conditions())
        statement = statement.order_by(*query.order_by(query.keys(reverse=False)))
        self._fix = query.fixer(list(columns))
        self._batch_rows = batch_rows or EXPORT_BATCH_ROWS
        self._connection, self.deadline = _export_connection(engine, cancel)
        try:
            with timed(self.deadline):
                self.deadline.check()  # a cancel that came while the connection was set up
                self._cursor = query.dialect.streaming_cursor(
                    self._connection, statement, self._batch_rows
                )
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
    character get a leading `'`. Where the dialect can, the server writes the CSV
    (PostgreSQL's COPY ... TO STDOUT); otherwise a lazy cursor feeds Python's csv writer.
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
        query = QueryBuilder(rows, dialect_of(engine))
        texts = [query.text(name, spreadsheet_safe=spreadsheet_safe) for name in columns]
        statement = select(*texts).where(*query.conditions())
        statement = statement.order_by(*query.order_by(query.keys(reverse=False)))
        self._batch_rows = batch_rows or EXPORT_BATCH_ROWS
        self._fix = query.fixer(list(columns))
        self._server: ServerCsv | None = None
        self._cursor: Any = None
        self._connection, self.deadline = _export_connection(engine, cancel)
        try:
            with timed(self.deadline):
                self._start(query.dialect, statement)
        except BaseException:
            self.close()
            raise

    def _start(self, dialect: WarehouseDialect, statement: Select[*tuple[Any, ...]]) -> None:
        self._server = dialect.server_csv(self._connection, statement)
        # A cancel that came while the connection was set up (or, on a server, while it was
        # idle before the export: that stopped nothing).
        self.deadline.check()
        if self._server is not None:
            self._server.start()
        else:
            self._cursor = dialect.streaming_cursor(self._connection, statement, self._batch_rows)

    def chunks(self) -> Iterator[bytes]:
        with timed(self.deadline):
            yield from self._chunks()

    def _chunks(self) -> Iterator[bytes]:
        if self._server is not None:
            yield from self._server.chunks(self.deadline.check)
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

    def close(self) -> None:
        try:
            if self._server is not None:
                server, self._server = self._server, None
                server.close()
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


# -- building the statements ----------------------------------------------------------------


@dataclass(frozen=True)
class _Key:
    """One ORDER BY key: the column compared, its direction and where its NULLs go."""

    column: ColumnElement[Any]
    descending: bool
    nulls_first: bool
    nullable: bool
    field: DatasetColumn | None  # None for the row id

    def flipped(self) -> _Key:
        return replace(self, descending=not self.descending, nulls_first=not self.nulls_first)


class QueryBuilder:
    def __init__(self, rows: RowSet, dialect: WarehouseDialect) -> None:
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

    def compared(self, name: str) -> ColumnElement[Any]:
        """The column as filters and sorts see it (text in code point order)."""
        return self.dialect.compared(self.table.c[name], self.field(name).type)

    def text(self, name: str, *, spreadsheet_safe: bool = False) -> ColumnElement[Any]:
        """The column as canonical text (finished by `fixer` where SQL cannot)."""
        return _canonical_text(self.table, self.field(name), self.dialect, spreadsheet_safe)

    def store(self, field: DatasetColumn, value: Any) -> Any:
        return self.dialect.stored(field.type, field.scale, value)

    # -- filters --

    def conditions(self) -> list[ColumnElement[Any]]:
        found = [self.condition(condition) for condition in self.rows.conditions]
        if self.rows.search is not None:
            found.append(self.search(self.rows.search))
        return found

    def search(self, words: str) -> ColumnElement[Any]:
        """Any text column contains `words`, ignoring case, as the `like` filter matches."""
        texts = [name for name, field in self.fields.items() if field.type is ColumnType.TEXT]
        if not texts:
            return false()  # nothing to search in: no row matches
        return or_(*(_text_match("like", self.table.c[name], words) for name in texts))

    def condition(self, condition: Condition) -> ColumnElement[Any]:
        if condition.op not in OPERATORS:
            raise ValueError(f"unknown operator {condition.op!r}")
        field = self.field(condition.column)
        column = self.compared(field.name)
        op, value = condition.op, condition.value
        if op in ("like", "startswith", "endswith"):
            text = self.dialect.canonical_text(self.table.c[field.name], field.type, field.scale)
            return _text_match(op, text, str(value))
        if op == "isnull":
            return column.is_(None)
        if op == "notnull":
            return column.is_not(None)
        return self.dialect.comparison(op, column, field.type, field.scale, value)

    # -- order and keysets --

    def keys(self, *, reverse: bool) -> list[_Key]:
        keys = [
            _Key(
                self.compared(order.key),
                order.descending,
                False,
                self.field(order.key).nullable,
                self.field(order.key),
            )
            for order in self.rows.order
        ]
        # The row id breaks ties; it follows the sort's direction when that is one direction,
        # so that (a, _row_id) row-value comparisons and (a, _row_id) indexes line up.
        all_descending = bool(keys) and all(key.descending for key in keys)
        keys.append(_Key(self.row_id, all_descending, False, False, None))
        return [key.flipped() for key in keys] if reverse else keys

    def order_by(self, keys: list[_Key]) -> list[ColumnElement[Any]]:
        return [clause for key in keys for clause in self._order_clauses(key)]

    def _order_clauses(self, key: _Key) -> list[ColumnElement[Any]]:
        if not key.nullable:
            # No NULLs: the plain order, which any btree scan can give.
            return [key.column.desc() if key.descending else key.column.asc()]
        return self.dialect.order(
            key.column, descending=key.descending, nulls_first=key.nulls_first
        )

    def position_values(self, keys: list[_Key], position: Keyset) -> list[Any]:
        """The keyset's values as bound values of each key (None for an empty cell)."""
        texts = [*position.values, str(position.row_id)]
        return [
            None if text is None else self._stored_key(key, text)
            for key, text in zip(keys, texts, strict=True)
        ]

    def windowed(self, keys: list[_Key], offset: int) -> bool:
        """Whether a page is read as a window of row ids first (the dialect's row_id_window):
        in row-id order alone, without filters, by cursor (an offset counts rows)."""
        plain = not self.rows.conditions and self.rows.search is None
        return bool(self.dialect.row_id_window) and plain and len(keys) == 1 and not offset

    def window_runs(
        self, key: _Key, values: list[KeyValue] | None
    ) -> list[tuple[list[_Key], list[ColumnElement[Any]]]]:
        """The next `window` row ids past the cursor (`window`, bound at execution, is
        row_id_window pages: rows numbered one by one fill the page from it), then the row ids
        past those.
        Together, every row past the cursor whatever gaps deletions left."""
        row_id, width = key.column, bindparam(WINDOW, type_=BigInteger())
        cursor = None if values is None else values[0]
        if key.descending:  # before a cursor (a page read backwards always has one)
            assert cursor is not None
            return [
                ([key], [row_id < cursor, row_id >= cursor - width]),
                ([key], [row_id < cursor - width]),
            ]
        if cursor is None:  # page 1
            return [([key], [row_id <= width]), ([key], [row_id > width])]
        return [
            ([key], [row_id > cursor, row_id <= cursor + width]),
            ([key], [row_id > cursor + width]),
        ]

    def runs(
        self, keys: list[_Key], values: list[KeyValue] | None, offset: int
    ) -> list[tuple[list[_Key], list[ColumnElement[Any]]]]:
        """The page's rows as runs read one after the other: (order keys, conditions) each.

        Usually one run. When the first sort column has empty cells, its order (NULLs last
        whichever the direction) is not one an index gives; read as the run of values, in a
        plain index order, then the run of empty cells, each page is an index range again.
        """
        first = keys[0]
        if not first.nullable or offset:
            lead = self.dialect.keyset_leading_range
            return [(keys, [] if values is None else [_beyond(keys, values, lead=lead)])]
        runs: list[tuple[list[_Key], list[ColumnElement[Any]], bool]] = [
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
        here = _beyond(
            run_keys, values[1:] if empty else values, lead=self.dialect.keyset_leading_range
        )
        # The keyset's range first (see rows_page): `IS NOT NULL` is a lower bound to SQLite too.
        return [(run_keys, [here, *where]), *((k, w) for k, w, _ in runs[start + 1 :])]

    def _stored_key(self, key: _Key, text: str) -> Any:
        if key.field is None:
            return int(text)
        try:
            value = values.parse(key.field.type, text)
        except (ValueError, ArithmeticError):
            raise ValueError(f"{text!r} is not a stored {key.field.type.value} value") from None
        return self.dialect.key_value(key.field.type, key.field.scale, text, value)

    # -- output --

    def fixer(self, columns: list[str]) -> Callable[[tuple[Any, ...]], tuple[Any, ...]] | None:
        """What finishes rows of these columns where SQL could not format a value."""
        kinds = [
            None if name == ROW_ID else (self.field(name).type, self.field(name).scale)
            for name in columns
        ]
        return self.dialect.row_fixer(kinds)


def _beyond(keys: list[_Key], values: list[KeyValue], *, lead: bool) -> ColumnElement[Any]:
    """Rows strictly after the position `values` in the order `keys` describe; with `lead`,
    a row-value comparison also gets the plain range on its first key it implies."""
    if _row_values_apply(keys, values):
        # One range over an index on (a, b, _row_id): what makes deep pages cheap.
        columns = tuple_(*(key.column for key in keys))
        limits = tuple_(*values)
        beyond = columns < limits if keys[0].descending else columns > limits
        first = _leading_range(keys[0], values[0]) if lead and len(keys) > 1 else None
        return beyond if first is None else and_(first, beyond)
    return _expanded_beyond(keys, values)


def _row_values_apply(keys: list[_Key], values: list[KeyValue]) -> bool:
    same_direction = len({key.descending for key in keys}) == 1
    return same_direction and all(
        not key.nullable and value is not None for key, value in zip(keys, values, strict=True)
    )


def _expanded_beyond(keys: list[_Key], values: list[KeyValue]) -> ColumnElement[Any]:
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


def _key_beyond(key: _Key, value: KeyValue) -> ColumnElement[Any] | None:
    if value is None:
        # NULLs last: nothing follows a NULL on this key. NULLs first: every value does.
        return key.column.is_not(None) if key.nulls_first else None
    beyond = key.column < value if key.descending else key.column > value
    if key.nullable and not key.nulls_first:
        return or_(beyond, key.column.is_(None))
    return beyond


def _key_same(key: _Key, value: KeyValue) -> ColumnElement[Any]:
    return key.column.is_(None) if value is None else key.column == value


def _leading_range(key: _Key, value: KeyValue) -> ColumnElement[Any] | None:
    if value is None:
        return None if key.nulls_first else key.column.is_(None)
    if key.nullable and not key.nulls_first:
        return None
    return key.column <= value if key.descending else key.column >= value


def _text_match(op: str, text: ColumnElement[Any], value: str) -> ColumnElement[Any]:
    # autoescape: % and _ in the value match themselves; matching ignores case. SQLite's
    # REAL decimals are matched as their text, which is what LIKE does with a number.
    text = type_coerce(text, Text)
    if op == "like":
        return text.icontains(value, autoescape=True)
    if op == "startswith":
        return text.istartswith(value, autoescape=True)
    return text.iendswith(value, autoescape=True)


# -- types ----------------------------------------------------------------------------------


def query_table(
    table_name: str, fields: Sequence[DatasetColumn], dialect: WarehouseDialect
) -> Table:
    """The table with column types that bind and read the stored forms without conversion
    (the dialect's query_type; values are bound already in stored form, see `stored`).

    One Table object per shape is kept: SQLAlchemy caches compiled statements by the identity
    of their Table, so a new object per request compiled every query anew (a few ms each).
    """
    return _query_table(table_name, tuple(fields), dialect)


@functools.lru_cache(maxsize=4096)
def _canonical_text(
    table: Table, field: DatasetColumn, dialect: WarehouseDialect, spreadsheet_safe: bool
) -> ColumnElement[Any]:
    """One expression per column of a cached table (see `query_table`): building a scaled
    decimal's text expression anew cost a page request about a millisecond."""
    text = dialect.canonical_text(table.c[field.name], field.type, field.scale)
    if spreadsheet_safe and field.type is ColumnType.TEXT:
        text = _spreadsheet_safe(text)
    return text.label(field.name)


@functools.lru_cache(maxsize=512)
def _query_table(
    table_name: str, fields: tuple[DatasetColumn, ...], dialect: WarehouseDialect
) -> Table:
    return Table(
        check_table_name(table_name),
        MetaData(),
        dialect.row_id_column(),
        *(Column(check_column_name(f.name), dialect.query_type(f.type, f.scale)) for f in fields),
    )


def _spreadsheet_safe(text: ColumnElement[Any]) -> ColumnElement[Any]:
    """A leading quote on text a spreadsheet would run as a formula, so it shows as text."""
    starts_formula = func.substr(text, 1, 1).in_([literal(c, Text) for c in FORMULA_STARTS])
    return case((starts_formula, literal("'", Text) + text), else_=text)
