"""Rows of a dataset: pages, counts, exports and indexes, for a parsed RowQuery.

The glue between the grammar (rowquery) and the warehouse (warehouse.query, warehouse.indexes):
column names are matched against the dataset's columns (by name or label, case-insensitively
when that is unambiguous), values are typed by their column's type, cursors are signed and
checked, and rows are shaped for JSON, CSV and NDJSON. The API and the web pages both call here.
"""

from __future__ import annotations

import contextlib
import csv
import hashlib
import io
import json
import logging
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.core import signing

from csvhub.csvread import ColumnType
from csvhub.datasets.client_watch import ClientWatch, client_watch
from csvhub.datasets.errors import DatasetError, QueryTooSlow
from csvhub.datasets.models import Dataset
from csvhub.datasets.rowquery import (
    LISTS,
    NULL_TESTS,
    OPERATORS,
    TEXT_MATCH,
    CountMode,
    Filter,
    Format,
    InvalidRowQuery,
    Operator,
    RowQuery,
    SortKey,
    parse_flag,
    parse_list,
    parse_value,
)
from csvhub.warehouse import indexes as warehouse_indexes
from csvhub.warehouse import query as warehouse
from csvhub.warehouse.engine import Cancel, QueryTimeout
from csvhub.warehouse.indexes import MAX_INDEX_COLUMNS, IndexInfo, IndexStatus

logger = logging.getLogger(__name__)

# A filtered count stops here and says so ("count_capped"): counting millions of matches
# costs a scan, and most clients only need "more than a screenful".
COUNT_CAP = 10_000
# Indexes on bigger tables are built by a background task; smaller ones within the request.
INLINE_INDEX_ROWS = 100_000
CURSOR_SALT = "csvhub.datasets.rows.cursor"
AFTER, BEFORE = "a", "b"
_OPERATOR_LIKE = re.compile(r"([A-Za-z_]+):")


@dataclass(frozen=True)
class RowPage:
    columns: list[dict]
    rows: list[dict[str, Any]]
    count: int | None
    count_capped: bool
    next_cursor: str | None
    previous_cursor: str | None


class DatasetColumns:
    """A dataset's columns, found by name or by label; case-insensitively when unambiguous."""

    def __init__(self, columns: list[dict]) -> None:
        self.columns = columns

    def find(self, written: str) -> dict | None:
        for column in self.columns:
            if column["name"] == written:
                return column
        labelled = [column for column in self.columns if column["label"] == written]
        if len(labelled) == 1:
            return labelled[0]
        folded = written.casefold()
        matches = [
            column
            for column in self.columns
            if folded in (column["name"].casefold(), column["label"].casefold())
        ]
        if len(matches) > 1:
            names = ", ".join(column["name"] for column in matches)
            raise InvalidRowQuery(
                f"{written!r} matches several columns ({names}); write one of those names exactly."
            )
        return matches[0] if matches else None

    def get(self, written: str, *, role: str) -> dict:
        column = self.find(written)
        if column is None:
            raise self.unknown(written, role=role)
        return column

    def unknown(self, written: str, *, role: str, hint: str = "") -> InvalidRowQuery:
        if not self.columns:
            return InvalidRowQuery(f"Unknown column {written!r}: this dataset has no rows yet.")
        names = ", ".join(column["name"] for column in self.columns)
        return InvalidRowQuery(f"Unknown column {written!r} in {role}.{hint} Columns are: {names}.")


@dataclass(frozen=True)
class _Plan:
    rows: warehouse.RowSet
    output: list[dict]  # the dataset's column dicts, in the order rows are returned
    fingerprint: str  # of filters and sort: a cursor only works with the query that made it

    @property
    def names(self) -> list[str]:
        return [column["name"] for column in self.output]


@contextlib.contextmanager
def query_time_limit() -> Iterator[None]:
    """The warehouse stopping a read at its time limit, as a 503 that says what to change."""
    try:
        yield
    except QueryTimeout as stopped:
        raise QueryTooSlow(
            f"This query ran longer than the limit of {stopped.seconds:g} seconds and was "
            "stopped. Use fewer or more selective filters, count=capped or count=none instead "
            "of count=exact, or index the columns you filter and sort on."
        ) from None


# -- pages ---------------------------------------------------------------------------------


def rows_page(*, dataset: Dataset, query: RowQuery) -> RowPage:
    """One page of rows with its count and the cursors of the pages around it.

    Page 1 is one warehouse query; the count adds one more only when filters are present and
    the page alone does not settle it.
    """
    with query_time_limit():
        return _rows_page(dataset, query)


