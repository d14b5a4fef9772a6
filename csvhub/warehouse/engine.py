"""One SQLAlchemy engine per warehouse URL, tuned for SQLite or PostgreSQL."""

from __future__ import annotations

import contextlib
import functools
import sqlite3
import threading
import time
from collections.abc import Iterator
from typing import Any

import sqlalchemy.exc
from django.conf import settings
from sqlalchemy import Engine, create_engine, event, func, select
from sqlalchemy.engine import Connection, make_url

from csvhub.warehouse import mysql

SQLITE_BEGIN_OPTION = "csvhub_sqlite_begin"
# SQLite calls the deadline check every this many virtual machine steps (well under 1 ms).
_SQLITE_PROGRESS_STEPS = 10_000


class QueryTimeout(Exception):
    """A read ran past its time limit, or was cancelled, and the warehouse stopped it."""

    def __init__(self, seconds: float) -> None:
        super().__init__(f"the query ran past its limit of {seconds:g} s and was stopped")
        self.seconds = seconds


class ReadDeadline:
    """A time limit on the reads of one connection, and a way to cancel them from elsewhere.

    PostgreSQL: `statement_timeout` for the connection's transaction (set_config(..., true),
    undone when the pool rolls the transaction back), and the server's cancel request. SQLite:
    a progress handler that stops the statement once the deadline has passed or the read was
    cancelled; removed by `clear()`, since the connection goes back to a pool that loads use.

    `clear()` also ends the deadline: a cancel after it (a client watch that fires late) does
    nothing, so it never stops a statement of the request the pool gives the connection to next.
    """

    def __init__(self, connection: Connection, seconds: float) -> None:
        self.seconds = seconds
        self.cancelled = False
        self._finished = False
        self._lock = threading.Lock()
        self._driver: Any = connection.connection.dbapi_connection
        self._postgres = is_postgres(connection.engine)
        self._mysql = is_mysql(connection.engine)
        self._engine = connection.engine
        if self._mysql:
            if seconds:
                with self._driver.cursor() as cursor:
                    cursor.execute(mysql.timeout_statement(self._driver, seconds))
            return
        if self._postgres:
            if seconds:
                timeout = f"{max(int(seconds * 1000), 1)}ms"
                connection.execute(select(func.set_config("statement_timeout", timeout, True)))
            return
        ends = time.monotonic() + seconds if seconds else None
        self._driver.set_progress_handler(
            lambda: self.cancelled or (ends is not None and time.monotonic() > ends),
            _SQLITE_PROGRESS_STEPS,
        )

    def cancel(self) -> None:
        """Stop the running read; safe from another thread, a no-op once cleared."""
        with self._lock:
            if self._finished:
                return
            self.cancelled = True
            if self._mysql:
                mysql.kill_query(self._engine, self._driver)
            elif self._postgres:
                self._driver.cancel_safe()
            else:
                self._driver.interrupt()

    def check(self) -> None:
        """QueryTimeout if the read was cancelled: a cancel between statements stops nothing."""
        if self.cancelled:
            raise QueryTimeout(self.seconds)

    def clear(self) -> None:
        """End the deadline before the connection goes back to the pool (idempotent)."""
        with self._lock:
            self._finished = True
            if self._mysql:
                pass  # the pool's check-in takes the time limit off (mysql.mysql_engine)
            elif not self._postgres:
                self._driver.set_progress_handler(None, _SQLITE_PROGRESS_STEPS)

    def stopped(self, error: BaseException) -> bool:
        """Whether `error` is this deadline (or a cancel) stopping a statement."""
        if isinstance(error, sqlalchemy.exc.DBAPIError):
            error = error.orig or error
        if self._mysql:
            return mysql.is_stopped(error)
        if self._postgres:
            import psycopg.errors

            return isinstance(error, psycopg.errors.QueryCanceled)
        return isinstance(error, sqlite3.OperationalError) and "interrupt" in str(error)


