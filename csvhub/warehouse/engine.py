"""One SQLAlchemy engine per warehouse URL, made by its dialect; read deadlines."""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator
from typing import Any

import sqlalchemy.exc
from django.conf import settings
from sqlalchemy import Engine, select
from sqlalchemy.engine import Connection, make_url

from csvhub.warehouse.dialects import WarehouseDialect, dialect_for_url, dialect_of
from csvhub.warehouse.dialects.base import read_checkout


class QueryTimeout(Exception):
    """A read ran past its time limit, or was cancelled, and the warehouse stopped it."""

    def __init__(self, seconds: float) -> None:
        super().__init__(f"the query ran past its limit of {seconds:g} s and was stopped")
        self.seconds = seconds


class ReadDeadline:
    """A time limit on the reads of one connection, and a way to cancel them from elsewhere.

    How the engine stops a statement is its dialect's (start_deadline, cancel_statement): a
    server-side statement timeout and cancel request, or a progress handler in the driver.
    `clear()` ends the deadline: a cancel after it (a client watch that fires late) does
    nothing, so it never stops a statement of the request the pool gives the connection to next.
    """

    def __init__(self, connection: Connection, seconds: float) -> None:
        self.seconds = seconds
        self.cancelled = False
        self._finished = False
        self._lock = threading.Lock()
        self._driver: Any = connection.connection.dbapi_connection
        self._dialect = dialect_of(connection.engine)
        self._dialect.start_deadline(connection, seconds, lambda: self.cancelled)

    def cancel(self) -> None:
        """Stop the running read; safe from another thread, a no-op once cleared."""
        with self._lock:
            if self._finished:
                return
            self.cancelled = True
            self._dialect.cancel_statement(self._driver)

    def check(self) -> None:
        """QueryTimeout if the read was cancelled: a cancel between statements stops nothing."""
        if self.cancelled:
            raise QueryTimeout(self.seconds)

    def clear(self) -> None:
        """End the deadline before the connection goes back to the pool (idempotent)."""
        with self._lock:
            self._finished = True
            self._dialect.end_deadline(self._driver)

    def stopped(self, error: BaseException) -> bool:
        """Whether `error` is this deadline (or a cancel) stopping a statement."""
        if isinstance(error, sqlalchemy.exc.DBAPIError):
            error = error.orig or error
        return self._dialect.is_stopped(error)


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
    with read_checkout():
        connection = engine.connect()
    with connection:
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
    return engine_for_url(warehouse_url())


def warehouse_ping() -> None:
    """One round trip to the warehouse (the readiness check); raises what the driver raises."""
    with get_engine().connect() as connection:
        connection.execute(select(1))


def get_dialect() -> WarehouseDialect:
    """The dialect of the configured warehouse (chosen once, with its engine)."""
    return dialect_of(get_engine())


_engines: dict[str, Engine] = {}
_engines_lock = threading.Lock()


def engine_for_url(url: str) -> Engine:
    """The process's one engine (and connection pool) for `url`, made on first use."""
    engine = _engines.get(url)
    if engine is None:
        with _engines_lock:
            engine = _engines.get(url)
            if engine is None:
                engine = _engines[url] = dialect_for_url(url).create_engine(make_url(url))
    return engine


def engine_discard(url: str) -> None:
    """Close the pooled connections of `url`'s engine and forget it.

    A server uses one warehouse for its life; a process that moves between many (the test
    suite: a SQLite file per test) must discard each, or every pool keeps its connections, and
    their file descriptors, open until the process ends.
    """
    with _engines_lock:
        engine = _engines.pop(url, None)
    if engine is not None:
        engine.dispose()


def engines_dispose() -> None:
    """Close every engine of this process, before it forks workers (`csvhub serve`): a pooled
    connection that two processes inherit would mix their statements on one socket or file."""
    for url in list(_engines):
        engine_discard(url)
