"""DuckDB, the embedded columnar warehouse: one file, one process, analysis in milliseconds.

Reached through duckdb-engine (SQLAlchemy's PostgreSQL compiler over DuckDB's Python API).
Types are DuckDB's own: BIGINT, DECIMAL(19, scale) (exact; as on the other engines, the digits
at the scale fit a signed 64-bit integer), BOOLEAN, DATE, TIMESTAMPTZ (every session is UTC),
VARCHAR, which compares byte by byte: UTF-8 byte order is code point order, SQLite's BINARY and
PostgreSQL's "C" order.

What DuckDB cannot do (docs/decisions.md, "Which warehouse engine"): a database file is opened
read-write by one process at a time, so csvhub runs with its jobs on threads in the web process
(CSVHUB_TASK_RUNNER=thread) and one gunicorn worker; `check_processes` refuses anything else
at startup. Inside that process, writes take one lock (as SQLite's one writer at a time):
loads, drops and index builds run one after the other, reads never wait (MVCC).

Nothing is downloaded at run time: DuckDB fetches extensions from the internet on first use
unless told not to, so every connection has autoinstall and autoload off and community
extensions refused; the wheel's built-in extensions (icu for TIMESTAMPTZ, parquet, json) are
all csvhub uses.
"""

from __future__ import annotations

import heapq
import itertools
import logging
import os
import threading
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from sqlalchemy import (
    BigInteger,
    Column,
    Date,
    DateTime,
    Engine,
    Index,
    Numeric,
    Select,
    Table,
    Text,
    cast,
    create_engine,
    event,
    func,
    select,
    types,
)
from sqlalchemy.dialects import registry
from sqlalchemy.engine import URL, Connection
from sqlalchemy.schema import CreateIndex
from sqlalchemy.sql.elements import ColumnElement
from sqlalchemy.sql.util import ClauseAdapter

from csvhub.grammar.rows import MAX_LIMIT
from csvhub.schema import ColumnType
from csvhub.warehouse.dialects.base import (
    DECIMAL_PRECISION,
    BucketSteps,
    Loader,
    WarehouseDialect,
)
from csvhub.warehouse.schema import ROW_ID

# The settings every connection is opened with: no extension is ever fetched or loaded from
# outside the wheel (tests/warehouse/test_warehouse_duckdb.py reads them back).
OFFLINE_CONFIG: dict[str, bool] = {
    "autoinstall_known_extensions": False,
    "autoload_known_extensions": False,
    "allow_community_extensions": False,
}
# The largest LIMIT whose top-N materializes the other columns last: a page and its extra row.
LATE_MATERIALIZATION_ROWS = MAX_LIMIT + 1
# A write waits this long for the one before it (a load of millions of rows takes minutes).
LOCK_WAIT_SECONDS = 3600
# Past its deadline, a read's statement is interrupted again this often (see _Watchdog).
INTERRUPT_REPEAT_SECONDS = 0.05
# The deadline thread wakes at most this often for deadlines that come due (a cancel wakes it
# at once): a deadline is late by up to this much.
_WAKE_GRANULE_SECONDS = 0.01
_HELD = "csvhub_duckdb_write_lock"
_WRITES = "csvhub_duckdb_writes"

logger = logging.getLogger(__name__)

# duckdb-engine's dialect with what csvhub needs on top (index reflection, statement caching).
registry.register("duckdb.csvhub", "csvhub.warehouse.dialects.duckdb_sqlalchemy", "CsvhubDuckDB")