def _rows_page(dataset: Dataset, query: RowQuery) -> RowPage:
    plan = query_plan(dataset, query)
    direction, position = _position(query, plan)
    if not dataset.columns:
        return RowPage([], [], None if query.count is CountMode.NONE else 0, False, None, None)
    page = warehouse.rows_page(
        plan.rows,
        columns=plan.names,
        limit=query.limit,
        offset=query.offset,
        after=position if direction == AFTER else None,
        before=position if direction == BEFORE else None,
    )
    next_cursor, previous_cursor = _neighbours(plan, query.offset, direction, position, page)
    count, capped = _count(dataset, plan, query, page, paged_by_offset=direction is None)
    to_json = json_row_maker(plan.output)
    return RowPage(
        columns=[_column_info(column) for column in plan.output],
        rows=[to_json(row) for row in page.rows],
        count=count,
        count_capped=capped,
        next_cursor=next_cursor,
        previous_cursor=previous_cursor,
    )


def _neighbours(
    plan: _Plan,
    offset: int,
    direction: str | None,
    position: warehouse.Keyset | None,
    page: warehouse.Page,
) -> tuple[str | None, str | None]:
    """Cursors of the next and previous pages (None where there is no such page)."""
    if direction == BEFORE:
        previous = page.first if page.more else None
        following = page.last or position  # the cursor's own row follows this page
    else:
        following = page.last if page.more else None
        if direction == AFTER:
            previous = page.first or position  # the cursor's own row precedes this page
        else:
            previous = page.first if offset > 0 else None
    return (
        _cursor(plan, AFTER, following) if following else None,
        _cursor(plan, BEFORE, previous) if previous else None,
    )


def _count(
    dataset: Dataset, plan: _Plan, query: RowQuery, page: warehouse.Page, *, paged_by_offset: bool
) -> tuple[int | None, bool]:
    if query.count is CountMode.NONE:
        return None, False
    if not plan.rows.conditions:
        return dataset.row_count, False  # kept by ingestion: no COUNT(*) for the whole table
    if paged_by_offset and not page.more and (page.rows or query.offset == 0):
        return query.offset + len(page.rows), False  # the page reached the end: it is the count
    cap = None if query.count is CountMode.EXACT else COUNT_CAP
    count = warehouse.rows_count(plan.rows, cap=cap)
    if cap is not None and count > cap:
        return cap, True
    return count, False


def _column_info(column: dict) -> dict:
    return {key: column[key] for key in ("name", "label", "type", "nullable") if key in column}


def _iso_timestamp(text: str) -> str:
    """`2020-06-01 12:30:00.50` → `2020-06-01T12:30:00.5Z` (SQLite keeps fractions as written)."""
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return text.replace(" ", "T") + "Z"


_JSON_VALUE: dict[ColumnType, Callable[[str], Any]] = {
    ColumnType.INTEGER: int,
    ColumnType.DECIMAL: str,  # exact digits as a string: JSON numbers would round them
    ColumnType.BOOLEAN: lambda text: text == "true",
    ColumnType.DATE: str,
    ColumnType.TIMESTAMP: _iso_timestamp,
    ColumnType.TEXT: str,
}


def json_row_maker(output: list[dict]) -> Callable[[tuple], dict[str, Any]]:
    converters = [(c["name"], _JSON_VALUE[ColumnType(c["type"])]) for c in output]

    def to_json(row: tuple) -> dict[str, Any]:
        return {
            name: None if value is None else convert(value)
            for (name, convert), value in zip(converters, row, strict=True)
        }

    return to_json


# -- the plan: names checked, values typed --------------------------------------------------


def query_plan(dataset: Dataset, query: RowQuery) -> _Plan:
    _check_caps(query)
    columns = DatasetColumns(dataset.columns)
    conditions = tuple(_condition(columns, written) for written in query.filters)
    order = _order(columns, query.sort)
    rows = warehouse.RowSet(dataset.table_name, _fields(dataset), conditions, order)
    return _Plan(rows, _output(columns, query.fields), _fingerprint(dataset, conditions, order))


def _check_caps(query: RowQuery) -> None:
    # Each filter and sort key adds work for every row scanned: a few hundred LIKEs on one
    # request kept a warehouse busy for minutes.
    if len(query.filters) > settings.CSVHUB_MAX_FILTERS:
        raise InvalidRowQuery(
            f"{len(query.filters)} filters given; a request takes at most "
            f"{settings.CSVHUB_MAX_FILTERS} (CSVHUB_MAX_FILTERS). Combine values with in:a,b,c."
        )
    if len(query.sort) > settings.CSVHUB_MAX_SORT_KEYS:
        raise InvalidRowQuery(
            f"sort names {len(query.sort)} columns; it takes at most "
            f"{settings.CSVHUB_MAX_SORT_KEYS} (CSVHUB_MAX_SORT_KEYS)."
        )


