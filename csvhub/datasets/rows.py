"""Rows of a dataset: pages, counts and exports, for a parsed RowQuery.

The query is planned by the selection seam (csvhub.selection: column names matched, values
typed) and run by warehouse.query; here cursors are signed and checked, and rows are shaped for
JSON, CSV and NDJSON. The API and the web pages both call here.
"""

from __future__ import annotations

import csv
import io
import json
import logging
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, TypeGuard

from django.core import signing

from csvhub.datasets.client_watch import ClientWatch, client_watch
from csvhub.datasets.models import Dataset
from csvhub.datasets.rowquery import InvalidRowQuery, RowQuery
from csvhub.grammar.rows import COUNT_CAP, CountMode, Format
from csvhub.metrics import observe_query, observe_stream
from csvhub.schema import Column
from csvhub.selection.plan import Plan, query_plan, query_time_limit
from csvhub.selection.shape import column_json, json_row_maker
from csvhub.warehouse import query as warehouse_query
from csvhub.warehouse.engine import Cancel, QueryTimeout

logger = logging.getLogger(__name__)

CURSOR_SALT = "csvhub.datasets.rows.cursor"
AFTER, BEFORE = "a", "b"


@dataclass(frozen=True)
class RowPage:
    columns: list[dict[str, Any]]
    rows: list[dict[str, Any]]
    count: int | None
    count_capped: bool
    next_cursor: str | None
    previous_cursor: str | None


# -- pages ---------------------------------------------------------------------------------


def rows_page(*, dataset: Dataset, query: RowQuery) -> RowPage:
    """One page of rows with its count and the cursors of the pages around it.

    Page 1 is one warehouse query; the count adds one more only when filters are present and
    the page alone does not settle it.
    """
    with query_time_limit(), observe_query("page"):
        return _rows_page(dataset, query)


def _rows_page(dataset: Dataset, query: RowQuery) -> RowPage:
    plan = query_plan(dataset, query)
    direction, position = _position(query, plan)
    if not dataset.schema:
        return RowPage([], [], None if query.count is CountMode.NONE else 0, False, None, None)
    page = warehouse_query.rows_page(
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
        columns=[column_json(column) for column in plan.output],
        rows=[to_json(row) for row in page.rows],
        count=count,
        count_capped=capped,
        next_cursor=next_cursor,
        previous_cursor=previous_cursor,
    )


def _neighbours(
    plan: Plan,
    offset: int,
    direction: str | None,
    position: warehouse_query.Keyset | None,
    page: warehouse_query.Page,
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
    dataset: Dataset,
    plan: Plan,
    query: RowQuery,
    page: warehouse_query.Page,
    *,
    paged_by_offset: bool,
) -> tuple[int | None, bool]:
    if query.count is CountMode.NONE:
        return None, False
    if not plan.rows.conditions and plan.rows.search is None:
        return dataset.row_count, False  # kept by ingestion: no COUNT(*) for the whole table
    if paged_by_offset and not page.more and (page.rows or query.offset == 0):
        return query.offset + len(page.rows), False  # the page reached the end: it is the count
    cap = None if query.count is CountMode.EXACT else COUNT_CAP
    with observe_query("count"):
        count = warehouse_query.rows_count(plan.rows, cap=cap)
    if cap is not None and count > cap:
        return cap, True
    return count, False


# -- cursors -------------------------------------------------------------------------------


def _cursor(plan: Plan, direction: str, keyset: warehouse_query.Keyset) -> str:
    data = {"f": plan.fingerprint, "d": direction, "k": [*keyset.values, keyset.row_id]}
    return signing.dumps(data, salt=CURSOR_SALT, compress=True)


def _position(query: RowQuery, plan: Plan) -> tuple[str | None, warehouse_query.Keyset | None]:
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
    return data["d"], warehouse_query.Keyset(tuple(values), row_id)


def _cursor_data(raw: str, keys: int) -> dict[str, Any]:
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


def _cursor_shape_ok(data: Any, keys: int) -> TypeGuard[dict[str, Any]]:
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
        stream: warehouse_query.RowStream | warehouse_query.CsvStream | None,
        chunks: Iterator[bytes],
        *,
        content_type: str,
        filename: str,
        watch: ClientWatch | None = None,
        cancel: Cancel | None = None,
    ) -> None:
        self._stream = stream
        self._chunks = observe_stream("export", chunks)
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
    watch = client_watch(environ or {}, cancel) if dataset.schema else None
    try:
        with query_time_limit():
            return _rows_export(dataset, query, plan, watch, cancel)
    except BaseException:
        if watch is not None:
            watch.stop()
        raise


def _rows_export(
    dataset: Dataset, query: RowQuery, plan: Plan, watch: ClientWatch | None, cancel: Cancel
) -> RowExport:
    if query.format is Format.NDJSON:
        rows = (
            warehouse_query.RowStream(plan.rows, columns=plan.names, cancel=cancel)
            if dataset.schema
            else None
        )
        chunks = _ndjson_chunks(rows.batches() if rows else iter(()), plan.output)
        return RowExport(
            rows,
            chunks,
            content_type="application/x-ndjson",
            filename=f"{dataset.slug}.ndjson",
            watch=watch,
            cancel=cancel,
        )
    lines = (
        warehouse_query.CsvStream(
            plan.rows,
            columns=plan.names,
            spreadsheet_safe=query.spreadsheet_safe,
            cancel=cancel,
        )
        if dataset.schema
        else None
    )
    chunks = _csv_chunks(lines, plan.output, spreadsheet_safe=query.spreadsheet_safe)
    return RowExport(
        lines,
        chunks,
        content_type="text/csv; charset=utf-8",
        filename=f"{dataset.slug}.csv",
        watch=watch,
        cancel=cancel,
    )


def _csv_chunks(
    lines: warehouse_query.CsvStream | None, output: list[Column], *, spreadsheet_safe: bool
) -> Iterator[bytes]:
    # The header is the labels as uploaded: re-uploading the file gives the same column names.
    header = [column.heading for column in output]
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


def _ndjson_chunks(
    batches: Iterator[list[tuple[Any, ...]]], output: list[Column]
) -> Iterator[bytes]:
    to_json = json_row_maker(output)
    for batch in batches:
        lines = (json.dumps(to_json(row), ensure_ascii=False) for row in batch)
        yield "".join(f"{line}\n" for line in lines).encode()


def _neutralized(cell: str) -> str:
    """A leading quote makes spreadsheets show the cell as text instead of running it."""
    return f"'{cell}" if cell.startswith(warehouse_query.FORMULA_STARTS) else cell