class DuckDBDialect(WarehouseDialect):
    name = "duckdb"
    single_process = True
    # A deep cursor page: `(client_id, _row_id) > (k, r)` is evaluated row by row after the
    # scan; `client_id >= k` beside it is a scan filter (1M rows, the page after row 900,000
    # of `client_id >= 500` by client_id: 91-142 -> 56-109 ms of SQL at load 8).
    keyset_leading_range = True
    # Page 1 of 1M rows in row-id order: the top-N (even pruned to one row group by its
    # dynamic filter, its late materialization joins the chosen rows back) 5.5 ms of SQL, the
    # range of the next 101 row ids 2.5 ms (bench/request_cpu.py's table, DuckDB 2.0). One
    # page wide, read without a LIMIT: four pages wide, the LIMIT it then needs brings the
    # top-N back (6.0 ms of SQL against 2.8, the same run). The cost: where deletions left
    # gaps in a window, the rest is read by the top-N (5 % of the rows deleted here and
    # there: 12-13 ms a page against 7.8-8.9 ms without windows).
    row_id_window = 1

    # -- connections -----------------------------------------------------------------------

    def create_engine(self, url: URL) -> Engine:
        path = url.database
        if path and path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(
            url.set(drivername="duckdb+csvhub"),
            connect_args={"config": dict(OFFLINE_CONFIG)},
            pool_size=5,
            max_overflow=10,
        )
        event.listen(engine, "connect", _on_connect)
        event.listen(engine, "begin", _on_begin)
        event.listen(engine, "checkin", _on_checkin)
        return engine

    def for_writes(self, connection: Connection) -> Connection:
        # One writer at a time in the process, as SQLite's BEGIN IMMEDIATE: DuckDB refuses
        # conflicting catalog changes of concurrent transactions, and a load numbers its row
        # ids from the table's largest, which its snapshot must show. So the lock is taken
        # before the transaction begins (see _on_begin), and held until the connection goes
        # back to the pool, after its commit or rollback.
        return connection.execution_options(**{_WRITES: True})

    # -- read deadlines --------------------------------------------------------------------

    def start_deadline(
        self, connection: Connection, seconds: float, stop: Callable[[], bool]
    ) -> None:
        # DuckDB has no statement timeout: a thread interrupts the connection once it is due.
        if seconds:
            _WATCHDOG.start(connection.connection.dbapi_connection, seconds)

    def cancel_statement(self, driver: Any) -> None:
        _WATCHDOG.interrupt_now(driver)

    def end_deadline(self, driver: Any) -> None:
        _WATCHDOG.end(driver)

    def is_stopped(self, error: BaseException) -> bool:
        import duckdb

        return isinstance(error, duckdb.InterruptException)

    # -- SQL types -------------------------------------------------------------------------

    def decimal_type(self, scale: int | None) -> types.TypeEngine[Any]:
        # No table of csvhub on DuckDB predates exact decimals; an unknown scale keeps 18.
        return Numeric(DECIMAL_PRECISION, 18 if scale is None else scale)

    def query_type(
        self, column_type: ColumnType, scale: int | None = None
    ) -> types.TypeEngine[Any]:
        # Bound as given (unrounded): `eq:7.251` must not match a stored 7.25.
        if column_type is ColumnType.DECIMAL:
            return Numeric()
        return super().query_type(column_type, scale)

    def row_id_column(self, *, primary_key: bool = True) -> Column[Any]:
        # No key: DuckDB's keys are ART indexes, which slow every append and block ALTER
        # TABLE. Row ids are numbered by the loader (loads are serialized) and ascend in
        # storage order, so a range on them skips row groups by their min/max.
        return Column(ROW_ID, BigInteger, nullable=False)

    # -- values in queries -----------------------------------------------------------------

    def canonical_text(
        self, column: ColumnElement[Any], column_type: ColumnType, scale: int | None = None
    ) -> ColumnElement[Any]:
        if column_type is ColumnType.TEXT:
            return column
        if column_type is ColumnType.TIMESTAMP:
            # As a UTC wall-clock TIMESTAMP, DuckDB writes the fraction without trailing zeros.
            column = cast(column, DateTime())
        # BOOLEAN gives true/false, DATE YYYY-MM-DD, DECIMAL its digits at the column's scale.
        return cast(column, Text)

    def page_select(
        self,
        table: Table,
        columns: Sequence[ColumnElement[Any]],
        where: Sequence[ColumnElement[Any]],
        order: Sequence[ColumnElement[Any]],
        *,
        limit: int,
        offset: int = 0,
        bounded: bool = False,
    ) -> Select[*tuple[Any, ...]]:
        # DuckDB computes the SELECT list before its top-N: the canonical text of every
        # matching row (141 ms for page 1 of 1M rows, 4.5 ms when the rows are chosen first).
        # So the page's rows are chosen on the stored columns, and only they are formatted.
        # A window of row ids (bounded) is one range of at most a page: sorted below, with
        # no top-N and no LIMIT.
        chosen = select(table).where(*where)
        if not bounded:
            chosen = chosen.order_by(*order).limit(limit)
        page = (chosen.offset(offset) if offset else chosen).subquery("page")
        adapter = ClauseAdapter(page)
        return select(*(adapter.traverse(column) for column in columns)).order_by(
            *(adapter.traverse(clause) for clause in order)
        )

    # -- analysis --------------------------------------------------------------------------

    def bucket_start(
        self, column: ColumnElement[Any], column_type: ColumnType, bucket: str
    ) -> ColumnElement[Any]:
        # date_trunc in the session's zone (UTC): weeks start on Monday, months on the 1st.
        # The UTC wall-clock time of a TIMESTAMPTZ from its microseconds since the epoch: DuckDB's
        # date_trunc on a TIMESTAMPTZ goes through ICU's calendar for every value (3.5x slower).
        return func.date_trunc(bucket, _wall_clock(column, column_type), type_=DateTime())

    def bucket_steps(
        self, column: ColumnElement[Any], column_type: ColumnType, bucket: str
    ) -> BucketSteps | None:
        # date_trunc costs far more a row than a day does (a TIMESTAMP cast to DATE): days,
        # weeks and months are cut from the days that hold rows, once per day (10M rows, a
        # monthly series: 1,000-1,400 -> 520-600 ms of SQL on the loaded 2-CPU machine).
        if bucket in _SHORTER_THAN_A_DAY:
            return None
        day = (
            column
            if column_type is ColumnType.DATE
            else cast(_wall_clock(column, column_type), Date())
        )
        return BucketSteps(day, lambda day: self.bucket_start(day, ColumnType.DATE, bucket))

    def table_bytes(self, connection: Connection, table_name: str) -> int | None:
        # An estimate: the storage blocks holding the table's checkpointed segments (small
        # tables share blocks), plus 8 bytes a value for rows still only in the WAL.
        found = connection.exec_driver_sql(
            "SELECT COUNT(DISTINCT block_id) FILTER (WHERE block_id >= 0)"
            " * (SELECT block_size FROM pragma_database_size())"
            " + COALESCE(SUM(count) FILTER (WHERE NOT persistent"
            " AND segment_type <> 'VALIDITY'), 0) * 8"
            " FROM pragma_storage_info(?)",
            (table_name,),
        ).scalar()
        return int(found or 0)

    # -- DDL and exports -------------------------------------------------------------------

    def widen_for_writes(
        self, connection: Connection, table_name: str, columns: Sequence[str]
    ) -> None:
        # Narrow DECIMAL(18, s) columns (duckdb_load) take any csvhub decimal before an edit.
        from csvhub.warehouse.dialects.duckdb_load import DuckDBLoader

        DuckDBLoader(self, connection, table_name).widen(columns)

    def create_index(self, engine: Engine, index: Index, current: str | None) -> None:
        # An ART index, built inside the write lock (DuckDB builds it in one statement).
        with engine.connect() as connection:
            _take_write_lock(connection)
            with connection.begin():
                connection.execute(CreateIndex(index, if_not_exists=True))

    def streaming_cursor(
        self, connection: Connection, statement: Select[*tuple[Any, ...]], batch_rows: int
    ) -> Any:
        # DuckDB's result streams: fetchmany pulls chunks as they are asked for.
        compiled = statement.compile(
            dialect=connection.dialect, compile_kwargs={"render_postcompile": True}
        )
        params = compiled.construct_params()
        driver = connection.connection.dbapi_connection
        assert driver is not None
        # A result left unread (an export its client left) holds DuckDB's transaction open,
        # which blocks every checkpoint: the pool must roll it back when it takes it back.
        from csvhub.warehouse.dialects.duckdb_sqlalchemy import expect_rollback

        expect_rollback(connection.connection)
        cursor = driver.cursor()
        names = compiled.positiontup or ()
        cursor.execute(compiled.string, [params[name] for name in names] if names else None)
        return cursor

    def loader(self, connection: Connection, table_name: str) -> Loader:
        from csvhub.warehouse.dialects.duckdb_load import DuckDBLoader

        return DuckDBLoader(self, connection, table_name)