def _fields(dataset: Dataset) -> tuple[warehouse.Field, ...]:
    return tuple(
        warehouse.Field(
            c["name"], ColumnType(c["type"]), bool(c.get("nullable", True)), c.get("scale")
        )
        for c in dataset.columns
    )


def _output(columns: DatasetColumns, fields: tuple[str, ...] | None) -> list[dict]:
    if fields is None:
        return list(columns.columns)
    chosen: dict[str, dict] = {}
    for written in fields:
        column = columns.get(written, role="fields")
        chosen.setdefault(column["name"], column)
    return list(chosen.values())


def _order(columns: DatasetColumns, sort: tuple[SortKey, ...]) -> tuple[warehouse.Order, ...]:
    order: list[warehouse.Order] = []
    for key in sort:
        column = columns.find(key.column)
        if column is None:
            hint = (
                " Sort directions are asc and desc (sort=col:desc)." if ":" in key.written else ""
            )
            raise columns.unknown(key.column, role="sort", hint=hint)
        if any(o.column == column["name"] for o in order):
            raise InvalidRowQuery(f"sort names {column['name']!r} twice; name each column once.")
        order.append(warehouse.Order(column["name"], key.descending))
    return tuple(order)


def _condition(columns: DatasetColumns, written: Filter) -> warehouse.Condition:
    column = _filter_column(columns, written)
    name, op, raw = column["name"], written.op, written.value
    if op in NULL_TESTS:
        flag = parse_flag(raw) if raw else True
        if flag is None:
            raise InvalidRowQuery(f"{op}: on {name!r} takes no value (or true/false), not {raw!r}.")
        return warehouse.Condition(name, "isnull" if (op is Operator.ISNULL) == flag else "notnull")
    if op in (Operator.EQ, Operator.NEQ) and raw == "":
        # Empty cells are stored as NULL: `col=` asks for the empty ones.
        return warehouse.Condition(name, "isnull" if op is Operator.EQ else "notnull")
    if op in TEXT_MATCH:
        return warehouse.Condition(name, op.value, raw)
    if op in LISTS:
        items = parse_list(raw, column=name)
        return warehouse.Condition(name, op.value, tuple(_typed(column, i, written) for i in items))
    return warehouse.Condition(name, op.value, _typed(column, raw, written))


def _filter_column(columns: DatasetColumns, written: Filter) -> dict:
    column = columns.find(written.column)
    if column is not None:
        return column
    prefix, sep, suffix = written.column.rpartition("__")
    if sep and columns.find(prefix) is not None:
        raise InvalidRowQuery(
            f"Unknown operator {suffix!r} in {written.column!r}. Operators are: {OPERATORS}."
        )
    raise columns.unknown(written.column, role="filter")


def _typed(column: dict, raw: str, written: Filter) -> Any:
    try:
        return parse_value(ColumnType(column["type"]), raw, column=column["name"])
    except InvalidRowQuery:
        looks_like_operator = _OPERATOR_LIKE.match(raw)
        if written.implicit and looks_like_operator:
            raise InvalidRowQuery(
                f"Unknown operator {looks_like_operator.group(1)!r} in "
                f"{written.column}={raw}. Operators are: {OPERATORS}."
            ) from None
        raise


def _fingerprint(
    dataset: Dataset,
    conditions: tuple[warehouse.Condition, ...],
    order: tuple[warehouse.Order, ...],
) -> str:
    where = sorted(json.dumps([c.column, c.op, c.value], default=str) for c in conditions)
    spec = {
        "dataset": dataset.id.hex,
        "where": where,
        "order": [[o.column, o.descending] for o in order],
    }
    return hashlib.sha256(json.dumps(spec).encode()).hexdigest()[:16]


# -- cursors -------------------------------------------------------------------------------


def _cursor(plan: _Plan, direction: str, keyset: warehouse.Keyset) -> str:
    data = {"f": plan.fingerprint, "d": direction, "k": [*keyset.values, keyset.row_id]}
    return signing.dumps(data, salt=CURSOR_SALT, compress=True)


