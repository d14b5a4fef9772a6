"""Bulk edits of a dataset table: set-based UPDATE and DELETE with a journal, and their undo.

Every edit runs in one warehouse transaction that holds the table's write lock (the lock loads
take, so edits and uploads of one dataset run one after the other). Inside it, the old values
of what the edit changes are copied into the journal with INSERT … SELECT, then the rows are
updated or deleted by the row ids just journaled (on PostgreSQL, one statement per chunk does
both, by the rows' addresses); a mark (`csvhub_edit_marks`) records the edit as applied.
Readers see all of an edit or none of it; a worker killed mid-edit rolls everything back; a
retried edit finds its mark and is not applied twice.

The journal, `csvhub_edit_journal`, is shared by all datasets: one row per changed cell (for a
deleted row, one per column), holding the cell's canonical text (query.py's module docstring),
so that one table serves every column type; undo turns the text back into the stored form
(WarehouseDialect.from_canonical_text).
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    BigInteger,
    Column,
    Engine,
    Index,
    MetaData,
    String,
    Table,
    Text,
    and_,
    case,
    cast,
    delete,
    func,
    insert,
    literal,
    select,
    union_all,
    update,
)
from sqlalchemy.engine import Connection
from sqlalchemy.exc import IntegrityError
from sqlalchemy.sql.elements import ColumnElement

from csvhub.schema import Column as DatasetColumn
from csvhub.schema import ColumnStats, ColumnType, values
from csvhub.warehouse.analysis import value_reader
from csvhub.warehouse.dialects import WarehouseDialect, dialect_of
from csvhub.warehouse.dialects.base import Arithmetic, bound
from csvhub.warehouse.engine import get_engine
from csvhub.warehouse.query import QueryBuilder, RowSet
from csvhub.warehouse.schema import ROW_ID, check_column_name, check_table_name

__all__ = ["Arithmetic"]

JOURNAL = Table(
    "csvhub_edit_journal",
    MetaData(),
    Column("edit_id", BigInteger, nullable=False),
    Column("table_name", String(64), nullable=False),
    Column("row_id", BigInteger, nullable=False),
    Column("column_name", String(64), nullable=False),
    Column("old_value", Text, nullable=True),
    # The one index: an edit's cells (apply, undo, purge, statistics), and a cell of later
    # edits (undo's conflicts: their ids are known). Each index costs every journaled cell
    # an entry and a WAL record, so there is no second one (see MARKS).
    Index("csvhub_edit_journal_edit", "edit_id", "column_name", "row_id"),
)
# Row id 0 and no column: the marker of an applied edit in journals made before MARKS (row ids
# start at 1); such rows are left out of every read of cells and copied into MARKS.
MARKER_ROW_ID = 0
MARKER_COLUMN = ""
# Journals made before MARKS also had an index on (table_name, row_id), for the highest row
# id of a table, which MARKS now answers. A release only adds to the schema (docs/deployment.md:
# during a rollout workers of the previous release still run, writing markers and deleted rows'
# ids only in the journal), so an upgraded journal keeps that index and both are read while it
# exists; a later release drops it.
_OLD_JOURNAL = Table(
    JOURNAL.name, MetaData(), Column("table_name", String(64)), Column("row_id", BigInteger)
)
OLD_ROW_INDEX = Index("csvhub_edit_journal_row", _OLD_JOURNAL.c.table_name, _OLD_JOURNAL.c.row_id)

MARKS = Table(
    "csvhub_edit_marks",
    MetaData(),
    # One row per applied edit (and undo), written in its transaction: a retried job finds
    # it and does not apply the edit twice.
    Column("table_name", String(64), primary_key=True),
    Column("edit_id", BigInteger, primary_key=True),
    Column("changed_rows", BigInteger, nullable=False),
    # The highest row id the edit journaled (0: none), so that loads never give the id of a
    # row an edit deleted again (undo puts the row back with its id).
    Column("highest_row_id", BigInteger, nullable=False),
)


# -- what an edit does --------------------------------------------------------------------------


@dataclass(frozen=True)
class SetValue:
    """The cell becomes `value` (typed: int, Decimal, bool, date, aware datetime, str; None
    empties it)."""

    value: Any


@dataclass(frozen=True)
class ReplaceText:
    """Every occurrence of `old` in the text becomes `new` (case-sensitive)."""

    old: str
    new: str


@dataclass(frozen=True)
class TextFunction:
    """upper, lower or trim (spaces at both ends)."""

    name: str


@dataclass(frozen=True)
class MapValues:
    """Cells equal to a key become its value; only rows holding a key are edited."""

    pairs: tuple[tuple[Any, Any], ...]


type Change = SetValue | Arithmetic | ReplaceText | TextFunction | MapValues

TEXT_FUNCTIONS = {"upper": func.upper, "lower": func.lower, "trim": func.trim}


@dataclass(frozen=True)
class EditTarget:
    """The rows an edit selects and what it does to them (no changes: delete the rows)."""

    rows: RowSet
    changes: tuple[tuple[str, Change], ...] = ()
    # Only rows whose hidden id is in this range (an upload's rows), besides the filters.
    row_ids: tuple[int, int] | None = None

    @property
    def deletes(self) -> bool:
        return not self.changes


@dataclass(frozen=True)
class SampleRow:
    row_id: int
    before: dict[str, str | None]  # canonical text
    after: dict[str, str | None]  # canonical text; empty for a delete


@dataclass(frozen=True)
class Preview:
    count: int
    samples: list[SampleRow]


class CountChanged(Exception):
    """The filter matched another number of rows than the caller expected: nothing changed."""

    def __init__(self, count: int) -> None:
        super().__init__(count)
        self.count = count


@dataclass(frozen=True)
class Applied:
    rows: int
    again: bool = False  # found applied already (a retried job): nothing was done now
    # Statistics of the changed columns over the changed rows, before and after (updates).
    before: dict[str, ColumnStats] | None = None
    after: dict[str, ColumnStats] | None = None


@dataclass(frozen=True)
class Restored:
    rows: int
    conflicts: int  # rows changed since by later edits (left alone unless forced)
    conflict_row_ids: list[int]  # the first of them
    again: bool = False


ProgressCallback = Callable[[int], None]


# -- SQL of one edit ---------------------------------------------------------------------------


class _EditSql:
    def __init__(self, target: EditTarget, dialect: WarehouseDialect) -> None:
        self.target = target
        self.dialect = dialect
        self.query = QueryBuilder(target.rows, dialect)
        self.table = self.query.table
        self.row_id = self.query.row_id

    def where(self) -> list[ColumnElement[Any]]:
        found = self.query.conditions()
        if self.target.row_ids is not None:
            found.append(self.row_id.between(*self.target.row_ids))
        for name, change in self.target.changes:
            if isinstance(change, MapValues):
                keys = tuple(key for key, _ in change.pairs)
                found.append(self._comparison("in", name, keys))
        return found

    def _comparison(self, op: str, name: str, value: Any) -> ColumnElement[Any]:
        field = self.query.field(name)
        compared = self.query.compared(name)
        return self.dialect.comparison(op, compared, field.type, field.scale, value)

    def columns(self) -> list[str]:
        if self.target.deletes:
            return [field.name for field in self.target.rows.fields]
        return [name for name, _ in self.target.changes]

    def new_value(
        self, name: str, change: Change, column: ColumnElement[Any] | None = None
    ) -> ColumnElement[Any]:
        """The new stored value, from the cell's stored value: the table's column, or
        `column` (the journaled old value in stored form, for the changed cells' statistics)."""
        field = self.query.field(name)
        column = self.table.c[name] if column is None else column
        if isinstance(change, SetValue):
            if change.value is None:
                return literal(None, column.type)
            return bound(column, self.query.store(field, change.value))
        if isinstance(change, Arithmetic):
            return self.dialect.edit_arithmetic(column, field.type, field.scale, change)
        if isinstance(change, ReplaceText):
            return func.replace(column, literal(change.old, Text), literal(change.new, Text))
        if isinstance(change, TextFunction):
            return TEXT_FUNCTIONS[change.name](column)
        compared = self.dialect.compared(column, field.type)
        whens = [
            (
                self.dialect.comparison("eq", compared, field.type, field.scale, key),
                bound(column, self.query.store(field, new)),
            )
            for key, new in change.pairs
        ]
        return case(*whens, else_=column)

    def new_text(self, name: str, change: Change) -> ColumnElement[Any]:
        field = self.query.field(name)
        return self.dialect.canonical_text(self.new_value(name, change), field.type, field.scale)

    def old_text(self, name: str) -> ColumnElement[Any]:
        field = self.query.field(name)
        return self.dialect.canonical_text(self.table.c[name], field.type, field.scale)


def edit_preview(target: EditTarget, *, samples: int, engine: Engine | None = None) -> Preview:
    """How many rows the edit selects and a few of them before and after; changes nothing."""
    engine = engine or get_engine()
    sql = _EditSql(target, dialect_of(engine))
    where = sql.where()
    names = [name for name, _ in target.changes] or sql.columns()
    shown = [sql.old_text(name).label(f"b_{i}") for i, name in enumerate(names)]
    shown += [sql.new_text(n, c).label(f"a_{i}") for i, (n, c) in enumerate(target.changes)]
    with engine.connect() as connection:
        sql.dialect.prepare_edit(connection)
        count = connection.execute(
            select(func.count()).select_from(sql.table).where(*where)
        ).scalar_one()
        found = connection.execute(
            select(sql.row_id, *shown).where(*where).order_by(sql.row_id).limit(samples)
        ).all()
    return Preview(count, [_sample(row, names, len(target.changes)) for row in found])


def _sample(row: Any, names: list[str], changed: int) -> SampleRow:
    before = dict(zip(names, (_text(v) for v in row[1 : 1 + len(names)]), strict=True))
    after = dict(zip(names[:changed], (_text(v) for v in row[1 + len(names) :]), strict=True))
    return SampleRow(row[0], before, after)


def _text(value: Any) -> str | None:
    return None if value is None else str(value)


# -- applying an edit ----------------------------------------------------------------------------


# Warehouses where this process made sure the journal exists (it is never dropped, but for
# the test suite's fresh warehouses, which each have a URL of their own).
_JOURNALED: set[Any] = set()


def journal_ensure(engine: Engine | None = None) -> None:
    """Create the journal and its marks if they are missing, and bring a journal made before
    MARKS to the current layout, in a transaction of its own (MySQL's DDL would commit the
    edit's transaction)."""
    engine = engine or get_engine()
    if engine.url in _JOURNALED:
        return
    # A write transaction from the start: on SQLite, one that reads first (checkfirst) and
    # then writes is refused at once while a load holds the write lock, instead of waiting.
    for attempt in (1, 2):
        try:
            _journal_create_or_upgrade(engine)
            break
        except IntegrityError:
            if attempt == 2:
                raise
            # Another process copied the same markers first: the second pass finds them.
    _JOURNALED.add(engine.url)


def _journal_create_or_upgrade(engine: Engine) -> None:
    with engine.connect() as connection:
        connection = dialect_of(engine).for_writes(connection)
        with connection.begin():
            JOURNAL.create(connection, checkfirst=True)
            MARKS.create(connection, checkfirst=True)
            if _has_old_row_index(connection):
                _migrate_markers(connection)


def _has_old_row_index(connection: Connection) -> bool:
    from sqlalchemy import inspect

    indexes = inspect(connection).get_indexes(JOURNAL.name)
    return any(index["name"] == OLD_ROW_INDEX.name for index in indexes)


# Per warehouse URL, read once per process: whether its journal predates MARKS (it keeps the
# old index until a later release drops it; a process started after that finds none).
_OLD_LAYOUT: dict[Any, bool] = {}


def _journal_predates_marks(connection: Connection) -> bool:
    url = connection.engine.url
    if url not in _OLD_LAYOUT:
        from sqlalchemy import inspect

        if not inspect(connection).has_table(JOURNAL.name):
            return False  # not known yet: the first journal may still be made by either release
        _OLD_LAYOUT[url] = _has_old_row_index(connection)
    return _OLD_LAYOUT[url]


def _migrate_markers(connection: Connection) -> None:
    """A journal made before MARKS: copy its markers there, with the highest row id each
    edit journaled (by the edit's index, one edit at a time). The cells, the old markers and
    the old index stay (see OLD_ROW_INDEX). Idempotent: a process that stops halfway (or
    MySQL, whose DDL commits) finishes it the next time."""
    old = JOURNAL.alias("old_marker")
    cells = JOURNAL.alias("cell")
    mark = MARKS.alias("mark")
    highest = (
        select(func.coalesce(func.max(cells.c.row_id), 0))
        .where(cells.c.edit_id == old.c.edit_id, cells.c.table_name == old.c.table_name)
        .scalar_subquery()
    )
    copied = select(mark.c.edit_id).where(
        mark.c.edit_id == old.c.edit_id, mark.c.table_name == old.c.table_name
    )
    markers = select(
        old.c.table_name, old.c.edit_id, cast(old.c.old_value, BigInteger), highest
    ).where(old.c.row_id == MARKER_ROW_ID, old.c.column_name == MARKER_COLUMN, ~copied.exists())
    names = ["table_name", "edit_id", "changed_rows", "highest_row_id"]
    connection.execute(insert(MARKS).from_select(names, markers))


def edit_apply(
    target: EditTarget,
    *,
    edit_id: int,
    expected_count: int | None = None,
    chunk_rows: int = 1_000_000,
    progress: ProgressCallback | None = None,
    engine: Engine | None = None,
) -> Applied:
    """Journal and apply the edit in one transaction; CountChanged (nothing applied) when
    `expected_count` is given and the filters select another number of rows."""
    engine = engine or get_engine()
    journal_ensure(engine)
    sql = _EditSql(target, dialect_of(engine))
    with _locked(engine, target.rows.table_name) as connection:
        previous = _marker(connection, edit_id, target.rows.table_name)
        if previous is not None:
            return Applied(previous, again=True)
        sql.dialect.widen_for_writes(connection, target.rows.table_name, sql.columns())
        chunks = _chunks(connection, sql, chunk_rows)
        if sql.dialect.row_addresses:
            total, before, after = _one_pass(connection, sql, edit_id, chunks, progress)
        else:
            total = _two_passes(connection, sql, edit_id, chunks, progress)
        if expected_count is not None and total != expected_count:
            raise CountChanged(total)
        if not sql.dialect.row_addresses:
            before, after = _changed_stats(connection, sql, edit_id)
        _mark(connection, edit_id, target.rows.table_name, total, sql.columns())
    return Applied(total, before=before, after=after)


def _two_passes(
    connection: Connection,
    sql: _EditSql,
    edit_id: int,
    chunks: list[_Chunk],
    progress: ProgressCallback | None,
) -> int:
    """Journal every chunk, then change the rows: the filters are read twice."""
    total = 0
    for chunk in chunks:
        total += _journal_chunk(connection, sql, edit_id, chunk)
        if progress is not None:
            progress(total)
    changed = sum(_change_rows(connection, sql, chunk) for chunk in chunks)
    if changed != total:  # the table's lock keeps writers out: this is a bug, not a race
        raise RuntimeError(f"edit {edit_id} journaled {total} rows but changed {changed}")
    return total


def _one_pass(
    connection: Connection,
    sql: _EditSql,
    edit_id: int,
    chunks: list[_Chunk],
    progress: ProgressCallback | None,
) -> tuple[int, dict[str, ColumnStats] | None, dict[str, ColumnStats] | None]:
    """Journal and change each chunk in one statement, where the engine can find a row again
    by its physical address (dialect.row_addresses): the selected rows are read once, their
    old cells journaled and the rows changed through their addresses, and the same statement
    answers the changed cells' statistics before and after (as _changed_stats reads them from
    the journal otherwise). Returns the rows changed and those statistics (None: a delete)."""
    total = 0
    before: dict[str, ColumnStats] = {}
    after: dict[str, ColumnStats] = {}
    for chunk in chunks:
        statement = _one_pass_statement(sql, edit_id, chunk)
        row = connection.execute(statement).one()
        total += int(row[0])
        if not sql.target.deletes:
            _add_chunk_stats(sql, row, before, after)
        if progress is not None:
            progress(total)
    if sql.target.deletes:
        return total, None, None
    _fill_stats(sql, before, after)
    return total, before, after


def _add_chunk_stats(
    sql: _EditSql, row: Any, before: dict[str, ColumnStats], after: dict[str, ColumnStats]
) -> None:
    """Merge one chunk's answer (_one_pass_statement: rows changed, rows selected, then each
    column's parts before, then after unless constant) into the edit's statistics."""
    changed, selected, position = int(row[0]), int(row[1]), 2
    for name, change in sql.target.changes:
        field = sql.query.field(name)
        found = [(before, selected, row[position : position + 5])]
        position += 5
        if not isinstance(change, SetValue):
            found.append((after, changed, row[position : position + 5]))
            position += 5
        for stats, rows, parts in found:
            chunk_stats = _stats_of(field, sql.dialect, rows, parts)
            known = stats.get(name)
            stats[name] = chunk_stats if known is None else known.merged(chunk_stats)


def _fill_stats(
    sql: _EditSql, before: dict[str, ColumnStats], after: dict[str, ColumnStats]
) -> None:
    """Statistics of columns no chunk reported (no rows at all), and of constants."""
    for name, change in sql.target.changes:
        field = sql.query.field(name)
        before.setdefault(name, ColumnStats(value_type=field.type))
        if isinstance(change, SetValue):
            after[name] = _constant_stats(field, change.value, before[name])
        else:
            after.setdefault(name, ColumnStats(value_type=field.type))


def _one_pass_statement(sql: _EditSql, edit_id: int, chunk: _Chunk) -> Any:
    """One row: the rows changed, the rows selected, then each changed column's statistics
    parts over the old cells, then over the new ones (not for a constant), for an update."""
    address = sql.dialect.row_address(sql.table)
    names = sql.columns()
    old = (
        select(
            address.label("address"), sql.row_id.label("row_id"), *(sql.table.c[n] for n in names)
        )
        .where(*sql.where(), *chunk.rows(sql.row_id))
        .cte("old")
    )
    cells = [
        select(
            literal(edit_id, BigInteger),
            literal(sql.target.rows.table_name, String(64)),
            old.c.row_id,
            literal(check_column_name(name), String(64)),
            _canonical(sql, name, old.c[name]),
        )
        for name in names
    ]
    rows = cells[0] if len(cells) == 1 else union_all(*cells)
    journaled = _journal_insert(rows).cte("journaled")
    chosen = sql.dialect.row_address_in(address, select(old.c.address))
    if sql.target.deletes:
        deleted = delete(sql.table).where(chosen).returning(sql.row_id).cte("changed")
        return select(func.count()).select_from(deleted).add_cte(journaled)
    assignments = {name: sql.new_value(name, change) for name, change in sql.target.changes}
    new = [sql.table.c[name] for name, _ in sql.target.changes]
    changed = update(sql.table).where(chosen).values(assignments).returning(*new).cte("changed")
    old_parts: list[ColumnElement[Any]] = [func.count()]
    new_parts: list[ColumnElement[Any]] = [func.count()]
    for name, change in sql.target.changes:
        field = sql.query.field(name)
        old_parts += _cell_stats_parts(
            sql.dialect, field, old.c[name], _canonical(sql, name, old.c[name])
        )
        if not isinstance(change, SetValue):
            value = changed.c[name]
            new_parts += _cell_stats_parts(sql.dialect, field, value, _canonical(sql, name, value))
    olds = (
        select(*(p.label(f"o{i}") for i, p in enumerate(old_parts))).select_from(old).subquery("o")
    )
    news = (
        select(*(p.label(f"n{i}") for i, p in enumerate(new_parts)))
        .select_from(changed)
        .subquery("n")
    )
    # Interleave per column, in the order _add_chunk_stats reads them.
    columns: list[Any] = [news.c.n0, olds.c.o0]
    o, n = 1, 1
    for _, change in sql.target.changes:
        columns += [olds.c[f"o{i}"] for i in range(o, o + 5)]
        o += 5
        if not isinstance(change, SetValue):
            columns += [news.c[f"n{i}"] for i in range(n, n + 5)]
            n += 5
    return select(*columns).select_from(olds.join(news, literal(True))).add_cte(journaled)


def _canonical(sql: _EditSql, name: str, value: ColumnElement[Any]) -> ColumnElement[Any]:
    field = sql.query.field(name)
    return sql.dialect.canonical_text(value, field.type, field.scale)


def _changed_stats(
    connection: Connection, sql: _EditSql, edit_id: int
) -> tuple[dict[str, ColumnStats] | None, dict[str, ColumnStats] | None]:
    """The changed columns' statistics over the changed cells, before and after, read from
    the journal (its own index: no second pass over the table), so that the dataset's can be
    brought up to date without reading the whole table."""
    if sql.target.deletes:
        return None, None
    before: dict[str, ColumnStats] = {}
    after: dict[str, ColumnStats] = {}
    for name, change in sql.target.changes:
        field = sql.query.field(name)
        old_text = JOURNAL.c.old_value
        old = sql.dialect.from_canonical_text(old_text, field.type, field.scale)
        new = sql.new_value(name, change, old)
        new_text = sql.dialect.canonical_text(new, field.type, field.scale)
        where = [
            JOURNAL.c.edit_id == edit_id,
            JOURNAL.c.column_name == name,
            JOURNAL.c.table_name == sql.target.rows.table_name,
        ]
        # Before and after in one read of the journaled cells (a constant needs no reading).
        parts = _cell_stats_parts(sql.dialect, field, old, old_text)
        constant = isinstance(change, SetValue)
        if not constant:
            parts += _cell_stats_parts(sql.dialect, field, new, new_text)
        row = connection.execute(select(func.count(), *parts).where(*where)).one()
        before[name] = _stats_of(field, sql.dialect, row[0], row[1:6])
        after[name] = (
            _constant_stats(field, change.value, before[name])
            if isinstance(change, SetValue)
            else _stats_of(field, sql.dialect, row[0], row[6:11])
        )
    return before, after


def _constant_stats(field: DatasetColumn, value: Any, before: ColumnStats) -> ColumnStats:
    """The statistics of cells that all hold one constant (None: empty)."""
    cells = before.nulls + before.non_null
    if value is None or cells == 0:
        return ColumnStats(nulls=cells, value_type=field.type)
    if field.type is ColumnType.DECIMAL and field.scale is not None:
        value = value.quantize(Decimal(1).scaleb(-field.scale))
    text = values.text(field.type, value)
    kept = field.type in KEPT_EXTREMES
    return ColumnStats(
        non_null=cells,
        min_value=text if kept else None,
        max_value=text if kept else None,
        min_length=len(text),
        max_length=len(text),
        value_type=field.type,
    )


@contextlib.contextmanager
def _locked(engine: Engine, table_name: str) -> Iterator[Connection]:
    """A write transaction holding the table's lock (as loads take it); commits on success."""
    dialect = dialect_of(engine)
    with engine.connect() as connection:
        connection = dialect.for_writes(connection)
        with connection.begin():
            dialect.lock_table(connection, check_table_name(table_name))
            dialect.prepare_edit(connection)
            yield connection


def _marker(connection: Connection, edit_id: int, table_name: str) -> int | None:
    # By table too: edit ids are unique in one metadata database, table names everywhere.
    found = connection.execute(
        select(MARKS.c.changed_rows).where(
            MARKS.c.edit_id == edit_id, MARKS.c.table_name == table_name
        )
    ).first()
    if found is None and _journal_predates_marks(connection):
        # Applied by a worker of the previous release (a job it started, retried here).
        found = connection.execute(
            select(cast(JOURNAL.c.old_value, BigInteger)).where(
                JOURNAL.c.edit_id == edit_id,
                JOURNAL.c.column_name == MARKER_COLUMN,
                JOURNAL.c.row_id == MARKER_ROW_ID,
                JOURNAL.c.table_name == table_name,
            )
        ).first()
    return None if found is None else int(found[0])


def _mark(
    connection: Connection, edit_id: int, table_name: str, rows: int, columns: Sequence[str]
) -> None:
    """Record the edit as applied, with the highest row id it journaled: one probe of the
    journal's index per column (every journaled row has a cell of each column it changed)."""
    highest = [
        select(func.max(JOURNAL.c.row_id))
        .where(
            JOURNAL.c.edit_id == edit_id,
            JOURNAL.c.column_name == name,
            JOURNAL.c.table_name == table_name,
        )
        .scalar_subquery()
        for name in columns
    ]
    found = [connection.execute(select(query)).scalar() for query in highest]
    connection.execute(
        insert(MARKS).values(
            table_name=table_name,
            edit_id=edit_id,
            changed_rows=rows,
            highest_row_id=max((int(value) for value in found if value is not None), default=0),
        )
    )
    if _journal_predates_marks(connection):
        # Also where workers of the previous release look, so that one retrying this edit's
        # job during a rollout does not apply it twice.
        marker = {"row_id": MARKER_ROW_ID, "column_name": MARKER_COLUMN}
        connection.execute(
            insert(JOURNAL).values(
                edit_id=edit_id, table_name=table_name, old_value=str(rows), **marker
            )
        )


@dataclass(frozen=True)
class _Chunk:
    """Row ids low..high; `only`: the one chunk of the edit, spanning every id it may select."""

    low: int
    high: int
    only: bool = False

    def rows(self, row_id: ColumnElement[Any]) -> list[ColumnElement[Any]]:
        """The condition on the table's rows; none for the only chunk: the table's lock keeps
        other ids out, and, without column statistics (a table not analyzed yet), PostgreSQL
        plans a range over every id as a bitmap scan of the whole primary key, twice as slow
        as the sequential scan the filters alone get."""
        return [] if self.only else [row_id.between(self.low, self.high)]


def _chunks(connection: Connection, sql: _EditSql, chunk_rows: int) -> list[_Chunk]:
    """Row id ranges of about `chunk_rows` ids each, covering the rows the edit may select."""
    low, high = connection.execute(select(func.min(sql.row_id), func.max(sql.row_id))).one()
    if low is None:
        return []
    if sql.target.row_ids is not None:
        low, high = max(low, sql.target.row_ids[0]), min(high, sql.target.row_ids[1])
    starts = range(low, high + 1, chunk_rows)
    return [
        _Chunk(start, min(start + chunk_rows - 1, high), only=len(starts) == 1) for start in starts
    ]


def _journal_chunk(connection: Connection, sql: _EditSql, edit_id: int, chunk: _Chunk) -> int:
    """Journal the old cells of the selected rows with ids in the chunk; returns their count."""
    first, *others = sql.columns()
    table_name = sql.target.rows.table_name
    selected = select(*_journal_values(sql, edit_id, first)).where(
        *sql.where(), *chunk.rows(sql.row_id)
    )
    count = connection.execute(_journal_insert(selected)).rowcount
    journaled = _journaled_ids(edit_id, first, table_name).where(
        JOURNAL.c.row_id.between(chunk.low, chunk.high)
    )
    for name in others:
        connection.execute(
            _journal_insert(
                select(*_journal_values(sql, edit_id, name)).where(sql.row_id.in_(journaled))
            )
        )
    return int(count)


def _journal_values(sql: _EditSql, edit_id: int, name: str) -> list[ColumnElement[Any]]:
    return [
        literal(edit_id, BigInteger),
        literal(sql.target.rows.table_name, String(64)),
        sql.row_id,
        literal(check_column_name(name), String(64)),
        sql.old_text(name),
    ]


def _journal_insert(rows: Any) -> Any:
    names = ["edit_id", "table_name", "row_id", "column_name", "old_value"]
    # The count of rows an INSERT … SELECT wrote is the edit's count (kept on every driver).
    return insert(JOURNAL).from_select(names, rows).execution_options(preserve_rowcount=True)


def _journaled_ids(edit_id: int, column_name: str, table_name: str) -> Any:
    return select(JOURNAL.c.row_id).where(
        JOURNAL.c.edit_id == edit_id,
        JOURNAL.c.column_name == column_name,
        JOURNAL.c.table_name == table_name,
    )


def _change_rows(connection: Connection, sql: _EditSql, chunk: _Chunk) -> int:
    """Update or delete the selected rows with ids in the chunk: the rows just journaled, as the
    table's lock keeps every other writer out (the filters again cost one scan, where the
    journaled ids cost a random read per row); returns how many."""
    where = [*sql.where(), *chunk.rows(sql.row_id)]
    if sql.target.deletes:
        return int(connection.execute(delete(sql.table).where(*where)).rowcount)
    assignments = {name: sql.new_value(name, change) for name, change in sql.target.changes}
    return int(connection.execute(update(sql.table).where(*where).values(assignments)).rowcount)


# -- undo --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class RestoreTarget:
    table_name: str
    fields: tuple[DatasetColumn, ...]  # the dataset's columns now
    edit_id: int  # the edit undone
    undo_id: int  # the undo, journaled as an edit of its own
    columns: tuple[str, ...]  # what the edit changed (every column for a delete)
    deleted: bool  # the edit deleted rows: they are inserted again with their ids
    later_edit_ids: tuple[int, ...]  # edits since whose changes count as conflicts
    force: bool = False


def edit_restore(
    target: RestoreTarget, *, conflicts_shown: int = 100, engine: Engine | None = None
) -> Restored:
    """Put back the old values an edit journaled, in one transaction."""
    engine = engine or get_engine()
    journal_ensure(engine)
    sql = _RestoreSql(target, dialect_of(engine))
    with _locked(engine, target.table_name) as connection:
        previous = _marker(connection, target.undo_id, target.table_name)
        if previous is not None:
            return Restored(previous, 0, [], again=True)
        sql.dialect.widen_for_writes(connection, target.table_name, target.columns)
        conflicts: int = connection.execute(sql.conflict_count()).scalar_one()
        shown = [row[0] for row in connection.execute(sql.conflict_ids(conflicts_shown))]
        if target.deleted:
            rows = connection.execute(sql.reinsert()).rowcount
        else:
            rows = _restore_cells(connection, sql)
        _mark(connection, target.undo_id, target.table_name, rows, target.columns)
    return Restored(int(rows), int(conflicts), shown)


class _RestoreSql:
    def __init__(self, target: RestoreTarget, dialect: WarehouseDialect) -> None:
        self.target = target
        self.dialect = dialect
        self.query = QueryBuilder(RowSet(target.table_name, target.fields), dialect)
        self.table = self.query.table
        self.row_id = self.query.row_id
        self.fields = {field.name: field for field in target.fields}

    def journaled(self) -> Any:
        """This edit's journal rows (cells), markers left out."""
        return and_(
            JOURNAL.c.edit_id == self.target.edit_id,
            JOURNAL.c.table_name == self.target.table_name,
            JOURNAL.c.row_id != MARKER_ROW_ID,
        )

    def changed_since(self, column: Any) -> ColumnElement[Any]:
        """The cell (JOURNAL row) was changed again by a later edit (a later delete journals
        every column, so it counts too)."""
        later = JOURNAL.alias("later")
        return (
            select(literal(1))
            .where(
                later.c.table_name == self.target.table_name,
                later.c.row_id == JOURNAL.c.row_id,
                later.c.column_name == column,
                later.c.edit_id.in_(self.target.later_edit_ids or (-1,)),
            )
            .exists()
        )

    def conflict_rows(self) -> Any:
        return select(JOURNAL.c.row_id).where(
            self.journaled(), self.changed_since(JOURNAL.c.column_name)
        )

    def conflict_count(self) -> Any:
        return select(func.count(func.distinct(JOURNAL.c.row_id))).where(
            self.journaled(), self.changed_since(JOURNAL.c.column_name)
        )

    def conflict_ids(self, limit: int) -> Any:
        return self.conflict_rows().distinct().order_by(JOURNAL.c.row_id).limit(limit)

    def restorable_ids(self, name: str) -> Any:
        chosen = select(JOURNAL.c.row_id).where(self.journaled(), JOURNAL.c.column_name == name)
        if not self.target.force:
            chosen = chosen.where(~self.changed_since(JOURNAL.c.column_name))
        return chosen

    def old_value(self, name: str) -> Any:
        field = self.fields[name]
        inner = JOURNAL.alias("old")
        text = select(inner.c.old_value).where(
            inner.c.edit_id == self.target.edit_id,
            inner.c.table_name == self.target.table_name,
            inner.c.column_name == name,
            inner.c.row_id == self.row_id,
        )
        return self.dialect.from_canonical_text(text.scalar_subquery(), field.type, field.scale)

    def reinsert(self) -> Any:
        """The deleted rows, rebuilt from their journaled cells, where their ids are free."""
        names = [name for name in self.target.columns if name in self.fields]
        cells = [
            self.dialect.from_canonical_text(
                func.max(case((JOURNAL.c.column_name == name, JOURNAL.c.old_value))),
                self.fields[name].type,
                self.fields[name].scale,
            )
            for name in names
        ]
        present = select(self.row_id).where(self.row_id == JOURNAL.c.row_id).exists()
        rows = (
            select(JOURNAL.c.row_id, *cells)
            .where(self.journaled(), ~present)
            .group_by(JOURNAL.c.row_id)
        )
        statement = insert(self.table).from_select([ROW_ID, *names], rows)
        return statement.execution_options(preserve_rowcount=True)


def _restore_cells(connection: Connection, sql: _RestoreSql) -> int:
    """Journal the cells as they are now under the undo's id, then put the old ones back."""
    restored = 0
    undo = _EditSql(EditTarget(RowSet(sql.target.table_name, sql.target.fields)), sql.dialect)
    for name in sql.target.columns:
        if name not in sql.fields:
            continue
        now = select(*_journal_values(undo, sql.target.undo_id, name)).where(
            undo.row_id.in_(sql.restorable_ids(name))
        )
        count = connection.execute(_journal_insert(now)).rowcount
        restored = max(restored, int(count))
        ids = _journaled_ids(sql.target.undo_id, name, sql.target.table_name)
        connection.execute(
            update(sql.table).where(sql.row_id.in_(ids)).values({name: sql.old_value(name)})
        )
    return restored


# -- journal upkeep ----------------------------------------------------------------------------


def journal_purge(*, edit_ids: Sequence[int], engine: Engine | None = None) -> int:
    """Forget the journal of these edits (they can no longer be undone); returns cells freed."""
    if not edit_ids:
        return 0
    engine = engine or get_engine()
    journal_ensure(engine)
    with engine.connect() as connection:
        connection = dialect_of(engine).for_writes(connection)
        with connection.begin():
            chosen = JOURNAL.c.edit_id.in_(list(edit_ids))
            result = connection.execute(
                delete(JOURNAL).where(chosen, JOURNAL.c.row_id != MARKER_ROW_ID)
            )
            connection.execute(delete(JOURNAL).where(chosen))  # markers of older journals
            connection.execute(delete(MARKS).where(MARKS.c.edit_id.in_(list(edit_ids))))
    return int(result.rowcount)


def journal_forget_table(connection: Connection, table_name: str) -> None:
    """Forget the journal of a table being dropped (its edits are deleted with its dataset, so
    retention would never purge them): its edits are found by their marks, their cells by
    the journal's index."""
    from sqlalchemy import inspect

    if not inspect(connection).has_table(MARKS.name):
        return
    edit_ids = select(MARKS.c.edit_id).where(MARKS.c.table_name == table_name)
    connection.execute(
        delete(JOURNAL).where(
            JOURNAL.c.edit_id.in_(edit_ids.scalar_subquery()), JOURNAL.c.table_name == table_name
        )
    )
    connection.execute(delete(MARKS).where(MARKS.c.table_name == table_name))


def journal_highest_row_id(connection: Connection, table_name: str) -> int:
    """The highest row id the journal holds for the table (0: none): the ids of deleted rows,
    which loads must not give again, so that an undo can put the rows back with their ids."""
    queries = journal_highest_row_id_queries(connection, table_name)
    if not queries:
        return 0
    return max(int(found or 0) for found in connection.execute(select(*queries)).one())


def journal_highest_row_id_queries(connection: Connection, table_name: str) -> list[Any]:
    """Scalar subqueries whose largest answer (NULL: 0) is journal_highest_row_id: a load
    asks them in the statement that reads its table's largest row id, one round trip."""
    queries = []
    if connection.engine.url in _JOURNALED or _has_table(connection, MARKS.name):
        queries.append(
            select(func.max(MARKS.c.highest_row_id))
            .where(MARKS.c.table_name == table_name)
            .scalar_subquery()
        )
    if _journal_predates_marks(connection):
        # Deletes by workers of the previous release are only here (read by its old index).
        queries.append(
            select(func.max(JOURNAL.c.row_id))
            .where(JOURNAL.c.table_name == table_name)
            .scalar_subquery()
        )
    return queries


def _has_table(connection: Connection, name: str) -> bool:
    from sqlalchemy import inspect

    return bool(inspect(connection).has_table(name))


def journal_cells(*, edit_id: int, engine: Engine | None = None) -> int:
    """How many cells the journal holds for an edit (its storage, roughly)."""
    engine = engine or get_engine()
    journal_ensure(engine)
    with engine.connect() as connection:
        return int(
            connection.execute(
                select(func.count()).where(
                    JOURNAL.c.edit_id == edit_id, JOURNAL.c.row_id != MARKER_ROW_ID
                )
            ).scalar_one()
        )


# -- summaries -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class TableSummary:
    row_count: int
    first_row_id: int | None
    last_row_id: int | None
    stats: dict[str, ColumnStats]


class SummaryLock:
    """The table's write lock (as loads take it), held while a recount is read and published:
    loads publish their counts before they let go of it, so none is half counted meanwhile."""

    def __init__(self, connection: Connection, table_name: str) -> None:
        self.connection = connection
        self.table_name = table_name

    def loads_row_ranges(self, upload_ids: Sequence[str]) -> dict[str, tuple[int, int]]:
        return _loads_row_ranges(self.connection, self.table_name, upload_ids)

    def summary(
        self,
        fields: Sequence[DatasetColumn],
        columns: Sequence[str],
        excluded: Sequence[tuple[int, int]] = (),
    ) -> TableSummary:
        """table_summary, read under the lock."""
        dialect = dialect_of(self.connection.engine)
        query = QueryBuilder(RowSet(self.table_name, tuple(fields)), dialect)
        outside = [~query.row_id.between(low, high) for low, high in excluded]
        row, stats = _summary(self.connection, query, dialect, columns, outside)
        return TableSummary(int(row[0]), row[1], row[2], stats)


@contextlib.contextmanager
def summary_lock(*, table_name: str, engine: Engine | None = None) -> Iterator[SummaryLock]:
    """Hold the table's write lock for a recount and its publication (SummaryLock)."""
    with _locked(engine or get_engine(), table_name) as connection:
        yield SummaryLock(connection, table_name)


def table_summary(
    *,
    table_name: str,
    fields: Sequence[DatasetColumn],
    columns: Sequence[str],
    excluded: Sequence[tuple[int, int]] = (),
    engine: Engine | None = None,
) -> TableSummary:
    """Exact row count, row id range and the statistics of `columns`, over the rows outside
    the `excluded` row id ranges (rows whose upload has not published its own yet)."""
    engine = engine or get_engine()
    dialect = dialect_of(engine)
    query = QueryBuilder(RowSet(table_name, tuple(fields)), dialect)
    outside = [~query.row_id.between(low, high) for low, high in excluded]
    with engine.connect() as connection:
        dialect.prepare_edit(connection)
        row, stats = _summary(connection, query, dialect, columns, outside)
    return TableSummary(int(row[0]), row[1], row[2], stats)


def _summary(
    connection: Connection,
    query: QueryBuilder,
    dialect: WarehouseDialect,
    columns: Sequence[str],
    where: Sequence[ColumnElement[Any]],
) -> tuple[Any, dict[str, ColumnStats]]:
    parts: list[ColumnElement[Any]] = [
        func.count(),
        func.min(query.row_id),
        func.max(query.row_id),
    ]
    for name in columns:
        parts += _stats_parts(query, dialect, name)
    row = connection.execute(select(*parts).select_from(query.table).where(*where)).one()
    stats = {
        name: _stats_of(query.field(name), dialect, row[0], row[3 + 5 * i : 8 + 5 * i])
        for i, name in enumerate(columns)
    }
    return row, stats


# The types whose statistics keep a minimum and maximum (ColumnStats).
KEPT_EXTREMES = (ColumnType.INTEGER, ColumnType.DECIMAL, ColumnType.DATE, ColumnType.TIMESTAMP)


def _stats_parts(
    query: QueryBuilder, dialect: WarehouseDialect, name: str
) -> list[ColumnElement[Any]]:
    field = query.field(name)
    column = query.table.c[name]
    text = dialect.canonical_text(column, field.type, field.scale)
    return _cell_stats_parts(dialect, field, column, text)


def _cell_stats_parts(
    dialect: WarehouseDialect,
    field: DatasetColumn,
    value: ColumnElement[Any],
    text: ColumnElement[Any],
) -> list[ColumnElement[Any]]:
    """Aggregates of stored values and their canonical text, as _stats_of reads them."""
    length = dialect.text_length(text)
    ordered = dialect.compared(value, field.type)
    kept = field.type in KEPT_EXTREMES
    return [
        func.count(value),
        func.min(ordered) if kept else literal(None),
        func.max(ordered) if kept else literal(None),
        func.min(length),
        func.max(length),
    ]


def _stats_of(
    field: DatasetColumn, dialect: WarehouseDialect, rows: int, parts: Sequence[Any]
) -> ColumnStats:
    non_null, low, high, shortest, longest = parts
    kept = field.type in KEPT_EXTREMES
    read = value_reader(field.type, dialect, field.scale)
    return ColumnStats(
        nulls=rows - int(non_null),
        non_null=int(non_null),
        min_value=values.text(field.type, read(low)) if kept and low is not None else None,
        max_value=values.text(field.type, read(high)) if kept and high is not None else None,
        min_length=None if shortest is None else int(shortest),
        max_length=None if longest is None else int(longest),
        value_type=field.type,
    )


def loads_row_ranges(
    *, table_name: str, upload_ids: Sequence[str], engine: Engine | None = None
) -> dict[str, tuple[int, int]]:
    """The row id range each of these uploads' committed loads gave its rows (uploads with no
    committed load, or no rows, are left out)."""
    if not upload_ids:
        return {}
    engine = engine or get_engine()
    with engine.connect() as connection:
        return _loads_row_ranges(connection, table_name, upload_ids)


def _loads_row_ranges(
    connection: Connection, table_name: str, upload_ids: Sequence[str]
) -> dict[str, tuple[int, int]]:
    from sqlalchemy import inspect

    from csvhub.schema import LoadResult
    from csvhub.warehouse.schema import LOADS

    if not upload_ids:
        return {}
    if not inspect(connection).has_table(LOADS.name):
        return {}
    found = connection.execute(
        select(LOADS.c.upload_id, LOADS.c.result).where(
            LOADS.c.table_name == table_name, LOADS.c.upload_id.in_(list(upload_ids))
        )
    ).all()
    ranges = {}
    for upload_id, result in found:
        row_range = LoadResult.from_json(result).row_id_range
        if row_range:
            ranges[upload_id] = (int(row_range[0]), int(row_range[1]))
    return ranges