# Buckets cut from each row's time (the others from its day: bucket_steps).
_SHORTER_THAN_A_DAY = frozenset({"minute", "hour"})


def _wall_clock(column: ColumnElement[Any], column_type: ColumnType) -> ColumnElement[Any]:
    """A DATE or TIMESTAMPTZ as a UTC wall-clock TIMESTAMP."""
    if column_type is ColumnType.DATE:
        return cast(column, DateTime())
    return func.make_timestamp(func.epoch_us(column), type_=DateTime())


class _Deadline:
    """One read's deadline on one DuckDB connection; `driver` is None once the read ended."""

    __slots__ = ("driver", "due")

    def __init__(self, driver: Any) -> None:
        self.driver: Any = driver
        self.due = float("inf")  # its one entry in the heap that counts (later ones are stale)


class _Watchdog:
    """Interrupts a connection's statements from the moment its read's deadline is due until
    the read ends: one thread for all of a process's reads.

    DuckDB clears a connection's interrupt when a statement starts, so a single interrupt
    that lands before the statement runs (while the request still builds or binds it, or
    between two statements) is lost, and the statement runs to its end: a facet count
    under load ran 25 s past its 0.2 s limit. Repeating the interrupt stops whatever runs
    after the deadline. One thread serves every read (a heap of due times) because a thread
    started per read cost each DuckDB page its start, two events and a lock (see
    docs/performance.md). A read that ends leaves its entry in the heap, dropped when it
    comes due; the interrupt runs under the lock `end` takes, so none lands after `end`.
    """

    def __init__(self) -> None:
        self._changed = threading.Condition()
        self._due: list[tuple[float, int, _Deadline]] = []
        self._order = itertools.count()  # ties in the heap: never compare two deadlines
        self._reads: dict[int, _Deadline] = {}  # by id() of the connection it limits
        self._running = False

    def start(self, driver: Any, seconds: float | None) -> None:
        """The connection's read from now on (`seconds` None: only a cancel interrupts it);
        the read it had before, if any, is ended."""
        with self._changed:
            self._end(driver)
            deadline = self._reads[id(driver)] = _Deadline(driver)
            if seconds is not None:
                self._schedule(deadline, time.monotonic() + seconds)

    def interrupt_now(self, driver: Any) -> None:
        with self._changed:
            deadline = self._reads.get(id(driver))
            if deadline is None:  # a read without a time limit, cancelled
                deadline = self._reads[id(driver)] = _Deadline(driver)
            self._schedule(deadline, time.monotonic())

    def end(self, driver: Any) -> None:
        """No interrupt after this returns: the pool may hand the connection on."""
        with self._changed:
            self._end(driver)

    def _end(self, driver: Any) -> None:
        deadline = self._reads.pop(id(driver), None)
        if deadline is not None:
            deadline.driver = None

    def _schedule(self, deadline: _Deadline, due: float) -> None:
        if due >= deadline.due:
            return  # already due sooner (a client watch cancels again every half second)
        deadline.due = due
        heapq.heappush(self._due, (due, next(self._order), deadline))
        if not self._running:
            threading.Thread(target=self._run, name="csvhub-duckdb-deadlines", daemon=True).start()
            self._running = True
        elif self._due[0][2] is deadline:
            self._changed.notify()  # due before the one the thread waits for

    def _run(self) -> None:
        with self._changed:
            try:
                self._serve()
            finally:  # never expected; the next deadline then starts a new thread
                self._running = False

    def _serve(self) -> None:
        while True:
            now = time.monotonic()
            while self._due and self._due[0][0] <= now:
                due, _, deadline = heapq.heappop(self._due)
                if due == deadline.due:
                    self._interrupt(deadline, now)
            # At most one wake-up per granule: the reads that ended leave their entries.
            wait = max(self._due[0][0] - now, _WAKE_GRANULE_SECONDS) if self._due else None
            self._changed.wait(wait)

    def _interrupt(self, deadline: _Deadline, now: float) -> None:
        import duckdb

        if deadline.driver is None:
            return  # the read ended before its deadline
        try:
            deadline.driver.interrupt()  # the ConnectionWrapper hands it to DuckDB's
        except duckdb.Error:
            deadline.driver = None  # the connection was closed (invalidated): nothing to stop
            return
        except Exception:  # this read loses its deadline; the thread keeps the others'
            logger.exception("interrupting a DuckDB read past its deadline failed")
            deadline.driver = None
            return
        deadline.due = now + INTERRUPT_REPEAT_SECONDS
        heapq.heappush(self._due, (deadline.due, next(self._order), deadline))