def _position(query: RowQuery, plan: _Plan) -> tuple[str | None, warehouse.Keyset | None]:
    """Where the page starts: (AFTER or BEFORE, keyset) for a cursor, else (None, None)."""
    if query.cursor is None:
        return None, None
    if query.offset:
        raise InvalidRowQuery(
            "cursor and offset do not mix: the cursor already says where the page starts. "
            "Drop offset (or the offset in limit=offset,count)."
        )
    data = _cursor_data(query.cursor, len(plan.rows.order))
    if data["f"] != plan.fingerprint:
        raise InvalidRowQuery(
            "This cursor belongs to a query with other filters or another sort. Keep the "
            "filters and sort of the request that returned it, or drop cursor to start again."
        )
    *values, row_id = data["k"]
    return data["d"], warehouse.Keyset(tuple(values), row_id)


def _cursor_data(raw: str, keys: int) -> dict:
    try:
        data = signing.loads(raw, salt=CURSOR_SALT)
    except (signing.BadSignature, ValueError):
        data = None
    if not _cursor_shape_ok(data, keys):
        raise InvalidRowQuery(
            "cursor is not one this API gave out (malformed, cut short or changed). Use the "
            "`next` or `previous` URL as given, or drop cursor to start at the first page."
        )
    return data


def _cursor_shape_ok(data: Any, keys: int) -> bool:
    if not isinstance(data, dict) or data.get("d") not in (AFTER, BEFORE):
        return False
    values = data.get("k")
    return (
        isinstance(data.get("f"), str)
        and isinstance(values, list)
        and len(values) == keys + 1
        and isinstance(values[-1], int)
        and all(value is None or isinstance(value, str) for value in values[:-1])
    )


# -- exports -------------------------------------------------------------------------------


class ClientGone(Exception):
    """The client watch cancelled an export: its response must break off, not end."""


class RowExport:
    """An export's bytes, made while they are read; `close()` frees the warehouse cursor."""

    def __init__(
        self,
        stream: warehouse.RowStream | warehouse.CsvStream | None,
        chunks: Iterator[bytes],
        *,
        content_type: str,
        filename: str,
        watch: ClientWatch | None = None,
        cancel: Cancel | None = None,
    ) -> None:
        self._stream = stream
        self._chunks = chunks
        self.content_type = content_type
        self.filename = filename
        self._watch = watch
        self._cancel = cancel

    def __iter__(self) -> Iterator[bytes]:
        try:
            for chunk in self._chunks:
                if self._watch is not None:
                    self._watch.response_started()
                yield chunk
        except QueryTimeout as stopped:
            if self._cancel is not None and self._cancel.requested:
                logger.info("export stopped: its client went away")
                # Never end the body as if complete: the server drops the connection.
                raise ClientGone(
                    "the export's client went away; its query was cancelled"
                ) from stopped
            raise  # the export's time limit: the response breaks off, never looks complete

    def close(self) -> None:
        try:
            if self._watch is not None:
                self._watch.stop()
        finally:
            if self._stream is not None:
                self._stream.close()


def rows_export(
    *, dataset: Dataset, query: RowQuery, environ: dict[str, Any] | None = None
) -> RowExport:
    """Every row the query's filters select, in its sort, as CSV or NDJSON (not a page).

    Pagination parameters are checked but do not limit an export. The query starts before
    this returns, so its errors come before a response does. With the request's WSGI
    `environ`, the query is cancelled if the client goes away before the export's end.
    """
    plan = query_plan(dataset, query)
    _position(query, plan)
    cancel = Cancel()
    watch = client_watch(environ or {}, cancel) if dataset.columns else None
    try:
        with query_time_limit():
            return _rows_export(dataset, query, plan, watch, cancel)
    except BaseException:
        if watch is not None:
            watch.stop()
        raise


def _rows_export(
    dataset: Dataset, query: RowQuery, plan: _Plan, watch: ClientWatch | None, cancel: Cancel
) -> RowExport:
    watched = {"watch": watch, "cancel": cancel}
    if query.format is Format.NDJSON:
        rows = (
            warehouse.RowStream(plan.rows, columns=plan.names, cancel=cancel)
            if dataset.columns
            else None
        )
        chunks = _ndjson_chunks(rows.batches() if rows else iter(()), plan.output)
        return RowExport(
            rows,
            chunks,
            content_type="application/x-ndjson",
            filename=f"{dataset.slug}.ndjson",
            **watched,
        )
    lines = (
        warehouse.CsvStream(
            plan.rows,
            columns=plan.names,
            spreadsheet_safe=query.spreadsheet_safe,
            cancel=cancel,
        )
        if dataset.columns
        else None
    )
    chunks = _csv_chunks(lines, plan.output, spreadsheet_safe=query.spreadsheet_safe)
    return RowExport(
        lines,
        chunks,
        content_type="text/csv; charset=utf-8",
        filename=f"{dataset.slug}.csv",
        **watched,
    )