class Cancel:
    """A cancel that may come before the read it stops has started (or while it runs)."""

    def __init__(self) -> None:
        self.requested = False
        self._deadline: ReadDeadline | None = None

    def attach(self, deadline: ReadDeadline) -> None:
        self._deadline = deadline
        if self.requested:
            deadline.cancel()

    def __call__(self) -> None:
        self.requested = True
        if self._deadline is not None:
            self._deadline.cancel()


def read_timeout() -> float:
    return settings.CSVHUB_QUERY_TIMEOUT_SECONDS


def export_timeout() -> float:
    return settings.CSVHUB_EXPORT_TIMEOUT_SECONDS


@contextlib.contextmanager
def read_connection(engine: Engine, *, seconds: float | None = None) -> Iterator[Connection]:
    """A connection for reads that stops any statement running past `seconds` (the read
    timeout by default; 0: no limit) with QueryTimeout. Never for loads."""
    seconds = read_timeout() if seconds is None else seconds
    with engine.connect() as connection:
        deadline = ReadDeadline(connection, seconds)
        try:
            with timed(deadline):
                yield connection
        finally:
            deadline.clear()


@contextlib.contextmanager
def timed(deadline: ReadDeadline) -> Iterator[None]:
    """Driver errors that are the deadline (or a cancel) stopping the read, as QueryTimeout."""
    try:
        yield
    except Exception as error:
        if deadline.stopped(error):
            raise QueryTimeout(deadline.seconds) from error
        raise


def warehouse_url() -> str:
    return settings.CSVHUB_WAREHOUSE_URL


def get_engine() -> Engine:
    return _engine_for(warehouse_url())


def is_postgres(engine: Engine) -> bool:
    return engine.dialect.name == "postgresql"


def is_mysql(engine: Engine) -> bool:
    return engine.dialect.name == "mysql"


@functools.cache
def _engine_for(url: str) -> Engine:
    parsed = make_url(url)
    if parsed.get_backend_name() == "postgresql":
        return _postgres_engine(parsed.set(drivername="postgresql+psycopg"))
    if parsed.get_backend_name() == "sqlite":
        return _sqlite_engine(url)
    if mysql.is_mysql_url(parsed):
        return mysql.mysql_engine(parsed)
    raise ValueError(
        f"CSVHUB_WAREHOUSE_URL={url!r}: csvhub's warehouse runs on sqlite://, postgresql:// "
        "or mysql:// (mariadb://)"
    )


def _postgres_engine(url) -> Engine:
    # UTC sessions make TIMESTAMPTZ read and write as UTC whatever the server's zone is.
    return create_engine(
        url,
        pool_pre_ping=True,
        pool_size=5,
        max_overflow=10,
        connect_args={"options": "-c timezone=UTC -c datestyle=ISO,MDY"},
    )


def _sqlite_engine(url: str) -> Engine:
    from pathlib import Path

    path = make_url(url).database
    if path and path != ":memory:":
        Path(path).parent.mkdir(parents=True, exist_ok=True)
    engine = create_engine(url, connect_args={"timeout": 60, "check_same_thread": False})

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection, _record) -> None:
        # Take transactions into our own hands (pysqlite's implicit BEGIN defers locking), and
        # use WAL so readers keep reading while an upload loads.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA busy_timeout=60000")
        cursor.close()

    @event.listens_for(engine, "checkin")
    def _on_checkin(dbapi_connection, _record) -> None:
        # Whatever path a read took, the connection a load gets next has no read deadline.
        if dbapi_connection is not None:
            dbapi_connection.set_progress_handler(None, _SQLITE_PROGRESS_STEPS)

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Connection) -> None:
        # Loads ask for BEGIN IMMEDIATE: it takes the write lock up front, which serializes
        # concurrent uploads instead of failing one of them at its first write.
        connection.exec_driver_sql(
            connection.get_execution_options().get(SQLITE_BEGIN_OPTION, "BEGIN")
        )

    return engine