_WATCHDOG = _Watchdog()


def _watchdog_after_fork() -> None:
    # A forked worker has none of its parent's threads (nor its reads): it starts its own.
    global _WATCHDOG
    _WATCHDOG = _Watchdog()


os.register_at_fork(after_in_child=_watchdog_after_fork)


# One write lock per database file (the process's engines of one file share its writes).
_WRITE_LOCKS: dict[str, threading.Lock] = {}
_WRITE_LOCKS_LOCK = threading.Lock()


def _write_lock(database: str | None) -> threading.Lock:
    key = str(Path(database).resolve()) if database and database != ":memory:" else ":memory:"
    with _WRITE_LOCKS_LOCK:
        return _WRITE_LOCKS.setdefault(key, threading.Lock())


def _take_write_lock(connection: Connection) -> None:
    info = connection.connection.info
    if info.get(_HELD) is not None:
        return  # this connection holds it already (released at its check-in)
    lock = _write_lock(connection.engine.url.database)
    if not lock.acquire(timeout=LOCK_WAIT_SECONDS):
        raise TimeoutError("another write to the DuckDB warehouse held its lock too long")
    info[_HELD] = lock


def _on_begin(connection: Connection) -> None:
    if connection.get_execution_options().get(_WRITES):
        _take_write_lock(connection)


def _on_connect(dbapi_connection: Any, _record: Any) -> None:
    # UTC sessions: TIMESTAMPTZ reads and writes as UTC, date_trunc cuts UTC days and weeks.
    dbapi_connection.execute("SET TimeZone = 'UTC'")
    # A sorted page's top-N keeps only the sort keys and row addresses, and fetches the other
    # columns of the page's rows afterwards ("late materialization"): DuckDB does it for a
    # LIMIT of at most 50 rows by default, and a page asks for up to MAX_LIMIT + 1 (page 1 of
    # 1M rows: 18 -> 8.5 ms; a filtered page sorted by an indexed column: 154 -> 45 ms).
    dbapi_connection.execute(f"SET late_materialization_max_rows = {LATE_MATERIALIZATION_ROWS}")


def _on_checkin(dbapi_connection: Any, record: Any) -> None:
    lock = record.info.pop(_HELD, None)
    if lock is not None:
        lock.release()
    if dbapi_connection is not None:
        DuckDBDialect().end_deadline(dbapi_connection)