def _csv_chunks(
    lines: warehouse.CsvStream | None, output: list[dict], *, spreadsheet_safe: bool
) -> Iterator[bytes]:
    # The header is the labels as uploaded: re-uploading the file gives the same column names.
    header = [column["label"] or column["name"] for column in output]
    if spreadsheet_safe:
        header = [_neutralized(cell) for cell in header]
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\n").writerow(header)
    # The header goes with the first rows: until then the response has not started, and the
    # client watch may still probe a half-closed client (see client_watch).
    pending = buffer.getvalue().encode()
    for chunk in lines.chunks() if lines is not None else ():
        yield pending + chunk
        pending = b""
    if pending:
        yield pending


def _ndjson_chunks(batches: Iterator[list[tuple]], output: list[dict]) -> Iterator[bytes]:
    to_json = json_row_maker(output)
    for batch in batches:
        lines = (json.dumps(to_json(row), ensure_ascii=False) for row in batch)
        yield "".join(f"{line}\n" for line in lines).encode()


def _neutralized(cell: str) -> str:
    """A leading quote makes spreadsheets show the cell as text instead of running it."""
    return f"'{cell}" if cell.startswith(warehouse.FORMULA_STARTS) else cell


# -- indexes -------------------------------------------------------------------------------


def index_list(*, dataset: Dataset) -> list[dict]:
    return [
        _index_info(info) for info in warehouse_indexes.index_list(table_name=dataset.table_name)
    ]


def index_create(*, dataset: Dataset, columns: list[str]) -> tuple[dict, str]:
    """Build an index on the columns, now or in the background; returns the index and what
    happened: "exists", "built" or "queued" (its status then is "queued")."""
    if not dataset.columns:
        raise DatasetError("This dataset has no rows yet; upload a file before indexing it.")
    names = _index_columns(DatasetColumns(dataset.columns), columns)
    table_name = dataset.table_name
    existing = warehouse_indexes.index_find(table_name=table_name, columns=names)
    if existing is not None and existing.status is not IndexStatus.FAILED:
        return _index_info(existing), "exists"
    if dataset.row_count > INLINE_INDEX_ROWS:
        from csvhub.datasets.rows_tasks import build_index

        build_index.enqueue(str(dataset.id), names)
        name = warehouse_indexes.index_name(table_name, names)
        return {"name": name, "columns": names, "status": "queued"}, "queued"
    info = warehouse_indexes.index_create(
        table_name=table_name, fields=_index_fields(dataset, names)
    )
    return _index_info(info), "built"


def index_build(*, dataset_id: str, columns: list[str]) -> None:
    """The background build: skipped when the dataset or a column went away meanwhile.

    The columns come from the broker, where anyone who can write sends what they like: the
    API's rules are checked again (known columns, 1 to MAX_INDEX_COLUMNS, each once).
    """
    dataset = Dataset.objects.filter(pk=dataset_id).first()
    if dataset is None:
        logger.info("index on %s not built: dataset %s was deleted", columns, dataset_id)
        return
    try:
        if not isinstance(columns, list) or not all(isinstance(name, str) for name in columns):
            raise InvalidRowQuery("An index's columns are a list of column names.")
        names = _index_columns(DatasetColumns(dataset.columns), columns)
    except InvalidRowQuery as error:
        logger.warning("index on %r not built on %s: %s", columns, dataset.slug, error)
        return
    warehouse_indexes.index_create(
        table_name=dataset.table_name, fields=_index_fields(dataset, names)
    )


def _index_columns(columns: DatasetColumns, written: list[str]) -> list[str]:
    names = [columns.get(name, role="index columns")["name"] for name in written]
    if not 1 <= len(names) <= MAX_INDEX_COLUMNS:
        raise InvalidRowQuery(f"An index has 1 to {MAX_INDEX_COLUMNS} columns.")
    if len(set(names)) != len(names):
        raise InvalidRowQuery("An index names each column once.")
    return names


def _index_fields(dataset: Dataset, names: list[str]) -> list[warehouse.Field]:
    by_name = {field.name: field for field in _fields(dataset)}
    return [by_name[name] for name in names]


def _index_info(info: IndexInfo) -> dict:
    return {"name": info.name, "columns": list(info.columns), "status": info.status.value}
